// AES_128_CTR_HMAC_SHA256_64, the AEAD of RFC 9605 §4.5.1 (suite 0x0002): AES-128-CTR, then
// HMAC-SHA256 over lengths ‖ nonce ‖ AAD ‖ ciphertext, truncated to 8 bytes (encrypt-then-MAC).
//
// Why this suite and not AES-GCM: GCM's tag is 16 bytes, which alone uses the whole 16-byte
// budget and leaves nothing for the KID and CTR; truncating a GCM tag is weak (forgeries get
// much cheaper than 2^-t, Ferguson 2005), whereas a truncated HMAC keeps 2^-64 per forgery try.
// SFrame defines a 32-bit variant for audio; we keep 64 bits because the relay sees every frame
// and can try forgeries at line rate, and 4 more bytes per 20 ms are affordable (1.6 kbit/s).
//
// Where it runs: synchronously, in pure JS (@noble/ciphers' AES-CTR, @noble/hashes' HMAC-SHA256),
// on the caller's thread. Each WebCrypto call is a promise settled from the browser's crypto
// thread through the main thread's task queue, and a frame needed two of them each way; behind
// a busy main thread that queue made E2EE cost +23.5 ms at p95 mouth-to-ear. Key derivation
// (HKDF, kdf.ts) stays on WebCrypto: it runs once per (sender, KID), not per frame.

import { ctr } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, type Bytes } from './bytes';
import { NKA, NH, NN, NT } from './kdf';

export interface AeadKeys {
  /** AES-128 key (Nka bytes). */
  readonly enc: Uint8Array;
  /** HMAC-SHA256 state with the key already absorbed; cloned per frame, never updated itself. */
  readonly auth: ReturnType<typeof hmac.create>;
}

/**
 * derive_subkeys: the first Nka bytes are the AES key, the remaining Nh the HMAC key. Synchronous;
 * takes copies, so the caller may wipe `sframeKey` afterwards.
 */
export function aeadKeys(sframeKey: Uint8Array): AeadKeys {
  if (sframeKey.length !== NKA + NH) throw new RangeError(`sframe_key must be ${NKA + NH} bytes`);
  return { enc: sframeKey.slice(0, NKA), auth: hmac.create(sha256, sframeKey.subarray(NKA)) };
}

/** aeadKeys, kept async for the callers written when this was WebCrypto's importKey. */
export async function importAeadKeys(sframeKey: Uint8Array): Promise<AeadKeys> {
  return aeadKeys(sframeKey);
}

/** u64 big-endian of a length (all lengths here are far below 2^53). */
function putU64(out: Uint8Array, at: number, n: number): void {
  new DataView(out.buffer, out.byteOffset + at, 8).setBigUint64(0, BigInt(n));
}

function computeTag(keys: AeadKeys, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Bytes {
  const lengths = new Uint8Array(24);
  putU64(lengths, 0, aad.length);
  putU64(lengths, 8, ct.length);
  putU64(lengths, 16, NT);
  const mac = keys.auth.clone().update(lengths).update(nonce).update(aad).update(ct).digest();
  return mac.slice(0, NT);
}

/** AES-128-CTR with the counter block nonce ‖ 0x00000000 (the low 32 bits count blocks). */
function ctrXor(keys: AeadKeys, nonce: Uint8Array, data: Uint8Array): Bytes {
  if (nonce.length !== NN) throw new RangeError(`nonce must be ${NN} bytes`);
  const block = new Uint8Array(16);
  block.set(nonce);
  // noble counts in all 128 bits, WebCrypto's `length: 32` in the low 32; they agree while a
  // message has fewer than 2^32 blocks, which a frame (≤ 1,536 bytes) always has.
  return new Uint8Array(ctr(keys.enc, block).encrypt(data));
}

/** AEAD.Encrypt: ciphertext ‖ 8-byte tag. Synchronous. */
export function seal(keys: AeadKeys, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Bytes {
  const ct = ctrXor(keys, nonce, pt);
  const out = new Uint8Array(ct.length + NT);
  out.set(ct);
  out.set(computeTag(keys, nonce, aad, ct), ct.length);
  return out;
}

/** AEAD.Decrypt: checks the tag first (constant time), decrypts only if it holds; null if not. Synchronous. */
export function open(keys: AeadKeys, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Bytes | null {
  if (sealed.length < NT) return null;
  const ct = sealed.subarray(0, sealed.length - NT);
  const tag = sealed.subarray(sealed.length - NT);
  if (!constantTimeEqual(tag, computeTag(keys, nonce, aad, ct))) return null;
  return ctrXor(keys, nonce, ct);
}
