// Where a room lives: a room id, and the node hosting it when that is not our node.
// Accepted forms: "id", "id@node", "id@node?invite=token" (what "Copy room@node" gives), a room
// path "/room/id@node", or a full invite link ".../room/id?invite=token&node=host". Any of them
// may end in "#k=<epoch>.<secret>", the key of an end-to-end encrypted room: it stays in the
// fragment, which a browser never sends to a node (crypto/inviteKey.ts reads it).

export interface RoomTarget {
  room: string;
  host?: string;
  invite?: string;
  /** The room key from the link's fragment (`k=` value, unparsed), for an end-to-end encrypted room. */
  key?: string;
}

const KEY_TEXT = /^[A-Za-z0-9_.-]{1,128}$/;

/** The `k=` value of a fragment ("#k=…" or "k=…"), or undefined when there is none. */
export function keyFromFragment(fragment: string): string | undefined {
  const text = fragment.startsWith('#') ? fragment.slice(1) : fragment;
  if (text === '') return undefined;
  const key = new URLSearchParams(text).get('k');
  if (key === null) return undefined;
  if (!KEY_TEXT.test(key)) throw new RoomTargetError('The room key in that link is damaged; ask for the invite link again.');
  return key;
}

function splitFragment(text: string): { rest: string; key?: string } {
  const hash = text.indexOf('#');
  if (hash < 0) return { rest: text };
  const key = keyFromFragment(text.slice(hash));
  return key === undefined ? { rest: text.slice(0, hash) } : { rest: text.slice(0, hash), key };
}

function withKey(target: RoomTarget, key: string | undefined): RoomTarget {
  return key === undefined ? target : { ...target, key };
}

/** "#k=…" for a target that carries a key, else "". */
export function keyFragment(target: { key?: string | null }): string {
  return target.key ? `#k=${target.key}` : '';
}

const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const NODE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

export class RoomTargetError extends Error {}

function parseRef(ref: string): RoomTarget {
  const at = ref.indexOf('@');
  const room = at < 0 ? ref : ref.slice(0, at);
  const host = at < 0 ? undefined : ref.slice(at + 1).toLowerCase();
  if (!ROOM_ID.test(room)) throw new RoomTargetError(`"${room}" is not a room id (letters, digits, - and _).`);
  if (host !== undefined && !NODE.test(host)) throw new RoomTargetError(`"${host}" is not a node name (like alice.os).`);
  return host === undefined ? { room } : { room, host };
}

export function parseRoomTarget(input: string): RoomTarget {
  const trimmed = input.trim();
  if (trimmed === '') throw new RoomTargetError('Enter a room as room@node, or paste an invite link.');
  const { rest: text, key } = splitFragment(trimmed);
  return withKey(parseWithoutFragment(text), key);
}

function parseWithoutFragment(text: string): RoomTarget {
  if (text === '') throw new RoomTargetError('Enter a room as room@node, or paste an invite link.');
  if (/^https?:\/\//i.test(text) || text.startsWith('/')) {
    let url: URL;
    try {
      url = new URL(text, 'http://placeholder');
    } catch {
      throw new RoomTargetError('That link is not a valid URL.');
    }
    const match = /\/room\/([^/?#]+)\/?$/.exec(url.pathname);
    if (!match) throw new RoomTargetError('That link does not point at a room (…/room/<id>).');
    const target = parseRef(decodeURIComponent(match[1]));
    const node = url.searchParams.get('node');
    if (node && !target.host) {
      if (!NODE.test(node)) throw new RoomTargetError(`"${node}" is not a node name (like alice.os).`);
      target.host = node;
    }
    const invite = url.searchParams.get('invite');
    if (invite) target.invite = invite;
    return target;
  }
  const query = text.indexOf('?');
  if (query < 0) return parseRef(text);
  const target = parseRef(text.slice(0, query));
  const invite = new URLSearchParams(text.slice(query + 1)).get('invite');
  if (!invite) throw new RoomTargetError('After the room, only ?invite=<token> may follow.');
  return { ...target, invite };
}

/**
 * What another node's user pastes to get in: "id@node", with "?invite=token" when there is one
 * (a node that was never admitted needs it). parseRoomTarget reads it back.
 */
export function roomAddress(target: { room: string; host: string; invite?: string | null; key?: string | null }): string {
  const address = `${target.room}@${target.host}`;
  return (target.invite ? `${address}?invite=${encodeURIComponent(target.invite)}` : address) + keyFragment(target);
}

/** The path of our own UI for a target: /room/id or /room/id@host (+ invite). */
export function roomPath(target: RoomTarget, ourNode?: string): string {
  const remote = target.host && target.host !== ourNode;
  const path = `/room/${encodeURIComponent(target.room)}${remote ? `@${target.host}` : ''}`;
  return (target.invite ? `${path}?invite=${encodeURIComponent(target.invite)}` : path) + keyFragment(target);
}
