// What a person pasted when asked for an invite: a full invite link (any node's page of the
// room), a room address with its invite (room@node?invite=token), or the bare token. Gives
// the room to open next.

import { parseRoomTarget, RoomTargetError, type RoomTarget } from './roomTarget';

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export function targetFromInvite(input: string, current: RoomTarget): RoomTarget {
  const text = input.trim();
  if (text === '') throw new RoomTargetError('Paste the invite link the host gave you.');
  if (/^https?:\/\//i.test(text) || text.startsWith('/')) {
    const pasted = parseRoomTarget(text);
    if (!pasted.invite) throw new RoomTargetError('That link has no invite in it (…?invite=…); ask the host for an invite link.');
    // A guest link names no node; for this room it is the node we were already trying.
    if (!pasted.host && pasted.room === current.room && current.host) pasted.host = current.host;
    return pasted;
  }
  if (text.includes('@') && text.includes('?')) {
    // The room address "Copy room@node" gives: room@node?invite=token.
    const pasted = parseRoomTarget(text);
    if (!pasted.invite) throw new RoomTargetError('That address has no invite in it (…?invite=…); ask the host for one.');
    return pasted;
  }
  if (!TOKEN.test(text)) throw new RoomTargetError('That is neither an invite link nor an invite token.');
  return { ...current, invite: text };
}
