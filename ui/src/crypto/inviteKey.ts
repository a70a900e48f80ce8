// The room key as an invite link carries it: in the URL fragment, which a browser never sends to
// a node.
//
//   …/room/<id>?invite=<token>#k=<epoch>.<base64url of the 32-byte room secret>
//
// `formatInviteKey` writes "#k=…"; `parseInviteKey` reads the key back from any of the forms a
// person or the page may hold: the bare value ("3.AbC…"), "k=3.AbC…", "#k=3.AbC…", or a whole
// pasted link or room address that ends in such a fragment (other fragment parameters are
// allowed beside `k`). Errors say what is wrong, for the page to show as is.

import { fromBase64Url, toBase64Url } from './bytes';
import { ROOM_SECRET_LEN } from './kdf';
import { roomKey, type RoomKey } from './roomKey';

export class InviteKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InviteKeyError';
  }
}

const DAMAGED = 'The room key in that link is damaged; ask for the invite link again';

/** "<epoch>.<base64url secret>": the value of `k`. */
export function inviteKeyText(key: RoomKey): string {
  return `${key.epoch}.${toBase64Url(key.secret)}`;
}

/** "#k=<epoch>.<base64url secret>", to append to a link. */
export function formatInviteKey(key: RoomKey): string {
  return `#k=${inviteKeyText(key)}`;
}

/** The `k` value in `text` (see the top of the file), undefined when there is none. */
function keyValue(text: string): string | undefined {
  const trimmed = text.trim();
  const hash = trimmed.indexOf('#');
  if (hash >= 0) return new URLSearchParams(trimmed.slice(hash + 1)).get('k') ?? undefined;
  if (trimmed.startsWith('k=')) return trimmed.slice(2);
  // A bare value starts with its epoch and a dot; anything else (a room id, an address, a link
  // without a fragment) carries no key.
  return /^[0-9]+\.[^/?=@\s]*$/.test(trimmed) ? trimmed : undefined;
}

/** The value of `k` ("<epoch>.<base64url>") as a room key; throws InviteKeyError saying what is wrong. */
function parseValue(value: string): RoomKey {
  const dot = value.indexOf('.');
  if (dot < 0) throw new InviteKeyError(`${DAMAGED} (no key epoch before a '.').`);
  const epochText = value.slice(0, dot);
  const secretText = value.slice(dot + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(epochText) || Number(epochText) > 0xff) {
    throw new InviteKeyError(`${DAMAGED} (the key epoch ${JSON.stringify(epochText)} is not a number 0..255).`);
  }
  let secret: Uint8Array;
  try {
    secret = fromBase64Url(secretText);
  } catch {
    throw new InviteKeyError(`${DAMAGED} (the key is not base64url).`);
  }
  if (secret.length !== ROOM_SECRET_LEN) {
    throw new InviteKeyError(`${DAMAGED} (the key is ${secret.length} bytes, not ${ROOM_SECRET_LEN}; part of the link may be cut off).`);
  }
  return roomKey(Number(epochText), secret);
}

/**
 * The room key in `text`, or null when `text` carries none (a link without a `#k=`). Throws
 * InviteKeyError when it carries one that is malformed.
 */
export function findInviteKey(text: string): RoomKey | null {
  const value = keyValue(text);
  return value === undefined ? null : parseValue(value);
}

/** The room key in `text`; throws InviteKeyError when there is none or it is malformed. */
export function parseInviteKey(text: string): RoomKey {
  const key = findInviteKey(text);
  if (!key) {
    throw new InviteKeyError('That link has no room key (#k=…); this room is end-to-end encrypted: ask for a full invite link.');
  }
  return key;
}
