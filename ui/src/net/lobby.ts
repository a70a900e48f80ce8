// The owner's lobby: the node's rooms as the `node.rooms` topic keeps them (docs/protocol.md,
// "The lobby: node.rooms"). A pure reducer: `rooms` replaces the list, `room_update` sets one
// room, `room_closed` drops one; anything else leaves the state as it was (same object).

import type { LobbyRoom, ServerMessage } from '../protocol/control';

export interface LobbyState {
  /** The rooms by id. */
  readonly rooms: Readonly<Record<string, LobbyRoom>>;
  /** A full list (`rooms`) has arrived on the current socket. */
  readonly synced: boolean;
}

export const EMPTY_LOBBY: LobbyState = { rooms: {}, synced: false };

export function applyLobbyMessage(state: LobbyState, message: ServerMessage): LobbyState {
  switch (message.type) {
    case 'rooms':
      return { rooms: Object.fromEntries(message.rooms.map((room) => [room.id, room])), synced: true };
    case 'room_update':
      return { ...state, rooms: { ...state.rooms, [message.room.id]: message.room } };
    case 'room_closed': {
      if (!(message.id in state.rooms)) return state;
      const rooms = { ...state.rooms };
      delete rooms[message.id];
      return { ...state, rooms };
    }
    default:
      return state;
  }
}

/** The socket dropped: the rooms stay on screen until the next full list replaces them. */
export function lobbyUnsynced(state: LobbyState): LobbyState {
  return state.synced ? { ...state, synced: false } : state;
}

/** The rooms newest first (then by id, so the order is stable). */
export function lobbyRooms(state: LobbyState): LobbyRoom[] {
  return Object.values(state.rooms).sort((a, b) => b.created_ms - a.created_ms || a.id.localeCompare(b.id));
}

/** Whether someone in the room speaks now. */
export function someoneSpeaks(room: LobbyRoom): boolean {
  return room.speaking.length > 0;
}
