// Where a room lives: a room id, and the node hosting it when that is not our node.
// Accepted forms: "id", "id@node", "id@node?invite=token" (what "Copy room@node" gives), a room
// path "/room/id@node", or a full invite link ".../room/id?invite=token&node=host".

export interface RoomTarget {
  room: string;
  host?: string;
  invite?: string;
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
  const text = input.trim();
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
export function roomAddress(target: { room: string; host: string; invite?: string | null }): string {
  const address = `${target.room}@${target.host}`;
  return target.invite ? `${address}?invite=${encodeURIComponent(target.invite)}` : address;
}

/** The path of our own UI for a target: /room/id or /room/id@host (+ invite). */
export function roomPath(target: RoomTarget, ourNode?: string): string {
  const remote = target.host && target.host !== ourNode;
  const path = `/room/${encodeURIComponent(target.room)}${remote ? `@${target.host}` : ''}`;
  return target.invite ? `${path}?invite=${encodeURIComponent(target.invite)}` : path;
}
