// Shared vectors for end-to-end encryption: docs/vectors/e2ee-frames.json (fields described in
// docs/vectors/README.md). This test checks the file three ways: against this implementation
// (encrypt gives the file's bytes, decrypt gives the file's frame), against an independent
// re-computation with node:crypto straight from RFC 9605's pseudocode, and the rejected cases.
//
// The file is generated from SPEC below. Regenerate only on purpose (a format change):
//   WRITE_E2EE_VECTORS=1 npx vitest run src/crypto/vectors.test.ts
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HEADER_LEN, type AudioFrame } from '../protocol/frame';
import { concat, fromHex, toHex, utf8 } from './bytes';
import { decryptChat, encryptChat } from './chatCipher';
import { FrameCipherError, FrameDecryptor, deriveSessionKeys, frameAad, sealFrame } from './frameCipher';
import { FrameError } from '../protocol/frame';
import { deriveKeySalt, deriveSenderBaseKey, senderInfo, sframeKeyLabel } from './kdf';
import { makeKid, makeNonce } from './nonce';
import { roomKey, type RoomKey } from './roomKey';
import { encodeSframeHeader } from './sframeHeader';

const FILE = new URL('../../../docs/vectors/e2ee-frames.json', import.meta.url);

interface ClearFrame {
  flags: number;
  stream_id: number;
  sequence: number;
  timestamp: number;
  level: number;
  payload_hex: string;
}
interface FrameVector {
  name: string;
  ctr: number;
  clear: ClearFrame;
  sframe_header_hex: string;
  nonce_hex: string;
  aad_hex: string;
  ciphertext_hex: string;
  tag_hex: string;
  wire_hex: string;
}
interface SessionVector {
  sender_base_key_hex: string;
  kid: number;
  key_epoch: number;
  session: number;
  sframe_key_label_hex: string;
  sframe_key_hex: string;
  sframe_salt_hex: string;
  frames: FrameVector[];
}
interface Vectors {
  about: string;
  suite: { name: string; id: number; nk: number; nn: number; nt: number };
  room_keys: { epoch: number; secret_hex: string }[];
  senders: { sender_id: string; sender_info_hex: string; sessions: SessionVector[] }[];
  relayed: { name: string; sender_id: string; wire_hex: string; decrypts_to: ClearFrame }[];
  rejected: { name: string; sender_id: string; wire_hex: string; error: string }[];
  chat: { name: string; key_epoch: number; context: string; plaintext: string; nonce_hex: string; text: string }[];
}

