import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameError, HEADER_LEN, MAX_FRAME_LEN, decodeAudioFrame, encodeAudioFrame, type AudioFrame } from '../protocol/frame';
import { bigEndian, concat, constantTimeEqual, own, toHex, type Bytes } from './bytes';
import { aeadKeys, open, seal } from './ctrHmac';
import { NKA, NT } from './kdf';
import {
  FrameCipherError,
  FrameDecryptor,
  FrameEncryptor,
  MAX_OVERHEAD,
  deriveSessionKeys,
  frameAad,
  frameOverhead,
} from './frameCipher';
import { makeKid, makeNonce, MAX_CTR } from './nonce';
import { roomKey, type RoomKey } from './roomKey';
import { decodeSframeHeader } from './sframeHeader';

const secret = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 0xff);
const ROOM = roomKey(3, secret(1));
const ALICE = 'alice@node-a.os#1';

function frame(seq: number, payload: Uint8Array = Uint8Array.from({ length: 40 }, (_, i) => (seq + i) & 0xff)): AudioFrame {
  return { flags: seq === 0 ? 3 : 1, streamId: 7, sequence: seq, timestamp: seq * 960, level: 30, payload };
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FrameCipherError || e instanceof FrameError) return e.code;
    throw e;
  }
  return 'accepted';
}

describe('frame cipher round trip', () => {
  it('decrypts what it encrypts, header fields and payload intact, for payloads 0..max bytes', async () => {
    const enc = new FrameEncryptor(ROOM, ALICE);
    const dec = new FrameDecryptor([ROOM]);
    const maxPayload = MAX_FRAME_LEN - HEADER_LEN - MAX_OVERHEAD;
    for (const len of [0, 1, 3, 80, 160, 1000, maxPayload]) {
      const f = frame(len, Uint8Array.from({ length: len }, (_, i) => (i * 13) & 0xff));
      const wire = await enc.encrypt(f);
      // The clear header is still a valid frame header for the relay, payload length included.
      const asRelaySeesIt = decodeAudioFrame(wire);
      expect({ ...asRelaySeesIt, payload: undefined }).toEqual({ ...f, payload: undefined });
      // The Opus bytes are not on the wire (checked where a chance match of the pattern is negligible).
      if (len >= 8) expect(toHex(asRelaySeesIt.payload)).not.toContain(toHex(f.payload.subarray(0, 8)));
      const back = await dec.decrypt(wire, ALICE);
      expect(back).toEqual(f);
    }
  });

  it('refuses a payload that would not fit one frame once encrypted', async () => {
    const enc = new FrameEncryptor(ROOM, ALICE);
    const tooBig = MAX_FRAME_LEN - HEADER_LEN - MAX_OVERHEAD + 1;
    // CTR 0 costs 14 bytes, so 1 byte over the worst case still fits; 3 over cannot.
    expect(await rejection(enc.encrypt(frame(0, new Uint8Array(tooBig + 2))))).toBe('too_large');
  });

  it('keeps every counter distinct under concurrent encrypt calls', async () => {
    const enc = new FrameEncryptor(ROOM, ALICE);
    const wires = await Promise.all(Array.from({ length: 200 }, (_, i) => enc.encrypt(frame(i))));
    const ctrs = new Set(wires.map((w) => decodeSframeHeader(w.subarray(HEADER_LEN)).ctr));
    expect(ctrs.size).toBe(200);
    const dec = new FrameDecryptor([ROOM]);
    for (const [i, w] of wires.entries()) expect((await dec.decrypt(w, ALICE)).sequence).toBe(i);
  });
});

