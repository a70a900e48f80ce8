// AES_128_CTR_HMAC_SHA256_64, the AEAD of RFC 9605 §4.5.1 (suite 0x0002): AES-128-CTR, then
// HMAC-SHA256 over lengths ‖ nonce ‖ AAD ‖ ciphertext, truncated to 8 bytes (encrypt-then-MAC).
//
// Why this suite and not AES-GCM: GCM's tag is 16 bytes, which alone uses the whole 16-byte
// budget and leaves nothing for the KID and CTR; truncating a GCM tag is weak (forgeries get
// much cheaper than 2^-t, Ferguson 2005), whereas a truncated HMAC keeps 2^-64 per forgery try.
// SFrame defines a 32-bit variant for audio; we keep 64 bits because the relay sees every frame
// and can try forgeries at line rate, and 4 more bytes per 20 ms are affordable (1.6 kbit/s).

import { bigEndian, concat, constantTimeEqual, own, type Bytes } from './bytes';
import { NKA, NN, NT, subtle } from './kdf';

export interface AeadKeys {
  enc: CryptoKey;
  auth: CryptoKey;
}

/** derive_subkeys: the first Nka bytes are the AES key, the remaining Nh the HMAC key. */
export async function importAeadKeys(sframeKey: Uint8Array): Promise<AeadKeys> {
  const [enc, auth] = await Promise.all([
    subtle().importKey('raw', own(sframeKey.subarray(0, NKA)), 'AES-CTR', false, ['encrypt', 'decrypt']),
    subtle().importKey('raw', own(sframeKey.subarray(NKA)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
  ]);
  return { enc, auth };
}

async function computeTag(keys: AeadKeys, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Promise<Bytes> {
  const authData = concat(
    bigEndian(BigInt(aad.length), 8),
    bigEndian(BigInt(ct.length), 8),
    bigEndian(BigInt(NT), 8),
    nonce,
    aad,
    ct,
  );
  const mac = new Uint8Array(await subtle().sign('HMAC', keys.auth, authData));
  return mac.slice(0, NT);
}

function counterBlock(nonce: Uint8Array): Bytes {
  if (nonce.length !== NN) throw new RangeError(`nonce must be ${NN} bytes`);
  return concat(nonce, new Uint8Array(4)); // nonce ‖ 0x00000000, the low 32 bits count blocks
}

async function ctr(keys: AeadKeys, nonce: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const out = await subtle().encrypt({ name: 'AES-CTR', counter: counterBlock(nonce), length: 32 }, keys.enc, own(data));
  return new Uint8Array(out);
}

/** AEAD.Encrypt: ciphertext ‖ 8-byte tag. */
export async function seal(keys: AeadKeys, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Promise<Bytes> {
  const ct = await ctr(keys, nonce, pt);
  return concat(ct, await computeTag(keys, nonce, aad, ct));
}

/** AEAD.Decrypt: checks the tag first (constant time), decrypts only if it holds; null if not. */
export async function open(keys: AeadKeys, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Bytes | null> {
  if (sealed.length < NT) return null;
  const ct = sealed.subarray(0, sealed.length - NT);
  const tag = sealed.subarray(sealed.length - NT);
  if (!constantTimeEqual(tag, await computeTag(keys, nonce, aad, ct))) return null;
  return ctr(keys, nonce, ct);
}