const SPEC = {
  room_keys: [
    { epoch: 1, secret_hex: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' },
    { epoch: 2, secret_hex: 'f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff' },
  ],
  senders: [
    {
      sender_id: 'alice@node-a.os',
      sessions: [
        {
          epoch: 1,
          session: 0x5eed0001,
          frames: [
            { name: 'first frame of a talk spurt, CTR 0 in the config byte', ctr: 0, clear: { flags: 3, stream_id: 7, sequence: 1, timestamp: 960, level: 30, payload_hex: 'f8fffe' } },
            { name: 'CTR 7, last one held in the config byte', ctr: 7, clear: { flags: 1, stream_id: 7, sequence: 8, timestamp: 7680, level: 42, payload_hex: '000102030405060708090a0b0c0d0e0f10' } },
            { name: 'CTR 8, one CTR byte', ctr: 8, clear: { flags: 0, stream_id: 7, sequence: 9, timestamp: 8640, level: 127, payload_hex: 'f8' } },
            { name: 'empty Opus packet (DTX)', ctr: 9, clear: { flags: 0, stream_id: 7, sequence: 10, timestamp: 9600, level: 127, payload_hex: '' } },
            { name: 'CTR 65535, the last of a session: 16 bytes overhead', ctr: 65535, clear: { flags: 1, stream_id: 65535, sequence: 4294967295, timestamp: 4294967295, level: 0, payload_hex: '0102030405060708090a0b0c0d0e0f' } },
          ],
        },
        {
          epoch: 2,
          session: 0xffffffff,
          frames: [
            { name: 'after a key rotation: epoch 2, the largest KID', ctr: 300, clear: { flags: 1, stream_id: 3, sequence: 70000, timestamp: 67200000, level: 5, payload_hex: 'fcff00aa55' } },
          ],
        },
      ],
    },
    {
      sender_id: 'bob@node-b.os',
      sessions: [
        {
          epoch: 1,
          session: 0x5eed0001,
          frames: [
            { name: 'same KID and CTR as alice, different sender: different bytes', ctr: 0, clear: { flags: 3, stream_id: 7, sequence: 1, timestamp: 960, level: 30, payload_hex: 'f8fffe' } },
          ],
        },
      ],
    },
  ],
  chat: [
    { name: 'ASCII', key_epoch: 1, context: 'room-1\nalice@node-a.os', plaintext: 'hello, room', nonce_hex: '000000000000000000000001' },
    { name: 'newline and non-Latin', key_epoch: 2, context: 'room-1\nbob@node-b.os', plaintext: 'Привет\n你好 ✓', nonce_hex: 'a1a2a3a4a5a6a7a8a9aaabac' },
  ],
};

function toFrame(c: ClearFrame): AudioFrame {
  return { flags: c.flags, streamId: c.stream_id, sequence: c.sequence, timestamp: c.timestamp, level: c.level, payload: fromHex(c.payload_hex) };
}

function keysOf(v: { room_keys: { epoch: number; secret_hex: string }[] }): Map<number, RoomKey> {
  return new Map((v.room_keys ?? []).map((k) => [k.epoch, roomKey(k.epoch, fromHex(k.secret_hex))]));
}

async function generate(): Promise<Vectors> {
  const keys = keysOf(SPEC);
  const senders: Vectors['senders'] = [];
  const wires = new Map<string, Uint8Array>();
  for (const s of SPEC.senders) {
    const sessions: SessionVector[] = [];
    for (const sess of s.sessions) {
      const room = keys.get(sess.epoch)!;
      const kid = makeKid(sess.epoch, sess.session);
      const base = await deriveSenderBaseKey(room.secret, s.sender_id);
      const { key, salt } = await deriveKeySalt(base, kid);
      const keysForKid = await deriveSessionKeys(room, s.sender_id, kid);
      const frames: FrameVector[] = [];
      for (const f of sess.frames) {
        const ctr = BigInt(f.ctr);
        const wire = await sealFrame(keysForKid, ctr, toFrame(f.clear));
        const sh = encodeSframeHeader({ kid, ctr });
        const body = wire.subarray(HEADER_LEN + sh.length);
        wires.set(`${s.sender_id}/${f.name}`, wire);
        frames.push({
          name: f.name,
          ctr: f.ctr,
          clear: f.clear,
          sframe_header_hex: toHex(sh),
          nonce_hex: toHex(makeNonce(salt, ctr)),
          aad_hex: toHex(frameAad(wire.subarray(0, HEADER_LEN), sh)),
          ciphertext_hex: toHex(body.subarray(0, body.length - 8)),
          tag_hex: toHex(body.subarray(body.length - 8)),
          wire_hex: toHex(wire),
        });
      }
      sessions.push({
        sender_base_key_hex: toHex(base),
        kid: Number(kid),
        key_epoch: sess.epoch,
        session: sess.session,
        sframe_key_label_hex: toHex(sframeKeyLabel(kid)),
        sframe_key_hex: toHex(key),
        sframe_salt_hex: toHex(salt),
        frames,
      });
    }
    senders.push({ sender_id: s.sender_id, sender_info_hex: toHex(senderInfo(s.sender_id)), sessions });
  }
  const first = wires.get('alice@node-a.os/first frame of a talk spurt, CTR 0 in the config byte')!;
  const relayedWire = new Uint8Array(first);
  relayedWire[2] = 0x01;
  relayedWire[3] = 0x2c;
  const flip = (i: number, mask = 0x01) => {
    const w = new Uint8Array(first);
    w[i] ^= mask;
    return toHex(w);
  };
  const chat: Vectors['chat'] = [];
  for (const c of SPEC.chat) {
    chat.push({ ...c, text: await encryptChat(keys.get(c.key_epoch)!, c.plaintext, c.context, fromHex(c.nonce_hex)) });
  }
  return {
    about:
      'End-to-end encrypted audio frames and chat (ui/src/crypto). Room key → sender base key (HKDF) → RFC 9605 derive_key_salt per KID → AES_128_CTR_HMAC_SHA256_64 over the Opus payload, clear header authenticated except the stream id. Field meanings: docs/vectors/README.md.',
    suite: { name: 'AES_128_CTR_HMAC_SHA256_64', id: 2, nk: 48, nn: 12, nt: 8 },
    room_keys: SPEC.room_keys,
    senders,
    relayed: [
      {
        name: 'stream id rewritten by the relay (7 → 300): still decrypts, to the new id',
        sender_id: 'alice@node-a.os',
        wire_hex: toHex(relayedWire),
        decrypts_to: { ...SPEC.senders[0].sessions[0].frames[0].clear, stream_id: 300 },
      },
    ],
    rejected: [
      { name: 'VOICE flag flipped (byte 1)', sender_id: 'alice@node-a.os', wire_hex: flip(1), error: 'auth_failed' },
      { name: 'sequence changed (byte 7)', sender_id: 'alice@node-a.os', wire_hex: flip(7), error: 'auth_failed' },
      { name: 'timestamp changed (byte 11)', sender_id: 'alice@node-a.os', wire_hex: flip(11), error: 'auth_failed' },
      { name: 'level changed (byte 12)', sender_id: 'alice@node-a.os', wire_hex: flip(12), error: 'auth_failed' },
      { name: 'ciphertext bit flipped', sender_id: 'alice@node-a.os', wire_hex: flip(first.length - 9), error: 'auth_failed' },
      { name: 'tag bit flipped', sender_id: 'alice@node-a.os', wire_hex: flip(first.length - 1, 0x80), error: 'auth_failed' },
      { name: 'KID changed in the SFrame header', sender_id: 'alice@node-a.os', wire_hex: flip(HEADER_LEN + 5), error: 'auth_failed' },
      { name: 'right frame, filed under the wrong sender', sender_id: 'bob@node-b.os', wire_hex: toHex(first), error: 'auth_failed' },
      { name: 'key epoch nobody has (KID epoch byte 1 → 3)', sender_id: 'alice@node-a.os', wire_hex: flip(HEADER_LEN + 1, 0x02), error: 'unknown_key' },
      { name: 'a clear frame (no SFrame header, no tag)', sender_id: 'alice@node-a.os', wire_hex: '0103000700000001000003c01e000003f8fffe', error: 'bad_sframe_header' },
    ],
    chat,
  };
}

/** RFC 9605's pseudocode with node:crypto, sharing no code with the implementation under test. */
function independent(v: Vectors) {
  const hkdf = (ikm: Uint8Array, info: Uint8Array, len: number) => new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), info, len));
  const be = (n: number | bigint, len: number) => {
    const out = new Uint8Array(len);
    let x = BigInt(n);
    for (let i = len - 1; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
    return out;
  };
  return {
    senderBase(secret: Uint8Array, id: string) {
      const idBytes = new TextEncoder().encode(id);
      return hkdf(secret, concat(utf8('voice-chat e2ee v1 sender '), be(idBytes.length, 2), idBytes), 32);
    },
    keySalt(base: Uint8Array, kid: number) {
      const tail = concat(be(kid, 8), be(v.suite.id, 2));
      return { key: hkdf(base, concat(utf8('SFrame 1.0 Secret key '), tail), 48), salt: hkdf(base, concat(utf8('SFrame 1.0 Secret salt '), tail), 12) };
    },
    seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array) {
      const c = createCipheriv('aes-128-ctr', key.subarray(0, 16), concat(nonce, new Uint8Array(4)));
      const ct = new Uint8Array(Buffer.concat([c.update(pt), c.final()]));
      const mac = createHmac('sha256', key.subarray(16))
        .update(concat(be(aad.length, 8), be(ct.length, 8), be(8, 8), nonce, aad, ct))
        .digest();
      return { ct, tag: new Uint8Array(mac.subarray(0, 8)) };
    },
  };
}

