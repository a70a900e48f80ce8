// The audio frame cipher: SFrame (RFC 9605) inside our binary audio frame.
//
// Wire layout of an encrypted frame (docs/protocol.md's frame, payload replaced):
//
//   0..16   clear header: kind, flags, stream id, sequence, timestamp, level, reserved,
//           payload length (= everything after the header, as for a clear frame)
//   16..    SFrame header: config byte, KID (≤ 5 bytes), CTR (≤ 2 bytes)
//   ..      AES-128-CTR ciphertext of the Opus packet (same length as the packet)
//   last 8  truncated HMAC-SHA256 tag
//
// The relay needs no change: it reads the clear header as today and rewrites only the stream id.
//
// Authenticated (AAD = SFrame header ‖ clear header with bytes 2..3 zeroed, RFC 9605's
// "header + metadata"): every byte of the clear header except the stream id (bytes 2 and 3),
// i.e. kind (0), flags (1), sequence (4..8), timestamp (8..12), level (12), reserved (13) and
// payload length (14..16), plus the whole SFrame header. The stream id is left out because the
// relay overwrites it with the authoritative one; which sender a frame is from is instead bound by
// the sender id in the key derivation (a frame filed under the wrong sender fails to decrypt).
// Not authenticated: the stream id, and nothing else.
//
// Overhead per frame: 1 + KID bytes + CTR bytes + 8. With the epoch in KID bits 32..40 the KID
// is 5 bytes (4 when the epoch is 0 and fewer in the rare case of a small random session), so
// CTR 0..7 → 14 bytes, 8..255 → 15, 256..65535 → 16. Never more than 16 (MAX_OVERHEAD).
//
// Timing: keys are derived on WebCrypto once per (sender, KID) session (async, a few ms); every
// frame after that is sealed or opened synchronously in pure JS (ctrHmac.ts), with no WebCrypto
// call and no task-queue hop. `encrypt` / `decrypt` then return an already-resolved promise;
// `encryptNow` / `decryptNow` give the result directly once the session's keys are ready.

import { HEADER_LEN, decodeAudioFrame, encodeAudioFrame, encodeAudioHeader, type AudioFrame } from '../protocol/frame';
import { concat, type Bytes } from './bytes';
import { aeadKeys, open, seal, type AeadKeys } from './ctrHmac';
import { deriveKeySalt, deriveSenderBaseKey, NT } from './kdf';
import { claimKid, kidEpoch, makeKid, makeNonce, MAX_CTR, randomSession } from './nonce';
import { keyScope, type RoomKey } from './roomKey';
import { decodeSframeHeader, encodeSframeHeader, sframeHeaderLength } from './sframeHeader';

export const MAX_OVERHEAD = 16;
/** Bytes of the clear header the relay rewrites, hence zeroed in the AAD copy. */
export const UNAUTHENTICATED_HEADER_BYTES = [2, 3] as const;

export class FrameCipherError extends Error {
  constructor(
    readonly code: 'bad_sframe_header' | 'unknown_key' | 'auth_failed',
    message: string,
  ) {
    super(message);
    this.name = 'FrameCipherError';
  }
}

/** The AAD for a frame: SFrame header, then the 16-byte clear header with the stream id zeroed. */
export function frameAad(clearHeader: Uint8Array, sframeHeader: Uint8Array): Bytes {
  if (clearHeader.length !== HEADER_LEN) throw new RangeError(`clear header must be ${HEADER_LEN} bytes`);
  const metadata = new Uint8Array(clearHeader);
  for (const i of UNAUTHENTICATED_HEADER_BYTES) metadata[i] = 0;
  return concat(sframeHeader, metadata);
}

export interface SessionKeys {
  kid: bigint;
  aead: AeadKeys;
  salt: Bytes;
}

/** Keys for (room key, sender, KID): sender base key, then RFC 9605 derive_key_salt. */
export async function deriveSessionKeys(room: RoomKey, senderId: string, kid: bigint): Promise<SessionKeys> {
  const base = await deriveSenderBaseKey(room.secret, senderId);
  const { key, salt } = await deriveKeySalt(base, kid);
  return { kid, aead: aeadKeys(key), salt };
}

/** Session keys being derived, and once derived, the keys themselves (for the synchronous path). */
interface PendingKeys {
  promise: Promise<SessionKeys>;
  ready: SessionKeys | null;
}

function pendingKeys(promise: Promise<SessionKeys>): PendingKeys {
  const p: PendingKeys = { promise, ready: null };
  // A failure stays in `promise` for whoever awaits it; this branch only records success.
  promise.then(
    (k) => {
      p.ready = k;
    },
    () => {},
  );
  return p;
}

