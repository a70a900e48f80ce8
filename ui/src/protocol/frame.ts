// Binary audio frames and receive-acks, exactly as docs/protocol.md lays them out.
// All integers are big-endian; DataView defaults to big-endian, which is why it is used here.

export const KIND_AUDIO = 0x01;
export const KIND_ACK = 0x02;
export const FLAG_VOICE = 0x01;
export const FLAG_MARKER = 0x02;
export const HEADER_LEN = 16;
export const MAX_FRAME_LEN = 1536;
export const ACK_LEN = 5;
export const LEVEL_SILENCE = 127;

export interface AudioFrame {
  flags: number;
  streamId: number;
  sequence: number;
  timestamp: number;
  level: number;
  payload: Uint8Array;
}

export class FrameError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

function checkUint(name: string, value: number, bits: number): void {
  const max = 2 ** bits - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new FrameError('bad_field', `${name} must be an integer in 0..=${max}, got ${value}`);
  }
}

export function encodeAudioFrame(frame: AudioFrame): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(checkedLength(frame));
  writeHeader(out, frame);
  out.set(frame.payload, HEADER_LEN);
  return out;
}

/**
 * The 16-byte header `encodeAudioFrame` would write for `frame`, without copying the payload
 * (what a receiver that already decoded the frame needs to authenticate it).
 */
export function encodeAudioHeader(frame: AudioFrame): Uint8Array<ArrayBuffer> {
  checkedLength(frame);
  const out = new Uint8Array(HEADER_LEN);
  writeHeader(out, frame);
  return out;
}

/** Validates the fields and the size; the whole frame's length. */
function checkedLength(frame: AudioFrame): number {
  checkUint('flags', frame.flags, 8);
  if (frame.flags & ~(FLAG_VOICE | FLAG_MARKER)) {
    throw new FrameError('reserved_flags', `flag bits 2-7 must be zero, got 0x${frame.flags.toString(16)}`);
  }
  checkUint('stream id', frame.streamId, 16);
  checkUint('sequence', frame.sequence, 32);
  checkUint('timestamp', frame.timestamp, 32);
  if (!Number.isInteger(frame.level) || frame.level < 0 || frame.level > LEVEL_SILENCE) {
    throw new FrameError('bad_level', `level must be 0..=127, got ${frame.level}`);
  }
  const total = HEADER_LEN + frame.payload.length;
  if (total > MAX_FRAME_LEN) {
    throw new FrameError('too_large', `frame of ${total} bytes exceeds ${MAX_FRAME_LEN}`);
  }
  return total;
}

function writeHeader(out: Uint8Array<ArrayBuffer>, frame: AudioFrame): void {
  const view = new DataView(out.buffer, out.byteOffset, HEADER_LEN);
  view.setUint8(0, KIND_AUDIO);
  view.setUint8(1, frame.flags);
  view.setUint16(2, frame.streamId);
  view.setUint32(4, frame.sequence);
  view.setUint32(8, frame.timestamp);
  view.setUint8(12, frame.level);
  view.setUint8(13, 0);
  view.setUint16(14, frame.payload.length);
}

/**
 * Decodes a message holding exactly one frame, checking in the order docs/protocol.md gives so
 * the error code matches the Rust decoder's for the same bytes.
 */
export function decodeAudioFrame(bytes: Uint8Array): AudioFrame {
  if (bytes.length < HEADER_LEN) {
    throw new FrameError('too_short', `audio header needs ${HEADER_LEN} bytes, got ${bytes.length}`);
  }
  if (bytes.length > MAX_FRAME_LEN) {
    throw new FrameError('too_large', `frame of ${bytes.length} bytes exceeds ${MAX_FRAME_LEN}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const kind = view.getUint8(0);
  if (kind !== KIND_AUDIO) {
    throw new FrameError('wrong_kind', `expected kind 0x01, got 0x${kind.toString(16).padStart(2, '0')}`);
  }
  const flags = view.getUint8(1);
  if (flags & ~(FLAG_VOICE | FLAG_MARKER)) {
    throw new FrameError('reserved_flags', `flag bits 2-7 must be zero, got 0x${flags.toString(16)}`);
  }
  if (view.getUint8(13) !== 0) {
    throw new FrameError('reserved_byte', 'reserved byte must be zero');
  }
  const level = view.getUint8(12);
  if (level > LEVEL_SILENCE) {
    throw new FrameError('bad_level', `level must be 0..=127, got ${level}`);
  }
  const length = view.getUint16(14);
  if (HEADER_LEN + length !== bytes.length) {
    throw new FrameError(
      'length_mismatch',
      `payload length says ${length} but ${bytes.length - HEADER_LEN} bytes follow`,
    );
  }
  return {
    flags,
    streamId: view.getUint16(2),
    sequence: view.getUint32(4),
    timestamp: view.getUint32(8),
    level,
    payload: bytes.slice(HEADER_LEN),
  };
}

/** Decodes a batch of self-delimiting frames laid end to end (peer batches). */
export function decodeAudioFrames(bytes: Uint8Array): AudioFrame[] {
  if (bytes.length === 0) throw new FrameError('too_short', 'empty message');
  const frames: AudioFrame[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const rest = bytes.subarray(offset);
    if (rest.length < HEADER_LEN) {
      throw new FrameError('too_short', `audio header needs ${HEADER_LEN} bytes, got ${rest.length}`);
    }
    const end = Math.min(rest.length, HEADER_LEN + ((rest[14] << 8) | rest[15]));
    frames.push(decodeAudioFrame(rest.subarray(0, end)));
    offset += end;
  }
  return frames;
}

export function encodeAck(totalReceived: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(ACK_LEN);
  const view = new DataView(out.buffer);
  view.setUint8(0, KIND_ACK);
  // The count wraps at 2^32 by definition, so reduce instead of refusing.
  view.setUint32(1, totalReceived >>> 0);
  return out;
}

export function decodeAck(bytes: Uint8Array): number {
  if (bytes.length !== ACK_LEN) {
    throw new FrameError('bad_length', `ack must be ${ACK_LEN} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== KIND_ACK) {
    throw new FrameError('wrong_kind', `expected kind 0x02, got 0x${bytes[0].toString(16).padStart(2, '0')}`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
}
