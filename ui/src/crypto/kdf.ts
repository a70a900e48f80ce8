// Key derivation, all HKDF-SHA256 through WebCrypto (crypto.subtle; in browsers, Node 20+ and
// the vitest environment alike).
//
//   room secret (32 random bytes, with a key epoch 0..255 chosen by whoever makes the key)
//     ├─ sender base key = HKDF(salt "", ikm room secret,
//     │                         info "voice-chat e2ee v1 sender " ‖ u16 len ‖ UTF-8 sender id, 32)
//     │     └─ per KID, exactly RFC 9605 §4.4.2 derive_key_salt:
//     │          sframe_key  = HKDF(salt "", ikm base, "SFrame 1.0 Secret key "  ‖ u64 KID ‖ u16 suite, 48)
//     │          sframe_salt = HKDF(salt "", ikm base, "SFrame 1.0 Secret salt " ‖ u64 KID ‖ u16 suite, 12)
//     │          and §4.5.1: enc key = sframe_key[0..16] (AES-128-CTR), auth key = sframe_key[16..48] (HMAC)
//     ├─ chat key = HKDF(salt "", ikm room secret, info "voice-chat e2ee v1 chat", 32)  (AES-256-GCM)
//     ├─ proof key = HKDF(salt "", ikm room secret, info "voice-chat e2ee v1 proof", 32) (HMAC-SHA256,
//     │     proof.ts: shows a member holds the key of an epoch without showing the key)
//     └─ safety key = HKDF(salt "", ikm room secret, info "voice-chat e2ee v1 safety", 32) (safetyCode.ts:
//           the code people compare; hashed with the members' public keys)
//
//   ECDH P-256 shared secret (memberKeys.ts, one pair per page)
//     └─ wrap key = HKDF(salt "", ikm shared x-coordinate, info "voice-chat e2ee v1 wrap", 32) (AES-256-GCM,
//           carries a room key from one member to another through the nodes)
//
// Why a sender base key: SFrame forbids two senders encrypting under one base key (§4.4.1). Putting
// the sender id in the derivation gives each participant its own key space, so two senders that
// happen to draw the same random KID still use different keys. It is not authentication between
// members: anyone with the room key can derive every sender's key.

import { bigEndian, concat, utf8, type Bytes } from './bytes';

/** RFC 9605 cipher suite 0x0002, AES_128_CTR_HMAC_SHA256_64. */
export const SUITE_ID = 0x0002;
export const NKA = 16;
export const NH = 32;
export const NK = NKA + NH;
export const NN = 12;
export const NT = 8;

export const ROOM_SECRET_LEN = 32;
const SENDER_LABEL = 'voice-chat e2ee v1 sender ';
const CHAT_LABEL = 'voice-chat e2ee v1 chat';
const PROOF_LABEL = 'voice-chat e2ee v1 proof';
const SAFETY_LABEL = 'voice-chat e2ee v1 safety';
const WRAP_LABEL = 'voice-chat e2ee v1 wrap';

const subtle = (): SubtleCrypto => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto (crypto.subtle) is not available: a secure context is required');
  return s;
};

/** HKDF-SHA256(salt = "", ikm, info) → `len` bytes (RFC 5869 extract then expand). */
export async function hkdf(ikm: Uint8Array, info: Uint8Array, len: number): Promise<Bytes> {
  const key = await subtle().importKey('raw', new Uint8Array(ikm), 'HKDF', false, ['deriveBits']);
  const bits = await subtle().deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new Uint8Array(info) },
    key,
    len * 8,
  );
  return new Uint8Array(bits);
}

export function senderInfo(senderId: string): Bytes {
  const id = utf8(senderId);
  if (id.length > 0xffff) throw new RangeError('sender id is too long');
  return concat(utf8(SENDER_LABEL), bigEndian(BigInt(id.length), 2), id);
}

export function deriveSenderBaseKey(roomSecret: Uint8Array, senderId: string): Promise<Bytes> {
  return hkdf(roomSecret, senderInfo(senderId), NH);
}

export function sframeKeyLabel(kid: bigint): Bytes {
  return concat(utf8('SFrame 1.0 Secret key '), bigEndian(kid, 8), bigEndian(BigInt(SUITE_ID), 2));
}

export function sframeSaltLabel(kid: bigint): Bytes {
  return concat(utf8('SFrame 1.0 Secret salt '), bigEndian(kid, 8), bigEndian(BigInt(SUITE_ID), 2));
}

/** RFC 9605 §4.4.2 derive_key_salt for suite 0x0002. */
export async function deriveKeySalt(baseKey: Uint8Array, kid: bigint): Promise<{ key: Bytes; salt: Bytes }> {
  const [key, salt] = await Promise.all([hkdf(baseKey, sframeKeyLabel(kid), NK), hkdf(baseKey, sframeSaltLabel(kid), NN)]);
  return { key, salt };
}

export function deriveChatKey(roomSecret: Uint8Array): Promise<Bytes> {
  return hkdf(roomSecret, utf8(CHAT_LABEL), 32);
}

export function deriveProofKey(roomSecret: Uint8Array): Promise<Bytes> {
  return hkdf(roomSecret, utf8(PROOF_LABEL), 32);
}

export function deriveSafetyKey(roomSecret: Uint8Array): Promise<Bytes> {
  return hkdf(roomSecret, utf8(SAFETY_LABEL), 32);
}

/** The AES-256-GCM key two members share: from their ECDH shared secret (32 bytes, P-256). */
export function deriveWrapKey(sharedSecret: Uint8Array): Promise<Bytes> {
  return hkdf(sharedSecret, utf8(WRAP_LABEL), 32);
}

export { subtle };
