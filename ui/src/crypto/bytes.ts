// Byte helpers for the crypto layer: hex and base64url (for vectors and chat text), big-endian
// integers (SFrame encodes KID and CTR big-endian), and copies typed for WebCrypto, which wants
// buffers backed by a plain ArrayBuffer.

export type Bytes = Uint8Array<ArrayBuffer>;

/** A copy backed by its own ArrayBuffer (what crypto.subtle accepts under TS's typed arrays). */
export function own(bytes: Uint8Array): Bytes {
  return new Uint8Array(bytes);
}

export function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function utf8(text: string): Bytes {
  return own(new TextEncoder().encode(text));
}

/** `value` as `len` big-endian bytes; throws if it does not fit. */
export function bigEndian(value: bigint, len: number): Bytes {
  if (value < 0n || value >= 1n << BigInt(8 * len)) throw new RangeError(`${value} does not fit in ${len} bytes`);
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

export function readBigEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex: string): Bytes {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** RFC 4648 §5 base64url without padding: only [A-Za-z0-9_-], safe in JSON and URLs. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += B64URL[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

export function fromBase64Url(text: string): Bytes {
  if (text.length % 4 === 1) throw new Error('base64url length is invalid');
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of text) {
    const v = B64URL.indexOf(ch);
    if (v < 0) throw new Error(`not base64url: ${JSON.stringify(ch)}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Non-canonical encodings (leftover bits set) are refused so one ciphertext has one spelling.
  if ((acc & ((1 << bits) - 1)) !== 0) throw new Error('base64url has trailing bits set');
  return out;
}

/** Base64url length (no padding) of `n` bytes. */
export function base64UrlLength(n: number): number {
  return Math.floor(n / 3) * 4 + (n % 3 === 0 ? 0 : (n % 3) + 1);
}

/** Compares without an early exit, so timing does not tell how many leading bytes matched. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
