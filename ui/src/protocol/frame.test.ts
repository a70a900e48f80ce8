import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeAck,
  decodeAudioFrame,
  decodeAudioFrames,
  encodeAck,
  encodeAudioFrame,
  FLAG_MARKER,
  FLAG_VOICE,
  FrameError,
  type AudioFrame,
} from './frame';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string) => new Uint8Array(s.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);

const sample: AudioFrame = {
  flags: FLAG_VOICE | FLAG_MARKER,
  streamId: 0x0102,
  sequence: 0xdeadbeef,
  timestamp: 0x00000960,
  level: 42,
  payload: new Uint8Array([0xaa, 0xbb, 0xcc]),
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FrameError) return e.code;
    throw e;
  }
  throw new Error('expected a FrameError');
}

describe('audio frame codec', () => {
  it('lays the header out big-endian as the protocol says', () => {
    expect(hex(encodeAudioFrame(sample))).toBe('010301 02deadbeef000009602a000003aabbcc'.replace(/ /g, ''));
  });

  it('round-trips', () => {
    expect(decodeAudioFrame(encodeAudioFrame(sample))).toEqual(sample);
  });

  it('decodes a batch of concatenated frames', () => {
    const a = encodeAudioFrame(sample);
    const b = encodeAudioFrame({ ...sample, sequence: 1, payload: new Uint8Array(0) });
    const both = new Uint8Array([...a, ...b]);
    const frames = decodeAudioFrames(both);
    expect(frames.map((f) => f.sequence)).toEqual([0xdeadbeef, 1]);
    expect(codeOf(() => decodeAudioFrame(both))).toBe('length_mismatch');
    expect(codeOf(() => decodeAudioFrames(both.subarray(0, both.length - 1)))).toBe('too_short');
    expect(codeOf(() => decodeAudioFrames(new Uint8Array([...a, ...a.subarray(0, 17)])))).toBe('length_mismatch');
  });

  it('decodes from a view into a larger buffer', () => {
    const bytes = encodeAudioFrame(sample);
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 7);
    expect(decodeAudioFrame(padded.subarray(7))).toEqual(sample);
  });

  it('refuses bad input with a clear code', () => {
    const good = encodeAudioFrame(sample);
    expect(codeOf(() => decodeAudioFrame(good.slice(0, 10)))).toBe('too_short');
    expect(codeOf(() => decodeAudioFrame(good.slice(0, good.length - 1)))).toBe('length_mismatch');
    expect(codeOf(() => decodeAudioFrames(new Uint8Array(0)))).toBe('too_short');
    const kind = good.slice();
    kind[0] = 0x03;
    expect(codeOf(() => decodeAudioFrame(kind))).toBe('wrong_kind');
    const flags = good.slice();
    flags[1] = 0x04;
    expect(codeOf(() => decodeAudioFrame(flags))).toBe('reserved_flags');
    const level = good.slice();
    level[12] = 128;
    expect(codeOf(() => decodeAudioFrame(level))).toBe('bad_level');
    const reserved = good.slice();
    reserved[13] = 1;
    expect(codeOf(() => decodeAudioFrame(reserved))).toBe('reserved_byte');
    expect(codeOf(() => decodeAudioFrame(new Uint8Array(1537)))).toBe('too_large');
  });

  it('refuses to encode what it could not decode', () => {
    expect(codeOf(() => encodeAudioFrame({ ...sample, payload: new Uint8Array(1521) }))).toBe('too_large');
    expect(encodeAudioFrame({ ...sample, payload: new Uint8Array(1520) }).length).toBe(1536);
    expect(codeOf(() => encodeAudioFrame({ ...sample, level: 128 }))).toBe('bad_level');
    expect(codeOf(() => encodeAudioFrame({ ...sample, flags: 8 }))).toBe('reserved_flags');
    expect(codeOf(() => encodeAudioFrame({ ...sample, streamId: 70000 }))).toBe('bad_field');
    expect(codeOf(() => encodeAudioFrame({ ...sample, sequence: -1 }))).toBe('bad_field');
  });
});

describe('receive ack', () => {
  it('is kind 0x02 and a big-endian u32 that wraps', () => {
    expect(hex(encodeAck(5))).toBe('0200000005');
    expect(hex(encodeAck(2 ** 32 + 3))).toBe('0200000003');
    expect(decodeAck(encodeAck(123456789))).toBe(123456789);
  });

  it('refuses a wrong length or kind', () => {
    expect(codeOf(() => decodeAck(new Uint8Array([2, 0, 0, 0])))).toBe('bad_length');
    expect(codeOf(() => decodeAck(new Uint8Array([1, 0, 0, 0, 0])))).toBe('wrong_kind');
  });
});

interface Vector {
  name: string;
  hex: string;
  error?: string;
  decoded?: {
    flags: number;
    voice: boolean;
    marker: boolean;
    stream_id: number;
    sequence: number;
    timestamp: number;
    level: number;
    payload_len: number;
    payload_hex: string;
  };
}

// The same file the Rust codec tests against, so both ends agree byte for byte.
const vectors: Vector[] = JSON.parse(
  readFileSync(new URL('../../../docs/vectors/audio-frames.json', import.meta.url), 'utf8'),
);

describe('shared vectors (docs/vectors/audio-frames.json)', () => {
  it('has both valid and invalid cases', () => {
    expect(vectors.filter((v) => v.decoded).length).toBeGreaterThan(0);
    expect(vectors.filter((v) => v.error).length).toBeGreaterThan(0);
  });

  for (const v of vectors) {
    it(v.name, () => {
      const bytes = unhex(v.hex);
      if (v.error) {
        expect(codeOf(() => decodeAudioFrame(bytes))).toBe(v.error);
        return;
      }
      const d = v.decoded!;
      const frame = decodeAudioFrame(bytes);
      expect(frame).toEqual({
        flags: d.flags,
        streamId: d.stream_id,
        sequence: d.sequence,
        timestamp: d.timestamp,
        level: d.level,
        payload: unhex(d.payload_hex),
      });
      expect(Boolean(frame.flags & FLAG_VOICE)).toBe(d.voice);
      expect(Boolean(frame.flags & FLAG_MARKER)).toBe(d.marker);
      expect(frame.payload.length).toBe(d.payload_len);
      expect(hex(encodeAudioFrame(frame))).toBe(v.hex);
    });
  }
});
