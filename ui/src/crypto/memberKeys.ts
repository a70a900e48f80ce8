// A member's ECDH key pair, and a room key wrapped from one member to another (issue 13).
//
// Each page makes one P-256 key pair (the private half is not extractable and never leaves the
// page) and announces the public half to the room in `e2ee_hello`. Whoever shares a room key
// (the Host, or a Moderator) wraps it for each recipient:
//
//   shared   = ECDH(sender private, recipient public)            (32 bytes, the x-coordinate)
//   wrap key = HKDF(salt "", shared, "voice-chat e2ee v1 wrap", 32)   (kdf.ts; AES-256-GCM)
//   wrapped  = base64url( nonce (12 random bytes) ‖ AES-256-GCM(wrap key, nonce,
//                plaintext = epoch (1 byte) ‖ room secret (32 bytes),
//                AAD = utf8(room + "\n" + from + "\n" + to + "\n" + epoch)) )   → 61 bytes, 82 chars
//
// The AAD binds the room, both participant ids and the epoch, so a node cannot replay a wrapped
// key into another room, to another member, as from another sender or as another epoch. What
// the wrapping cannot stop on its own: a node that hands the sender a public key of its own
// instead of the recipient's (the safety code, safetyCode.ts, is what shows that).
//
// Public keys travel as base64url of the raw uncompressed point (0x04 ‖ X ‖ Y, 65 bytes → 87
// characters), which is what `e2ee_hello`'s `public_key` carries.

import { concat, fromBase64Url, toBase64Url, utf8, type Bytes } from './bytes';
import { deriveWrapKey, ROOM_SECRET_LEN, subtle } from './kdf';
import { roomKey, type RoomKey } from './roomKey';

const CURVE = { name: 'ECDH', namedCurve: 'P-256' } as const;
export const PUBLIC_KEY_BYTES = 65;
const NONCE_LEN = 12;
const TAG_LEN = 16;
export const WRAPPED_BYTES = NONCE_LEN + 1 + ROOM_SECRET_LEN + TAG_LEN;

export class MemberKeyError extends Error {
  constructor(
    readonly code: 'bad_public_key' | 'malformed' | 'auth_failed' | 'wrong_epoch',
    message: string,
  ) {
    super(message);
    this.name = 'MemberKeyError';
  }
}

export interface MemberKeyPair {
  /** Not extractable: usable for ECDH only, inside this page. */
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** `publicKey` as announced: base64url of the raw uncompressed point. */
  readonly publicText: string;
}

/** Who a wrapped key is from and for: part of its AAD. */
export interface WrapContext {
  room: string;
  from: string;
  to: string;
}

/** A fresh key pair for this page. */
export async function generateMemberKeys(): Promise<MemberKeyPair> {
  const pair = (await subtle().generateKey(CURVE, false, ['deriveBits'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, publicText: await exportPublicKey(pair.publicKey) };
}

export async function exportPublicKey(key: CryptoKey): Promise<string> {
  return toBase64Url(new Uint8Array(await subtle().exportKey('raw', key)));
}

/** A public key as announced; throws `bad_public_key` unless it is a valid uncompressed P-256 point. */
export async function importPublicKey(text: string): Promise<CryptoKey> {
  let raw: Bytes;
  try {
    raw = fromBase64Url(text);
  } catch (e) {
    throw new MemberKeyError('bad_public_key', `public key is not base64url: ${(e as Error).message}`);
  }
  if (raw.length !== PUBLIC_KEY_BYTES || raw[0] !== 0x04) {
    throw new MemberKeyError('bad_public_key', `public key must be a ${PUBLIC_KEY_BYTES}-byte uncompressed P-256 point`);
  }
  try {
    return await subtle().importKey('raw', raw, CURVE, true, []);
  } catch (e) {
    throw new MemberKeyError('bad_public_key', `public key is not a P-256 point: ${(e as Error).message}`);
  }
}

async function wrapKey(myPrivate: CryptoKey, theirPublic: CryptoKey): Promise<CryptoKey> {
  const shared = new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: theirPublic }, myPrivate, 256));
  return subtle().importKey('raw', await deriveWrapKey(shared), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

export function wrapAad(ctx: WrapContext, epoch: number): Bytes {
  return utf8(`${ctx.room}\n${ctx.from}\n${ctx.to}\n${epoch}`);
}

/** `key` wrapped from `ctx.from` (our private key) to `ctx.to` (their public key): the `wrapped` text. */
export async function wrapRoomKey(myPrivate: CryptoKey, theirPublic: CryptoKey, key: RoomKey, ctx: WrapContext): Promise<string> {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LEN));
  const ct = await subtle().encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: wrapAad(ctx, key.epoch), tagLength: TAG_LEN * 8 },
    await wrapKey(myPrivate, theirPublic),
    concat(new Uint8Array([key.epoch]), key.secret),
  );
  return toBase64Url(concat(nonce, new Uint8Array(ct)));
}

/**
 * The room key in a `wrapped` text sent to us (`ctx.to`) by `ctx.from` (their public key) for
 * `epoch`. Throws `malformed`, `auth_failed` (wrong keys, ids, room or epoch, or tampered) or
 * `wrong_epoch` (the sealed epoch is not the one the message names).
 */
export async function unwrapRoomKey(
  myPrivate: CryptoKey,
  theirPublic: CryptoKey,
  wrapped: string,
  ctx: WrapContext & { epoch: number },
): Promise<RoomKey> {
  let body: Bytes;
  try {
    body = fromBase64Url(wrapped);
  } catch (e) {
    throw new MemberKeyError('malformed', `wrapped key is not base64url: ${(e as Error).message}`);
  }
  if (body.length !== WRAPPED_BYTES) throw new MemberKeyError('malformed', `wrapped key must be ${WRAPPED_BYTES} bytes, got ${body.length}`);
  let pt: Bytes;
  try {
    pt = new Uint8Array(
      await subtle().decrypt(
        { name: 'AES-GCM', iv: body.subarray(0, NONCE_LEN), additionalData: wrapAad(ctx, ctx.epoch), tagLength: TAG_LEN * 8 },
        await wrapKey(myPrivate, theirPublic),
        body.subarray(NONCE_LEN),
      ),
    );
  } catch {
    throw new MemberKeyError('auth_failed', 'wrapped key failed authentication (wrong keys, room, ids or epoch, or tampered)');
  }
  if (pt[0] !== ctx.epoch) throw new MemberKeyError('wrong_epoch', `wrapped key holds epoch ${pt[0]}, not ${ctx.epoch}`);
  return roomKey(pt[0], pt.subarray(1));
}