describe('what is authenticated', () => {
  it('the AAD copy zeroes exactly the stream id (bytes 2 and 3) of the clear header', () => {
    const header = encodeAudioFrame(frame(5)).subarray(0, HEADER_LEN);
    const sh = new Uint8Array([0x80 | 0x40, 1, 2, 3, 4, 5]);
    const base = toHex(frameAad(header, sh));
    const changed: number[] = [];
    for (let i = 0; i < HEADER_LEN; i++) {
      const h = new Uint8Array(header);
      h[i] ^= 0x01;
      if (toHex(frameAad(h, sh)) !== base) changed.push(i);
    }
    expect(changed).toEqual([0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(toHex(frameAad(header, sh)).startsWith(toHex(sh))).toBe(true);
  });

  it('a tampered clear-header byte is rejected, for every byte but the stream id', async () => {
    const wire = await new FrameEncryptor(ROOM, ALICE).encrypt(frame(9));
    const dec = new FrameDecryptor([ROOM]);
    const results: Record<number, string> = {};
    for (let i = 0; i < HEADER_LEN; i++) {
      if (i === 2 || i === 3) continue;
      const bad = new Uint8Array(wire);
      bad[i] ^= 0x01; // keeps flags, level and sequence/timestamp valid, so those reach the tag check
      results[i] = await rejection(dec.decrypt(bad, ALICE));
    }
    expect(results).toEqual({
      0: 'wrong_kind', // the frame codec refuses these before the cipher runs
      1: 'auth_failed', // VOICE flag
      4: 'auth_failed', 5: 'auth_failed', 6: 'auth_failed', 7: 'auth_failed', // sequence
      8: 'auth_failed', 9: 'auth_failed', 10: 'auth_failed', 11: 'auth_failed', // timestamp
      12: 'auth_failed', // level
      13: 'reserved_byte',
      14: 'length_mismatch', 15: 'length_mismatch',
    });
  });

  it('a tampered SFrame header, ciphertext or tag byte is rejected (every byte after the clear header)', async () => {
    const wire = await new FrameEncryptor(ROOM, ALICE).encrypt(frame(9));
    const dec = new FrameDecryptor([ROOM]);
    for (let i = HEADER_LEN; i < wire.length; i++) {
      const bad = new Uint8Array(wire);
      bad[i] ^= 0x01;
      expect([i, await rejection(dec.decrypt(bad, ALICE))]).toSatisfy(
        ([, code]) => code === 'auth_failed' || code === 'unknown_key' || code === 'bad_sframe_header',
      );
    }
    // Flipping bits of the ciphertext and tag specifically fails the tag check.
    const sh = decodeSframeHeader(wire.subarray(HEADER_LEN));
    for (let i = HEADER_LEN + sh.length; i < wire.length; i++) {
      const bad = new Uint8Array(wire);
      bad[i] ^= 0x80;
      expect(await rejection(dec.decrypt(bad, ALICE))).toBe('auth_failed');
    }
  });

  it('a stream id rewritten by the relay still decrypts, to the rewritten id', async () => {
    const f = frame(4);
    const wire = await new FrameEncryptor(ROOM, ALICE).encrypt(f);
    for (const stream of [0, 1, 0x1234, 0xffff]) {
      const relayed = new Uint8Array(wire);
      new DataView(relayed.buffer).setUint16(2, stream);
      expect(await new FrameDecryptor([ROOM]).decrypt(relayed, ALICE)).toEqual({ ...f, streamId: stream });
    }
  });

  it('a clear (unencrypted) frame is rejected, never played', async () => {
    const dec = new FrameDecryptor([ROOM]);
    expect(await rejection(dec.decrypt(encodeAudioFrame(frame(1, new Uint8Array([0xf8, 0xff, 0xfe]))), ALICE))).toBe('bad_sframe_header');
    expect(await rejection(dec.decrypt(encodeAudioFrame(frame(1)), ALICE))).not.toBe('accepted');
  });
});

describe('keys', () => {
  it('a wrong room key, a wrong sender or an unknown epoch is rejected', async () => {
    const wire = await new FrameEncryptor(ROOM, ALICE).encrypt(frame(1));
    expect(await rejection(new FrameDecryptor([roomKey(3, secret(2))]).decrypt(wire, ALICE))).toBe('auth_failed');
    expect(await rejection(new FrameDecryptor([ROOM]).decrypt(wire, 'bob@node-b.os#2'))).toBe('auth_failed');
    expect(await rejection(new FrameDecryptor([roomKey(4, secret(1))]).decrypt(wire, ALICE))).toBe('unknown_key');
    expect(await rejection(new FrameDecryptor([]).decrypt(wire, ALICE))).toBe('unknown_key');
  });

  it('frames name their key epoch: old and new keys both decrypt across a rotation, until the old one is forgotten', async () => {
    const next = roomKey(4, secret(9));
    const before = await new FrameEncryptor(ROOM, ALICE).encrypt(frame(1));
    const after = await new FrameEncryptor(next, ALICE).encrypt(frame(2));
    const dec = new FrameDecryptor([ROOM]);
    dec.setRoomKey(next);
    expect((await dec.decrypt(before, ALICE)).sequence).toBe(1);
    expect((await dec.decrypt(after, ALICE)).sequence).toBe(2);
    dec.forgetEpoch(3);
    expect(await rejection(dec.decrypt(before, ALICE))).toBe('unknown_key');
    // A removed participant holding only the old key cannot read frames sent after the rotation.
    expect(await rejection(new FrameDecryptor([ROOM]).decrypt(after, ALICE))).toBe('unknown_key');
    expect(await rejection(new FrameDecryptor([roomKey(4, secret(1))]).decrypt(after, ALICE))).toBe('auth_failed');
  });
});

describe('decryptor key cache', () => {
  it('stays bounded and still decrypts every sender when more sessions arrive than it holds', async () => {
    const senders = ['a', 'b', 'c', 'd', 'e'];
    const encs = senders.map((id) => new FrameEncryptor(ROOM, id));
    const dec = new FrameDecryptor([ROOM], 2);
    for (let round = 0; round < 3; round++) {
      for (const [i, enc] of encs.entries()) {
        expect((await dec.decrypt(await enc.encrypt(frame(round)), senders[i])).sequence).toBe(round);
      }
    }
  });
});

describe('decryptor key cache across a rotation', () => {
  it('keeps the keys derived under the current epoch when the next key arrives and when an older one is forgotten', async () => {
    const older = roomKey(2, secret(7));
    const next = roomKey(4, secret(9));
    const wire = await new FrameEncryptor(ROOM, ALICE).encrypt(frame(1));
    const dec = new FrameDecryptor([older, ROOM]);
    await dec.decrypt(wire, ALICE); // derives (ALICE, KID)
    expect(dec.decryptNow(wire, ALICE)?.sequence).toBe(1);
    // Neither change touches epoch 3: its frames still open at once, with no new derivation.
    dec.setRoomKey(next);
    expect(dec.decryptNow(wire, ALICE)?.sequence).toBe(1);
    dec.forgetEpoch(2);
    expect(dec.decryptNow(wire, ALICE)?.sequence).toBe(1);
    dec.forgetEpoch(3);
    expect(() => dec.decryptNow(wire, ALICE)).toThrow(FrameCipherError);
  });

  it('drops what was derived under an epoch whose key is replaced (epochs wrap at 256)', async () => {
    const wire = await new FrameEncryptor(ROOM, ALICE).encrypt(frame(1));
    const dec = new FrameDecryptor([ROOM]);
    await dec.decrypt(wire, ALICE);
    dec.setRoomKey(ROOM); // the same key again: nothing to drop
    expect(dec.decryptNow(wire, ALICE)?.sequence).toBe(1);
    dec.setRoomKey(roomKey(3, secret(8)));
    expect(await rejection(dec.decrypt(wire, ALICE))).toBe('auth_failed');
  });
});

describe('no (key, nonce) pair is ever used twice', () => {
  /** Runs frames through encryptors, returning one "(kid)/(nonce)" string per frame sent. */
  async function pairs(encryptors: [FrameEncryptor, number][], room: RoomKey, sender: string): Promise<string[]> {
    const out: string[] = [];
    const salts = new Map<bigint, Uint8Array>();
    for (const [enc, frames] of encryptors) {
      for (let i = 0; i < frames; i++) {
        const wire = await enc.encrypt(frame(i)); // sequence restarts at 0 each time, like a reset
        const { kid, ctr } = decodeSframeHeader(wire.subarray(HEADER_LEN));
        if (!salts.has(kid)) salts.set(kid, (await deriveSessionKeys(room, sender, kid)).salt);
        out.push(`${kid}/${toHex(makeNonce(salts.get(kid)!, ctr))}`);
      }
    }
    return out;
  }

  it('across counter roll-over, reconnects and stream resets, even when the random source repeats itself', async () => {
    const room = roomKey(200, secret(5));
    // A bad random source: each value comes up twice, and the first value again later.
    let n = 0;
    const repeating = () => [7, 7, 8, 8, 9, 9, 7, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16][n++ % 20];
    const opts = { random: repeating, maxCtr: 255 }; // 256 frames per session to force roll-overs
    const seen = await pairs(
      [
        [new FrameEncryptor(room, ALICE, opts), 700], // first join: 3 sessions
        [new FrameEncryptor(room, ALICE, opts), 600], // reconnect + resume: a new encryptor
        [new FrameEncryptor(room, ALICE, opts), 10], // stream reset
        [new FrameEncryptor(room, ALICE, opts), 300], // another reconnect
      ],
      room,
      ALICE,
    );
    expect(seen.length).toBe(1610);
    expect(new Set(seen).size).toBe(1610);
    // Each frame's nonce alone is unique too, not only the (kid, nonce) pair.
    expect(new Set(seen.map((s) => s.split('/')[1])).size).toBe(1610);
    const kids = new Set(seen.map((s) => s.split('/')[0]));
    expect(kids.size).toBe(3 + 3 + 1 + 2);
  });

  it('with the real random source, every new encryptor starts a new KID', async () => {
    const kids = new Set(Array.from({ length: 50 }, () => new FrameEncryptor(ROOM, ALICE).kid));
    expect(kids.size).toBe(50);
  });

  it('a random source that only repeats is refused rather than reusing a KID', () => {
    const room = roomKey(1, secret(77));
    new FrameEncryptor(room, ALICE, { random: () => 42 });
    expect(() => new FrameEncryptor(room, ALICE, { random: () => 42 })).toThrow(/no unused KID/);
    // A different sender derives a different key, so the same session number is fine for it.
    expect(new FrameEncryptor(room, 'bob', { random: () => 42 }).kid).toBe(makeKid(1, 42));
  });
});

describe('overhead on the wire', () => {
  it('is at most 16 bytes per frame: measured on real frames at the largest KID, across a roll-over', async () => {
    const room = roomKey(255, secret(3));
    let draws = 0;
    const enc = new FrameEncryptor(room, ALICE, { random: () => 0xffffffff - draws++, maxCtr: 1023 });
    const payload = new Uint8Array(60);
    const bySize = new Map<number, number>();
    for (let i = 0; i < 1024 + 300; i++) {
      const wire = await enc.encrypt(frame(i, payload));
      const { kid, ctr } = decodeSframeHeader(wire.subarray(HEADER_LEN));
      const overhead = wire.length - HEADER_LEN - payload.length;
      expect(overhead).toBe(frameOverhead(kid, ctr));
      bySize.set(overhead, (bySize.get(overhead) ?? 0) + 1);
    }
    console.log('frame overhead, bytes → frames (two sessions, CTR 0..1023 then 0..299):', Object.fromEntries(bySize));
    // CTR 0..7 → 14 bytes, 8..255 → 15, 256.. → 16, and after the roll-over back to 14.
    expect(Object.fromEntries(bySize)).toEqual({ 14: 16, 15: 496, 16: 768 + 44 });
    expect(Math.max(...bySize.keys())).toBeLessThanOrEqual(MAX_OVERHEAD);
  });

  it('frameOverhead gives the same numbers for every epoch and session extreme', () => {
    for (const epoch of [0, 1, 255]) {
      for (const session of [0, 1, 0xff, 0x1000000, 0xffffffff]) {
        for (const ctr of [0n, 7n, 8n, 255n, 256n, BigInt(MAX_CTR)]) {
          expect(frameOverhead(makeKid(epoch, session), ctr)).toBeLessThanOrEqual(MAX_OVERHEAD);
        }
      }
    }
    expect(frameOverhead(makeKid(255, 0xffffffff), BigInt(MAX_CTR))).toBe(16);
    expect(frameOverhead(makeKid(255, 0xffffffff), 0n)).toBe(14);
    expect(frameOverhead(makeKid(255, 0xffffffff), BigInt(MAX_CTR) + 1n)).toBe(17); // why CTR stops at 2^16 − 1
  });
});

// The AEAD as it was before ctrHmac.ts moved to pure JS: WebCrypto AES-CTR + HMAC, one async
// call each. Kept here only as a second, independent implementation to compare bytes and cost.
const webCrypto = {
  async keys(sframeKey: Uint8Array) {
    const [enc, auth] = await Promise.all([
      crypto.subtle.importKey('raw', own(sframeKey.subarray(0, NKA)), 'AES-CTR', false, ['encrypt', 'decrypt']),
      crypto.subtle.importKey('raw', own(sframeKey.subarray(NKA)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
    ]);
    return { enc, auth };
  },
  async tag(k: { auth: CryptoKey }, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Promise<Bytes> {
    const data = concat(bigEndian(BigInt(aad.length), 8), bigEndian(BigInt(ct.length), 8), bigEndian(BigInt(NT), 8), nonce, aad, ct);
    return new Uint8Array(await crypto.subtle.sign('HMAC', k.auth, data)).slice(0, NT);
  },
  async ctr(k: { enc: CryptoKey }, nonce: Uint8Array, data: Uint8Array): Promise<Bytes> {
    const counter = concat(nonce, new Uint8Array(4));
    return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CTR', counter, length: 32 }, k.enc, own(data)));
  },
  async seal(k: { enc: CryptoKey; auth: CryptoKey }, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Promise<Bytes> {
    const ct = await webCrypto.ctr(k, nonce, pt);
    return concat(ct, await webCrypto.tag(k, nonce, aad, ct));
  },
  async open(k: { enc: CryptoKey; auth: CryptoKey }, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Bytes | null> {
    const ct = sealed.subarray(0, sealed.length - NT);
    if (!constantTimeEqual(sealed.subarray(sealed.length - NT), await webCrypto.tag(k, nonce, aad, ct))) return null;
    return webCrypto.ctr(k, nonce, ct);
  },
};

const bytesOf = (len: number, seed: number) => Uint8Array.from({ length: len }, (_, i) => (seed * 131 + i * 29 + (i >> 3)) & 0xff);

describe('per-frame AEAD in pure JS (no WebCrypto once the keys are derived)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives the same bytes as WebCrypto AES-CTR + HMAC, both ways, for every payload size class', async () => {
    for (const [i, len] of [0, 1, 15, 16, 17, 80, 255, 1000, 1504].entries()) {
      const key = bytesOf(48, i + 1);
      const nonce = bytesOf(12, i + 50);
      const aad = bytesOf(16 + (i % 6), i + 90);
      const pt = bytesOf(len, i + 120);
      const ours = aeadKeys(key);
      const theirs = await webCrypto.keys(key);
      const sealed = seal(ours, nonce, aad, pt);
      expect(toHex(sealed)).toBe(toHex(await webCrypto.seal(theirs, nonce, aad, pt)));
      expect(toHex((await webCrypto.open(theirs, nonce, aad, sealed))!)).toBe(toHex(pt));
      expect(toHex(open(ours, nonce, aad, sealed)!)).toBe(toHex(pt));
      // The key state is cloned per use: sealing again gives the same bytes.
      expect(toHex(seal(ours, nonce, aad, pt))).toBe(toHex(sealed));
    }
  });

  it('encrypts and decrypts frames with no crypto.subtle call once the session keys are derived, synchronously', async () => {
    const enc = new FrameEncryptor(ROOM, ALICE);
    const dec = new FrameDecryptor([ROOM]);
    expect(enc.encryptNow(frame(0))).toBeNull(); // keys not derived yet: no frame, no counter used
    await enc.ready();
    const first = enc.encryptNow(frame(0))!;
    expect(decodeSframeHeader(first.subarray(HEADER_LEN)).ctr).toBe(0n);
    expect(dec.decryptNow(first, ALICE)).toBeNull(); // starts deriving this (sender, KID)
    expect(await dec.decrypt(first, ALICE)).toEqual(frame(0));

    const calls: string[] = [];
    for (const m of ['encrypt', 'decrypt', 'sign', 'verify', 'importKey', 'deriveBits', 'deriveKey', 'digest'] as const) {
      vi.spyOn(crypto.subtle, m).mockImplementation(() => {
        calls.push(m);
        throw new Error(`crypto.subtle.${m} called per frame`);
      });
    }
    for (let i = 1; i <= 100; i++) {
      const wire = enc.encryptNow(frame(i))!;
      expect(dec.decryptNow(wire, ALICE)).toEqual(frame(i));
    }
    // The promise API takes the same path: no WebCrypto, and the result is there without a task hop.
    expect(await dec.decrypt(await enc.encrypt(frame(101)), ALICE)).toEqual(frame(101));
    const tampered = enc.encryptNow(frame(102))!;
    tampered[tampered.length - 1] ^= 1;
    expect(() => dec.decryptNow(tampered, ALICE)).toThrow(FrameCipherError);
    expect(calls).toEqual([]);
  });

  it('prints the cost of seal + open of an 80-byte payload, WebCrypto vs pure JS, in the same run', async () => {
    const key = bytesOf(48, 7);
    const nonce = bytesOf(12, 8);
    const aad = bytesOf(22, 9);
    const pt = bytesOf(80, 10);
    const ours = aeadKeys(key);
    const theirs = await webCrypto.keys(key);
    const n = 2000;
    const perFrameMs = async (run: () => Promise<unknown> | unknown) => {
      for (let i = 0; i < 1000; i++) await run(); // warm-up (JIT)
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await run();
      return (performance.now() - t0) / n;
    };
    const web = await perFrameMs(async () => webCrypto.open(theirs, nonce, aad, await webCrypto.seal(theirs, nonce, aad, pt)));
    const js = await perFrameMs(() => open(ours, nonce, aad, seal(ours, nonce, aad, pt)));
    // Whole frames, header and AAD included, through the classes the room uses.
    const enc = new FrameEncryptor(roomKey(9, secret(9)), ALICE);
    const dec = new FrameDecryptor([roomKey(9, secret(9))]);
    await dec.decrypt(await enc.encrypt(frame(0, pt)), ALICE);
    const frames = await perFrameMs(() => dec.decryptNow(enc.encryptNow(frame(1, pt))!, ALICE));
    console.log(
      `80-byte payload, seal + open per frame: WebCrypto ${(web * 1000).toFixed(1)} µs, pure JS ${(js * 1000).toFixed(1)} µs ` +
        `(${(web / js).toFixed(1)}× faster); whole frame encryptNow + decryptNow ${(frames * 1000).toFixed(1)} µs (n = ${n})`,
    );
    expect(js).toBeGreaterThan(0); // a measurement, not a timed assertion
  });
});
