// The SFrame header (RFC 9605 §4.3): one config byte, then KID and CTR as big-endian integers
// of the fewest bytes that hold them.
//
//   0 1 2 3 4 5 6 7
//  +-+-+-+-+-+-+-+-+------------+------------+
//  |X|  K  |Y|  C  |   KID...   |   CTR...   |
//  +-+-+-+-+-+-+-+-+------------+------------+
//
// X = 0: K is the KID itself (0..7), no KID bytes follow. X = 1: K + 1 KID bytes follow.
// Y and C do the same for CTR. So a value under 8 costs no byte at all, which is why our
// counters start at 0 and the first seven frames of a session are a byte shorter.

import { bigEndian, readBigEndian, type Bytes } from './bytes';

export interface SframeHeader {
  kid: bigint;
  ctr: bigint;
}

export const MAX_SFRAME_HEADER_LEN = 1 + 8 + 8;
const MAX_U64 = (1n << 64n) - 1n;

function byteLength(v: bigint): number {
  let n = 1;
  while (v >= 1n << BigInt(8 * n)) n++;
  return n;
}

function field(v: bigint, name: string): { bits: number; bytes: Bytes } {
  if (v < 0n || v > MAX_U64) throw new RangeError(`${name} must fit in 64 bits, got ${v}`);
  if (v < 8n) return { bits: Number(v), bytes: new Uint8Array(0) };
  const len = byteLength(v);
  return { bits: 0x8 | (len - 1), bytes: bigEndian(v, len) };
}

export function encodeSframeHeader({ kid, ctr }: SframeHeader): Bytes {
  const k = field(kid, 'KID');
  const c = field(ctr, 'CTR');
  const out = new Uint8Array(1 + k.bytes.length + c.bytes.length);
  out[0] = (k.bits << 4) | c.bits;
  out.set(k.bytes, 1);
  out.set(c.bytes, 1 + k.bytes.length);
  return out;
}

/** Length of the encoded header for these values, without building it. */
export function sframeHeaderLength(kid: bigint, ctr: bigint): number {
  return 1 + (kid < 8n ? 0 : byteLength(kid)) + (ctr < 8n ? 0 : byteLength(ctr));
}

/** Parses the header at the start of `bytes`; `length` is how many bytes it took. */
export function decodeSframeHeader(bytes: Uint8Array): SframeHeader & { length: number } {
  if (bytes.length < 1) throw new RangeError('SFrame header needs a config byte');
  const config = bytes[0];
  const kidLen = config & 0x80 ? ((config >> 4) & 0x7) + 1 : 0;
  const ctrLen = config & 0x08 ? (config & 0x7) + 1 : 0;
  const length = 1 + kidLen + ctrLen;
  if (bytes.length < length) throw new RangeError(`SFrame header needs ${length} bytes, got ${bytes.length}`);
  const kid = kidLen ? readBigEndian(bytes.subarray(1, 1 + kidLen)) : BigInt((config >> 4) & 0x7);
  const ctr = ctrLen ? readBigEndian(bytes.subarray(1 + kidLen, length)) : BigInt(config & 0x7);
  return { kid, ctr, length };
}
