// Chat text under the room key: AES-256-GCM with a key of its own (HKDF label
// "voice-chat e2ee v1 chat", see kdf.ts), so a chat ciphertext can never be confused with a frame.
//
// Wire form, a string that goes as is into the `text` of a `chat` message:
//
//   "e1." ‖ base64url( epoch (1 byte) ‖ nonce (12 random bytes) ‖ ciphertext ‖ GCM tag (16) )
//
// base64url (no padding) is only [A-Za-z0-9_-], so the server's text rules (no control or bidi
// characters, trimming) never touch it, and JSON carries it unescaped.
//
// Why GCM with a random nonce here and not the frame suite: chat is a few messages a minute from
// any tab of a participant, with no counter to keep; a 96-bit random nonce is safe for far more
// messages than a room sends under one key (2^32), and the 16-byte full tag costs nothing at
// this rate. AAD = the version prefix, the epoch byte and the caller's context string (the room
// id and the sender's participant id, so a node cannot replay a message into another room or
// put it under another sender's name without the decryption failing).
//
// Size: the server takes 1..=2,000 characters. 3 + base64url(29 + n) ≤ 2,000 gives
// n ≤ 1,468 bytes of UTF-8 plaintext (MAX_CHAT_PLAINTEXT_BYTES): 1,468 ASCII characters, about
// 734 Cyrillic or 489 CJK characters.

import { base64UrlLength, concat, fromBase64Url, toBase64Url, utf8, type Bytes } from './bytes';
import { deriveChatKey, subtle } from './kdf';
import type { RoomKey } from './roomKey';

export const CHAT_PREFIX = 'e1.';
export const CHAT_TEXT_LIMIT = 2000;
const NONCE_LEN = 12;
const TAG_LEN = 16;
const FIXED = 1 + NONCE_LEN + TAG_LEN;

/** The largest plaintext (UTF-8 bytes) whose ciphertext fits the 2,000-character chat limit. */
export const MAX_CHAT_PLAINTEXT_BYTES = (() => {
  let n = 0;
  while (CHAT_PREFIX.length + base64UrlLength(FIXED + n + 1) <= CHAT_TEXT_LIMIT) n++;
  return n;
})();

export class ChatCipherError extends Error {
  constructor(
    readonly code: 'not_encrypted' | 'malformed' | 'unknown_key' | 'auth_failed' | 'too_long',
    message: string,
  ) {
    super(message);
    this.name = 'ChatCipherError';
  }
}

export function isEncryptedChat(text: string): boolean {
  return text.startsWith(CHAT_PREFIX);
}

const chatKeys = new WeakMap<RoomKey, Promise<CryptoKey>>();

function chatKey(room: RoomKey): Promise<CryptoKey> {
  let key = chatKeys.get(room);
  if (!key) {
    key = deriveChatKey(room.secret).then((raw) => subtle().importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
    chatKeys.set(room, key);
  }
  return key;
}

function aad(epoch: number, context: string): Bytes {
  return concat(utf8(CHAT_PREFIX), new Uint8Array([epoch]), utf8(context));
}

/**
 * Encrypts `text` for a chat message. `context` must be what the receiver will pass too
 * (e.g. `${room}\n${senderParticipantId}`). `nonce` is for test vectors only.
 */
export async function encryptChat(room: RoomKey, text: string, context: string, nonce?: Uint8Array): Promise<string> {
  const pt = utf8(text);
  if (pt.length > MAX_CHAT_PLAINTEXT_BYTES) {
    throw new ChatCipherError('too_long', `chat text of ${pt.length} bytes exceeds ${MAX_CHAT_PLAINTEXT_BYTES} when encrypted`);
  }
  const iv = nonce ? new Uint8Array(nonce) : globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LEN));
  if (iv.length !== NONCE_LEN) throw new RangeError(`nonce must be ${NONCE_LEN} bytes`);
  const ct = await subtle().encrypt(
    { name: 'AES-GCM', iv, additionalData: aad(room.epoch, context), tagLength: TAG_LEN * 8 },
    await chatKey(room),
    pt,
  );
  return CHAT_PREFIX + toBase64Url(concat(new Uint8Array([room.epoch]), iv, new Uint8Array(ct)));
}

/** Decrypts a chat text made by encryptChat, with the room key of the epoch it names. */
export async function decryptChat(keys: ReadonlyMap<number, RoomKey>, text: string, context: string): Promise<string> {
  if (!isEncryptedChat(text)) throw new ChatCipherError('not_encrypted', 'chat text is not end-to-end encrypted');
  let body: Bytes;
  try {
    body = fromBase64Url(text.slice(CHAT_PREFIX.length));
  } catch (e) {
    throw new ChatCipherError('malformed', (e as Error).message);
  }
  if (body.length < FIXED) throw new ChatCipherError('malformed', `encrypted chat of ${body.length} bytes is too short`);
  const room = keys.get(body[0]);
  if (!room) throw new ChatCipherError('unknown_key', `no room key for epoch ${body[0]}`);
  try {
    const pt = await subtle().decrypt(
      { name: 'AES-GCM', iv: body.subarray(1, 1 + NONCE_LEN), additionalData: aad(room.epoch, context), tagLength: TAG_LEN * 8 },
      await chatKey(room),
      body.subarray(1 + NONCE_LEN),
    );
    return new TextDecoder('utf-8', { fatal: true }).decode(pt);
  } catch {
    throw new ChatCipherError('auth_failed', 'chat text failed authentication (wrong key, room or sender, or tampered)');
  }
}