export interface EncryptorOptions {
  /** Source of 32-bit session numbers; crypto.getRandomValues unless a test pins it. */
  random?: () => number;
  /** Last CTR of a session before the encryptor moves to a new KID (tests lower it). */
  maxCtr?: number;
}

interface Session {
  kid: bigint;
  keys: PendingKeys;
  ctr: number;
}

/**
 * Encrypts one sender's frames. Make a new one at every (re)join, resume, stream reset and key
 * rotation: it starts a fresh session, so nothing has to be remembered across them.
 */
export class FrameEncryptor {
  private session: Session;
  private readonly random: () => number;
  private readonly maxCtr: number;
  private readonly scope: string;

  constructor(
    readonly room: RoomKey,
    readonly senderId: string,
    options: EncryptorOptions = {},
  ) {
    this.random = options.random ?? randomSession;
    this.maxCtr = options.maxCtr ?? MAX_CTR;
    if (!Number.isInteger(this.maxCtr) || this.maxCtr < 0 || this.maxCtr > MAX_CTR) {
      throw new RangeError(`maxCtr must be 0..=${MAX_CTR}`);
    }
    this.scope = `${keyScope(room)}|${senderId}`;
    this.session = this.newSession();
  }

  /** The KID frames are currently sent under. */
  get kid(): bigint {
    return this.session.kid;
  }

  private newSession(): Session {
    // Draw until a KID this page has never used for this key and sender (normally the first try).
    for (let tries = 0; tries < 64; tries++) {
      const kid = makeKid(this.room.epoch, this.random() >>> 0);
      if (claimKid(this.scope, kid)) {
        return { kid, keys: pendingKeys(deriveSessionKeys(this.room, this.senderId, kid)), ctr: 0 };
      }
    }
    throw new Error('no unused KID after 64 draws: the random source is broken');
  }

  /** Resolves once the current session's keys are derived (encryptNow then succeeds). */
  async ready(): Promise<void> {
    if (this.session.ctr > this.maxCtr) this.session = this.newSession();
    await this.session.keys.promise;
  }

  /**
   * The whole wire frame for `frame` with its payload encrypted. Everything that decides the
   * (KID, CTR) happens before the first await, so concurrent calls never share a counter. Once
   * the session's keys are derived there is no await at all: the promise is already resolved.
   */
  async encrypt(frame: AudioFrame): Promise<Bytes> {
    if (this.session.ctr > this.maxCtr) this.session = this.newSession();
    const session = this.session;
    const ctr = BigInt(session.ctr++);
    return sealFrameNow(session.keys.ready ?? (await session.keys.promise), ctr, frame);
  }

  /**
   * encrypt, synchronously: the wire frame, or null (no counter used) while the session's keys
   * are still being derived, i.e. before `ready()` resolves and again briefly after a roll-over
   * to a new KID. Throws what encrypt rejects with.
   */
  encryptNow(frame: AudioFrame): Bytes | null {
    if (this.session.ctr > this.maxCtr) this.session = this.newSession();
    const session = this.session;
    if (!session.keys.ready) return null;
    return sealFrameNow(session.keys.ready, BigInt(session.ctr++), frame);
  }
}

/**
 * One frame under given session keys and counter: the building block of FrameEncryptor, exported
 * for the shared vectors. Calling it twice with the same keys and counter reuses a nonce; only
 * FrameEncryptor should call it in the app.
 */
export async function sealFrame(keys: SessionKeys, ctr: bigint, frame: AudioFrame): Promise<Bytes> {
  return sealFrameNow(keys, ctr, frame);
}

/** sealFrame, synchronously. */
export function sealFrameNow(keys: SessionKeys, ctr: bigint, frame: AudioFrame): Bytes {
  const sframeHeader = encodeSframeHeader({ kid: keys.kid, ctr });
  // encodeAudioFrame validates the fields and the size (with the overhead counted) and writes
  // the clear header, whose payload length must already be the sealed length.
  const out = encodeAudioFrame({ ...frame, payload: new Uint8Array(sframeHeader.length + frame.payload.length + NT) });
  const sealed = seal(keys.aead, makeNonce(keys.salt, ctr), frameAad(out.subarray(0, HEADER_LEN), sframeHeader), frame.payload);
  out.set(sframeHeader, HEADER_LEN);
  out.set(sealed, HEADER_LEN + sframeHeader.length);
  return out;
}

/** Overhead in bytes of a frame sent under `kid` with counter `ctr`. */
export function frameOverhead(kid: bigint, ctr: bigint): number {
  return sframeHeaderLength(kid, ctr) + NT;
}