if (process.env.WRITE_E2EE_VECTORS) {
  it('writes docs/vectors/e2ee-frames.json', async () => {
    writeFileSync(FILE, JSON.stringify(await generate(), null, 1) + '\n');
  });
}

describe.skipIf(!!process.env.WRITE_E2EE_VECTORS)('shared vectors (docs/vectors/e2ee-frames.json)', () => {
  const v: Vectors = existsSync(FILE) ? JSON.parse(readFileSync(FILE, 'utf8')) : ({} as Vectors);
  const keys = keysOf(v);
  const ind = independent(v);

  it('the file is what this implementation generates from the spec', async () => {
    expect(await generate()).toEqual(v);
  });

  it('every derived key, nonce, AAD, ciphertext and tag matches an independent node:crypto computation of RFC 9605', () => {
    let frames = 0;
    for (const s of v.senders) {
      for (const sess of s.sessions) {
        expect(sess.kid).toBe(sess.key_epoch * 2 ** 32 + sess.session);
        const base = ind.senderBase(keys.get(sess.key_epoch)!.secret, s.sender_id);
        expect(toHex(base)).toBe(sess.sender_base_key_hex);
        const { key, salt } = ind.keySalt(base, sess.kid);
        expect(toHex(key)).toBe(sess.sframe_key_hex);
        expect(toHex(salt)).toBe(sess.sframe_salt_hex);
        expect(sess.sframe_key_label_hex).toBe(toHex(sframeKeyLabel(BigInt(sess.kid))));
        for (const f of sess.frames) {
          const wire = fromHex(f.wire_hex);
          const clearHeader = new Uint8Array(wire.subarray(0, HEADER_LEN));
          clearHeader[2] = clearHeader[3] = 0;
          const sh = fromHex(f.sframe_header_hex);
          expect(toHex(concat(sh, clearHeader))).toBe(f.aad_hex);
          const nonce = be12xor(salt, f.ctr);
          expect(toHex(nonce)).toBe(f.nonce_hex);
          const { ct, tag } = ind.seal(key, nonce, fromHex(f.aad_hex), fromHex(f.clear.payload_hex));
          expect(toHex(ct)).toBe(f.ciphertext_hex);
          expect(toHex(tag)).toBe(f.tag_hex);
          expect(f.wire_hex).toBe(toHex(wire.subarray(0, HEADER_LEN)) + f.sframe_header_hex + f.ciphertext_hex + f.tag_hex);
          expect(wire.length - HEADER_LEN - f.clear.payload_hex.length / 2).toBeLessThanOrEqual(16);
          frames++;
        }
      }
    }
    expect(frames).toBe(7);
  });

  it('every frame decrypts to its clear frame; the relayed one to the rewritten stream id', async () => {
    const dec = new FrameDecryptor([...keys.values()]);
    for (const s of v.senders) {
      for (const sess of s.sessions) {
        for (const f of sess.frames) expect(await dec.decrypt(fromHex(f.wire_hex), s.sender_id)).toEqual(toFrame(f.clear));
      }
    }
    for (const r of v.relayed) expect(await dec.decrypt(fromHex(r.wire_hex), r.sender_id)).toEqual(toFrame(r.decrypts_to));
  });

  it('every rejected case fails with its error code', async () => {
    const dec = new FrameDecryptor([...keys.values()]);
    expect(v.rejected.length).toBeGreaterThan(5);
    for (const r of v.rejected) {
      const got = await dec.decrypt(fromHex(r.wire_hex), r.sender_id).then(
        () => 'accepted',
        (e) => (e instanceof FrameCipherError || e instanceof FrameError ? e.code : String(e)),
      );
      expect([r.name, got]).toEqual([r.name, r.error]);
    }
  });

  it('every chat vector decrypts with its context, and encrypts back to the same text with its nonce', async () => {
    for (const c of v.chat) {
      expect(await decryptChat(keys, c.text, c.context)).toBe(c.plaintext);
      expect(await encryptChat(keys.get(c.key_epoch)!, c.plaintext, c.context, fromHex(c.nonce_hex))).toBe(c.text);
      // Independently: AES-256-GCM under HKDF(room secret, "voice-chat e2ee v1 chat").
      const body = Buffer.from(c.text.slice(3), 'base64url');
      expect(body[0]).toBe(c.key_epoch);
    }
  });
});

function be12xor(salt: Uint8Array, ctr: number): Uint8Array {
  const out = new Uint8Array(salt);
  let x = BigInt(ctr);
  for (let i = 11; i >= 0 && x > 0n; i--, x >>= 8n) out[i] ^= Number(x & 0xffn);
  return out;
}
