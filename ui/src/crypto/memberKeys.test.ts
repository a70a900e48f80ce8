import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from './bytes';
import {
  MemberKeyError,
  PUBLIC_KEY_BYTES,
  generateMemberKeys,
  importPublicKey,
  unwrapRoomKey,
  wrapRoomKey,
  type WrapContext,
} from './memberKeys';
import { generateRoomKey } from './roomKey';

const CTX: WrapContext = { room: 'room-1', from: 'host#1', to: 'bob#2' };

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    if (e instanceof MemberKeyError) return e.code;
    throw e;
  }
}

describe('member keys', () => {
  it('announces the public key as 87 base64url characters of an uncompressed P-256 point', async () => {
    const pair = await generateMemberKeys();
    expect(pair.publicText).toMatch(/^[A-Za-z0-9_-]{87}$/);
    const raw = fromBase64Url(pair.publicText);
    expect(raw.length).toBe(PUBLIC_KEY_BYTES);
    expect(raw[0]).toBe(0x04);
    expect(pair.privateKey.extractable).toBe(false);
    await importPublicKey(pair.publicText);
  });

  it('refuses public keys that are not uncompressed P-256 points', async () => {
    const pair = await generateMemberKeys();
    const raw = fromBase64Url(pair.publicText);
    const offCurve = new Uint8Array(raw);
    offCurve[64] ^= 1;
    for (const text of ['', 'not base64!', toBase64Url(raw.subarray(0, 33)), toBase64Url(offCurve), toBase64Url(new Uint8Array(65))]) {
      expect(await code(importPublicKey(text)), text).toBe('bad_public_key');
    }
  });

  it('wraps a room key that only the recipient opens, from the sender it names', async () => {
    const [host, bob, eve] = await Promise.all([generateMemberKeys(), generateMemberKeys(), generateMemberKeys()]);
    const key = generateRoomKey(7);
    const wrapped = await wrapRoomKey(host.privateKey, await importPublicKey(bob.publicText), key, CTX);
    expect(wrapped).toMatch(/^[A-Za-z0-9_-]{82}$/);
    const opened = await unwrapRoomKey(bob.privateKey, await importPublicKey(host.publicText), wrapped, { ...CTX, epoch: 7 });
    expect(opened.epoch).toBe(7);
    expect(opened.secret).toEqual(key.secret);
    // Someone else's private key, or the right one with another sender's public key, fails.
    expect(await code(unwrapRoomKey(eve.privateKey, await importPublicKey(host.publicText), wrapped, { ...CTX, epoch: 7 }))).toBe('auth_failed');
    expect(await code(unwrapRoomKey(bob.privateKey, await importPublicKey(eve.publicText), wrapped, { ...CTX, epoch: 7 }))).toBe('auth_failed');
  });

  it('binds room, sender, recipient and epoch (the AAD)', async () => {
    const [host, bob] = await Promise.all([generateMemberKeys(), generateMemberKeys()]);
    const wrapped = await wrapRoomKey(host.privateKey, await importPublicKey(bob.publicText), generateRoomKey(7), CTX);
    const hostPub = await importPublicKey(host.publicText);
    for (const ctx of [
      { ...CTX, epoch: 8 },
      { ...CTX, room: 'room-2', epoch: 7 },
      { ...CTX, from: 'mod#3', epoch: 7 },
      { ...CTX, to: 'carol#4', epoch: 7 },
    ]) {
      expect(await code(unwrapRoomKey(bob.privateKey, hostPub, wrapped, ctx)), JSON.stringify(ctx)).toBe('auth_failed');
    }
  });

  it('rejects a tampered or truncated wrapped key', async () => {
    const [host, bob] = await Promise.all([generateMemberKeys(), generateMemberKeys()]);
    const wrapped = await wrapRoomKey(host.privateKey, await importPublicKey(bob.publicText), generateRoomKey(1), CTX);
    const hostPub = await importPublicKey(host.publicText);
    const bytes = fromBase64Url(wrapped);
    for (const i of [0, 11, 12, 30, bytes.length - 1]) {
      const t = new Uint8Array(bytes);
      t[i] ^= 0x01;
      expect(await code(unwrapRoomKey(bob.privateKey, hostPub, toBase64Url(t), { ...CTX, epoch: 1 })), `byte ${i}`).toBe('auth_failed');
    }
    expect(await code(unwrapRoomKey(bob.privateKey, hostPub, wrapped.slice(0, -4), { ...CTX, epoch: 1 }))).toBe('malformed');
    expect(await code(unwrapRoomKey(bob.privateKey, hostPub, wrapped + '*', { ...CTX, epoch: 1 }))).toBe('malformed');
  });
});
