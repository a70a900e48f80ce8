// The proof a member announces with its public key (`e2ee_hello`): that it holds the room key of
// an epoch, without showing the key. The node stores and relays it; other members check it.
//
//   proof = "<epoch>." ‖ base64url( first 16 bytes of HMAC-SHA256(
//             HKDF(room secret of that epoch, "voice-chat e2ee v1 proof", 32),     (kdf.ts)
//             utf8(room id + "\n" + participant id + "\n" + public key text)) )
//
// The room id, participant id and public key are in the MAC, so a proof cannot be moved to
// another room, member or key by the node (nor by a member who does not hold that epoch's key).
// The epoch is in clear so a checker knows which key to check it under; the Host shares the
// current key only with members whose proof is under the current epoch (see room/e2ee.ts).
// 16 bytes = 128 bits: forging one without the key is as hard as guessing the MAC.

import { constantTimeEqual, fromBase64Url, toBase64Url, utf8 } from './bytes';
import { deriveProofKey, subtle } from './kdf';
import type { RoomKey } from './roomKey';

export const PROOF_MAC_BYTES = 16;
const PROOF = /^(0|[1-9][0-9]{0,2})\.([A-Za-z0-9_-]{22})$/;

/** What a proof is about. */
export interface ProofSubject {
  room: string;
  participant: string;
  /** The announced public key text (base64url). */
  publicKey: string;
}

const macKeys = new WeakMap<RoomKey, Promise<CryptoKey>>();

function macKey(key: RoomKey): Promise<CryptoKey> {
  let k = macKeys.get(key);
  if (!k) {
    k = deriveProofKey(key.secret).then((raw) => subtle().importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
    macKeys.set(key, k);
  }
  return k;
}

async function mac(key: RoomKey, s: ProofSubject): Promise<Uint8Array> {
  const full = await subtle().sign('HMAC', await macKey(key), utf8(`${s.room}\n${s.participant}\n${s.publicKey}`));
  return new Uint8Array(full, 0, PROOF_MAC_BYTES);
}

export async function makeProof(key: RoomKey, subject: ProofSubject): Promise<string> {
  return `${key.epoch}.${toBase64Url(await mac(key, subject))}`;
}

/** The epoch a proof claims, or null when it is not a well-formed proof. */
export function proofEpoch(proof: string): number | null {
  const m = PROOF.exec(proof);
  if (!m) return null;
  const epoch = Number(m[1]);
  return epoch <= 0xff ? epoch : null;
}

/** True when `proof` is well formed, names `key`'s epoch and was made with `key` for `subject`. */
export async function verifyProof(key: RoomKey, proof: string, subject: ProofSubject): Promise<boolean> {
  if (proofEpoch(proof) !== key.epoch) return false;
  const given = fromBase64Url(proof.slice(proof.indexOf('.') + 1));
  return constantTimeEqual(given, await mac(key, subject));
}