/**
 * Decrypts frames from any sender. Holds the room keys by epoch (the current one, and the
 * previous one for a moment after a rotation) and caches derived keys per (sender, KID).
 */
export class FrameDecryptor {
  private readonly keys = new Map<number, RoomKey>();
  private readonly cache = new Map<string, PendingKeys & { epoch: number }>();

  constructor(
    keys: RoomKey[] = [],
    private readonly cacheLimit = 256,
  ) {
    for (const k of keys) this.setRoomKey(k);
  }

  /**
   * Adds (or replaces) the key of one epoch. Keys derived under the other epochs stay: a
   * rotation must not make every sender's current frames wait for a new derivation.
   */
  setRoomKey(key: RoomKey): void {
    if (this.keys.get(key.epoch) !== key) this.dropEpoch(key.epoch);
    this.keys.set(key.epoch, key);
  }

  forgetEpoch(epoch: number): void {
    this.keys.delete(epoch);
    this.dropEpoch(epoch);
  }

  private dropEpoch(epoch: number): void {
    for (const [id, keys] of this.cache) if (keys.epoch === epoch) this.cache.delete(id);
  }

  private sessionKeys(room: RoomKey, senderId: string, kid: bigint): PendingKeys {
    const id = `${senderId}|${kid}`;
    let keys = this.cache.get(id);
    if (!keys) {
      // A Map iterates in insertion order, so the first entry is the oldest one.
      if (this.cache.size >= this.cacheLimit) this.cache.delete(this.cache.keys().next().value!);
      // The same object the derivation fills in `ready` on, tagged with its epoch.
      keys = Object.assign(pendingKeys(deriveSessionKeys(room, senderId, kid)), { epoch: room.epoch });
      this.cache.set(id, keys);
    }
    return keys;
  }

  /**
   * Checks the clear header (as decodeAudioFrame does, same error codes), then the tag; returns the
   * frame with the Opus packet as payload. `senderId` is the participant the stream id belongs to.
   * Once this (sender, KID)'s keys are derived there is no await: the promise is already settled.
   */
  async decrypt(wire: Uint8Array, senderId: string): Promise<AudioFrame> {
    return this.decryptFrame(decodeAudioFrame(wire), senderId);
  }

  /** decrypt, for a frame already decoded (as the connection hands them over): no second decode. */
  async decryptFrame(clear: AudioFrame, senderId: string): Promise<AudioFrame> {
    const p = this.parse(clear, encodeAudioHeader(clear), senderId);
    return openFrame(p, p.keys.ready ?? (await p.keys.promise));
  }

  /**
   * decrypt, synchronously: the frame, or null while this (sender, KID)'s keys are still being
   * derived (the derivation is started; `decrypt` waits for it instead). Throws what decrypt
   * rejects with.
   */
  decryptNow(wire: Uint8Array, senderId: string): AudioFrame | null {
    const p = this.parse(decodeAudioFrame(wire), wire.subarray(0, HEADER_LEN), senderId);
    return p.keys.ready ? openFrame(p, p.keys.ready) : null;
  }

  private parse(clear: AudioFrame, clearHeader: Uint8Array, senderId: string): Parsed {
    let header;
    try {
      header = decodeSframeHeader(clear.payload);
    } catch (e) {
      throw new FrameCipherError('bad_sframe_header', (e as Error).message);
    }
    if (clear.payload.length < header.length + NT) {
      throw new FrameCipherError('bad_sframe_header', `payload of ${clear.payload.length} bytes has no room for the tag`);
    }
    const room = this.keys.get(kidEpoch(header.kid));
    if (!room || header.kid >> 40n !== 0n) {
      throw new FrameCipherError('unknown_key', `no room key for epoch ${kidEpoch(header.kid)} (KID ${header.kid})`);
    }
    return { clearHeader, clear, ctr: header.ctr, headerLength: header.length, keys: this.sessionKeys(room, senderId, header.kid) };
  }
}

interface Parsed {
  /** The frame's 16-byte clear header, as on the wire. */
  clearHeader: Uint8Array;
  clear: AudioFrame;
  ctr: bigint;
  headerLength: number;
  keys: PendingKeys;
}

function openFrame({ clearHeader, clear, ctr, headerLength }: Parsed, keys: SessionKeys): AudioFrame {
  const pt = open(
    keys.aead,
    makeNonce(keys.salt, ctr),
    frameAad(clearHeader, clear.payload.subarray(0, headerLength)),
    clear.payload.subarray(headerLength),
  );
  if (!pt) throw new FrameCipherError('auth_failed', 'frame failed authentication (wrong key, sender or tampered)');
  return { ...clear, payload: pt };
}
