import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from './bytes';
import {
  CHAT_PREFIX,
  CHAT_TEXT_LIMIT,
  ChatCipherError,
  MAX_CHAT_PLAINTEXT_BYTES,
  decryptChat,
  encryptChat,
  isEncryptedChat,
} from './chatCipher';
import { roomKey } from './roomKey';

const KEY = roomKey(3, new Uint8Array(32).fill(0x42));
const KEYS = new Map([[3, KEY]]);
const CTX = 'room-1\nalice@node-a.os#1';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    if (e instanceof ChatCipherError) return e.code;
    throw e;
  }
}

describe('chat cipher', () => {
  it('round-trips text, including newlines, emoji and non-Latin scripts, as URL-safe ASCII', async () => {
    for (const text of ['hi', 'line one\nline two', 'ünïcødé ✓ 🎙️', 'Привет, мир', '你好，世界']) {
      const wire = await encryptChat(KEY, text, CTX);
      expect(wire.startsWith(CHAT_PREFIX)).toBe(true);
      expect(wire.slice(CHAT_PREFIX.length)).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(JSON.parse(JSON.stringify({ text: wire })).text).toBe(wire);
      expect(isEncryptedChat(wire)).toBe(true);
      expect(await decryptChat(KEYS, wire, CTX)).toBe(text);
    }
  });

  it('uses a fresh nonce each time: the same text never encrypts to the same string', async () => {
    const a = await encryptChat(KEY, 'same', CTX);
    const b = await encryptChat(KEY, 'same', CTX);
    expect(a).not.toBe(b);
  });

  it(`fits the ${CHAT_TEXT_LIMIT}-character chat limit up to ${MAX_CHAT_PLAINTEXT_BYTES} bytes of UTF-8, and refuses more`, async () => {
    expect(MAX_CHAT_PLAINTEXT_BYTES).toBe(1468);
    const longest = await encryptChat(KEY, 'x'.repeat(MAX_CHAT_PLAINTEXT_BYTES), CTX);
    expect(longest.length).toBeLessThanOrEqual(CHAT_TEXT_LIMIT);
    console.log(`chat: ${MAX_CHAT_PLAINTEXT_BYTES} plaintext bytes → ${longest.length} characters on the wire`);
    expect(await code(encryptChat(KEY, 'x'.repeat(MAX_CHAT_PLAINTEXT_BYTES + 1), CTX))).toBe('too_long');
    // One more byte would have crossed the limit, so the constant is the true maximum.
    expect(CHAT_PREFIX.length + Math.ceil(((1 + 12 + MAX_CHAT_PLAINTEXT_BYTES + 1 + 16) * 4) / 3)).toBeGreaterThan(CHAT_TEXT_LIMIT);
    // Multi-byte characters count by their UTF-8 bytes.
    expect(await code(encryptChat(KEY, 'я'.repeat(734), CTX))).toBe('accepted');
    expect(await code(encryptChat(KEY, 'я'.repeat(735), CTX))).toBe('too_long');
  });

  it('refuses a wrong key, a wrong context (room or sender), an unknown epoch, tampering and plain text', async () => {
    const wire = await encryptChat(KEY, 'secret plans', CTX);
    expect(await code(decryptChat(new Map([[3, roomKey(3, new Uint8Array(32).fill(1))]]), wire, CTX))).toBe('auth_failed');
    expect(await code(decryptChat(KEYS, wire, 'room-2\nalice@node-a.os#1'))).toBe('auth_failed');
    expect(await code(decryptChat(KEYS, wire, 'room-1\nmallory@node-m.os#9'))).toBe('auth_failed');
    expect(await code(decryptChat(new Map([[4, roomKey(4, KEY.secret)]]), wire, CTX))).toBe('unknown_key');
    const body = fromBase64Url(wire.slice(CHAT_PREFIX.length));
    for (let i = 1; i < body.length; i++) {
      const bad = new Uint8Array(body);
      bad[i] ^= 0x01;
      expect(await code(decryptChat(KEYS, CHAT_PREFIX + toBase64Url(bad), CTX))).toBe('auth_failed');
    }
    expect(await code(decryptChat(KEYS, 'secret plans', CTX))).toBe('not_encrypted');
    expect(await code(decryptChat(KEYS, CHAT_PREFIX + 'not base64!', CTX))).toBe('malformed');
    expect(await code(decryptChat(KEYS, CHAT_PREFIX + 'AAAA', CTX))).toBe('malformed');
  });
});
