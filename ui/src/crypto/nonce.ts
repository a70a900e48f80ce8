// Key ids, counters and nonces: what makes a (key, nonce) pair never repeat.
//
// A sending *session* is one FrameEncryptor: made fresh at every join, resume, reconnect, stream
// reset and room-key rotation, never restored from anywhere. It draws a random 32-bit session
// number, and its KID is
//
//   KID = key epoch (8 bits) · 2^32 + session (32 bits)          → at most 5 bytes on the wire
//
// Its key and salt are derived from (room key, sender id, KID), its CTR starts at 0 and goes up
// by one per frame, and the nonce is salt XOR CTR (RFC 9605 §4.4.3). So within a session nonces
// are distinct because CTR is; across sessions the keys differ because the KIDs do.
//
// Why random per session instead of counters persisted per key: nothing the browser stores
// survives every path (a second tab, private mode, a crash before the write, a restored
// snapshot), and a counter that goes back once reuses nonces. A fresh random KID needs no
// storage. Within one page, every KID handed out for a (room key, sender) is remembered and never
// handed out again, so reconnects and stream resets in the same page cannot collide at all.
// Across page loads the chance two sessions of the *same sender* under the *same room key* draw the
// same 32-bit number is about n²/2^33 for n sessions (n = 100 → 1.2·10^-6); different senders
// derive different keys, so their draws do not matter. A key rotation (kick, ban) starts a new
// epoch and so a fresh key space.
//
// Why CTR stops at 2^16 − 1: the budget is 16 bytes per frame (config 1 + KID ≤ 5 + CTR ≤ 2 +
// tag 8). At 50 frames/s a session lasts 21.8 minutes of sending; the encryptor then moves to a
// new session (new random KID, CTR 0) by itself.

import { bigEndian, type Bytes } from './bytes';
import { NN } from './kdf';

export const SESSION_BITS = 32;
export const MAX_CTR = 0xffff;

export function makeKid(epoch: number, session: number): bigint {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xff) throw new RangeError(`key epoch must be 0..=255, got ${epoch}`);
  if (!Number.isInteger(session) || session < 0 || session > 0xffffffff) throw new RangeError(`session must be a u32, got ${session}`);
  return (BigInt(epoch) << 32n) | BigInt(session);
}

export function kidEpoch(kid: bigint): number {
  return Number((kid >> 32n) & 0xffn);
}

export function kidSession(kid: bigint): number {
  return Number(kid & 0xffffffffn);
}

/** nonce = salt XOR CTR, CTR as an Nn-byte big-endian integer (RFC 9605 §4.4.3). */
export function makeNonce(salt: Uint8Array, ctr: bigint): Bytes {
  const c = bigEndian(ctr, NN);
  const out = new Uint8Array(NN);
  for (let i = 0; i < NN; i++) out[i] = salt[i] ^ c[i];
  return out;
}

export function randomSession(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * Every KID this page has used to encrypt, per (room secret, epoch, sender). Kept for the page's
 * life so no two sessions of this page ever share a KID, whatever the random source says.
 */
const issued = new Map<string, Set<bigint>>();

export function claimKid(scope: string, kid: bigint): boolean {
  let set = issued.get(scope);
  if (!set) issued.set(scope, (set = new Set()));
  if (set.has(kid)) return false;
  set.add(kid);
  return true;
}
