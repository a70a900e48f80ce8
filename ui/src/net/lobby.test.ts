import { describe, expect, it } from 'vitest';
import type { LobbyRoom, ServerMessage } from '../protocol/control';
import { applyLobbyMessage, EMPTY_LOBBY, lobbyRooms, lobbyUnsynced, someoneSpeaks, type LobbyState } from './lobby';

const room = (id: string, patch: Partial<LobbyRoom> = {}): LobbyRoom => ({
  id,
  name: `Room ${id}`,
  participants: 0,
  capacity: 50,
  guests_allowed: false,
  created_ms: 1,
  speaking: [],
  ...patch,
});

const apply = (state: LobbyState, ...messages: ServerMessage[]) => messages.reduce(applyLobbyMessage, state);

describe('lobby reducer', () => {
  it('rooms replaces the list; room_update sets one room; room_closed drops one', () => {
    let s = apply(EMPTY_LOBBY, { type: 'rooms', rooms: [room('a'), room('b')] });
    expect(s.synced).toBe(true);
    expect(Object.keys(s.rooms)).toEqual(['a', 'b']);
    s = apply(s, { type: 'room_update', room: room('a', { participants: 2 }) }, { type: 'room_update', room: room('c', { created_ms: 5 }) });
    expect(s.rooms.a.participants).toBe(2);
    expect(lobbyRooms(s).map((r) => r.id)).toEqual(['c', 'a', 'b']);
    s = apply(s, { type: 'room_closed', id: 'b' });
    expect(Object.keys(s.rooms).sort()).toEqual(['a', 'c']);
    // A full list again (after a reconnect) forgets what it does not hold.
    s = apply(lobbyUnsynced(s), { type: 'rooms', rooms: [room('c')] });
    expect(s).toEqual({ rooms: { c: room('c') }, synced: true });
  });

  it('a speaking ring for rooms where someone speaks', () => {
    const s = apply(EMPTY_LOBBY, {
      type: 'rooms',
      rooms: [room('a', { participants: 1, speaking: [{ participant: 'p1', name: 'Gina', stream: 1 }] }), room('b')],
    });
    expect(someoneSpeaks(s.rooms.a)).toBe(true);
    expect(someoneSpeaks(s.rooms.b)).toBe(false);
    const quiet = apply(s, { type: 'room_update', room: room('a', { participants: 1 }) });
    expect(someoneSpeaks(quiet.rooms.a)).toBe(false);
  });

  it('other messages, and closing an unknown room, change nothing', () => {
    const s = apply(EMPTY_LOBBY, { type: 'rooms', rooms: [room('a')] });
    expect(applyLobbyMessage(s, { type: 'pong', t: 1, server_ms: 2 })).toBe(s);
    expect(applyLobbyMessage(s, { type: 'room_closed', id: 'zz' })).toBe(s);
    expect(lobbyUnsynced(EMPTY_LOBBY)).toBe(EMPTY_LOBBY);
  });
});
