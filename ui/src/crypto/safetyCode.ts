// The safety code: a short number people compare out of band (by voice, or another channel) to
// learn that nobody sits between them. Each page derives it from what it believes:
//
//   digest = SHA-256( "voice-chat e2ee v1 safety code" ‖ epoch (1 byte)
//                     ‖ HKDF(room secret, "voice-chat e2ee v1 safety", 32)          (kdf.ts)
//                     ‖ for each member, sorted by participant id (UTF-16 code units):
//                         u16 len ‖ utf8(participant id) ‖ u16 len ‖ utf8(public key text) )
//   code   = the first 16 bytes as a big-endian integer mod 10^20, as 4 groups of 5 digits
//
// Same room key and same (id, public key) list → same code on every page. If a node hands one
// page another public key for someone (to read the key that page wraps for it), or two pages hold
// different keys, the codes differ. The secret goes in only through its own HKDF label, so the
// code (about 66 bits, shown on screen) says nothing usable about the key.

import { bigEndian, concat, readBigEndian, utf8, type Bytes } from './bytes';
import { deriveSafetyKey, subtle } from './kdf';
import type { RoomKey } from './roomKey';

const LABEL = 'voice-chat e2ee v1 safety code';
export const SAFETY_GROUPS = 4;
export const SAFETY_GROUP_DIGITS = 5;

export interface SafetyMember {
  participant: string;
  publicKey: string;
}

function field(text: string): Bytes {
  const b = utf8(text);
  return concat(bigEndian(BigInt(b.length), 2), b);
}

/** "12345 67890 13579 24680" for this key and these members (order does not matter). */
export async function safetyCode(key: RoomKey, members: readonly SafetyMember[]): Promise<string> {
  const sorted = [...members].sort((a, b) => (a.participant < b.participant ? -1 : a.participant > b.participant ? 1 : 0));
  const input = concat(
    utf8(LABEL),
    new Uint8Array([key.epoch]),
    await deriveSafetyKey(key.secret),
    ...sorted.flatMap((m) => [field(m.participant), field(m.publicKey)]),
  );
  const digest = new Uint8Array(await subtle().digest('SHA-256', input));
  const digits = SAFETY_GROUPS * SAFETY_GROUP_DIGITS;
  const n = readBigEndian(digest.subarray(0, 16)) % 10n ** BigInt(digits);
  const text = n.toString().padStart(digits, '0');
  const groups: string[] = [];
  for (let i = 0; i < digits; i += SAFETY_GROUP_DIGITS) groups.push(text.slice(i, i + SAFETY_GROUP_DIGITS));
  return groups.join(' ');
}
