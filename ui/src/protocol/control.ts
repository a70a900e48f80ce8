// JSON control messages of docs/protocol.md ("Control messages"), both directions.

export const PROTOCOL_VERSION = 1;

export type Role = 'host' | 'moderator' | 'speaker' | 'viewer';
export const ROLES: readonly Role[] = ['host', 'moderator', 'speaker', 'viewer'];
export type ParticipantId = string;

export interface Participant {
  id: ParticipantId;
  name: string;
  role: Role;
  stream: number;
  muted: boolean;
  self_muted: boolean;
  reconnecting: boolean;
  guest: boolean;
  node: string;
}

export interface ChatMessage {
  id: string | number;
  from: ParticipantId;
  name: string;
  text: string;
  at_ms: number;
}

export interface Settings {
  name: string;
  capacity: number;
  default_role: Role;
  guests_allowed: boolean;
  guests_may_speak: boolean;
}

export interface Snapshot {
  room: string;
  host: string;
  settings: Settings;
  participants: Participant[];
  hands: ParticipantId[];
  chat: ChatMessage[];
  seq: number;
}

export type LeftReason = 'left' | 'kicked' | 'banned' | 'closed' | 'peer_restarted';
export type HandLoweredReason = 'lowered' | 'accepted' | 'dismissed' | 'left';

export type RoomEvent =
  | { kind: 'joined'; participant: Participant }
  | { kind: 'left'; participant: ParticipantId; reason: LeftReason }
  | { kind: 'ghost_removed'; participant: ParticipantId }
  | { kind: 'reconnecting'; participant: ParticipantId }
  | { kind: 'reconnected'; participant: ParticipantId }
  | { kind: 'role_changed'; participant: ParticipantId; role: Role; by: ParticipantId | null }
  | { kind: 'muted'; participant: ParticipantId; muted: boolean; by: ParticipantId | null }
  | { kind: 'self_muted'; participant: ParticipantId; muted: boolean }
  | { kind: 'hand_raised'; participant: ParticipantId }
  | { kind: 'hand_lowered'; participant: ParticipantId; reason: HandLoweredReason }
  | { kind: 'chat'; message: ChatMessage }
  | { kind: 'chat_cleared'; by: ParticipantId | null }
  | { kind: 'settings_changed'; settings: Settings }
  | { kind: 'closed'; by: ParticipantId | null };

export type PresenceEvent =
  | { kind: 'speaking'; participant: ParticipantId; speaking: boolean }
  | { kind: 'typing'; participant: ParticipantId; typing: boolean };

export interface Welcome {
  type: 'welcome';
  room: string;
  host: string;
  participant: ParticipantId;
  stream: number;
  role: Role;
  resume_token: string;
  resumed: boolean;
  seq: number;
  snapshot: Snapshot | null;
}

/** One entry of a room's ban list (`bans`): a node by its name, a guest by its resume token. */
export interface Ban {
  ban_id: string;
  name: string;
  node: string | null;
  guest: boolean;
  banned_ms: number;
}

/** A participant whose speaking indicator is on, as `node.rooms` shows it. */
export interface LobbySpeaker {
  participant: ParticipantId;
  name: string;
  stream: number;
}

/** One room of this node as the `node.rooms` topic shows it (docs/protocol.md, "The lobby"). */
export interface LobbyRoom {
  id: string;
  name: string;
  /** Participants, reconnecting ones included. */
  participants: number;
  capacity: number;
  guests_allowed: boolean;
  created_ms: number;
  /** Who speaks now, in participant order. */
  speaking: LobbySpeaker[];
}

/** The owner's topic of this node's rooms (subscribe it without joining). */
export const NODE_ROOMS_TOPIC = 'node.rooms';

export interface ProtocolErrorMessage {
  type: 'error';
  code: string;
  message: string;
  ref: string | null;
}

export type ServerMessage =
  | Welcome
  | { type: 'event'; room: string; seq: number; event: RoomEvent }
  | { type: 'presence'; room: string; event: PresenceEvent }
  | { type: 'snapshot'; room: string; seq: number; snapshot: Snapshot }
  | { type: 'pong'; t: number; server_ms: number }
  | { type: 'host_status'; room: string; reachable: boolean }
  /** Answer to `list_bans`, to the requester only. */
  | { type: 'bans'; room: string; bans: Ban[] }
  /** Answer to `rotate_invite`, to the requester only: the new invite token. */
  | { type: 'invite'; room: string; invite: string }
  /** Answer to `subscribe` (no `ref`): the room's topics the pattern matched. */
  | { type: 'subscribed'; pattern: string; topics: string[] }
  /** Answer to `unsubscribe` (no `ref`). */
  | { type: 'unsubscribed'; pattern: string }
  /** `node.rooms`: every room of the node, right after a `subscribed` listing `node.rooms`. */
  | { type: 'rooms'; rooms: LobbyRoom[] }
  /** `node.rooms`: a room created or changed (replaces the entry with its id). */
  | { type: 'room_update'; room: LobbyRoom }
  /** `node.rooms`: a room closed. */
  | { type: 'room_closed'; id: string }
  | ProtocolErrorMessage;

export type ClientBody =
  | {
      type: 'join';
      room: string;
      name: string;
      invite?: string;
      host?: string;
      resume?: { token: string; last_seq: number };
    }
  | { type: 'leave' }
  | { type: 'ping'; t: number }
  | { type: 'sync'; last_seq: number }
  | { type: 'chat'; text: string }
  | { type: 'typing' }
  | { type: 'raise_hand' }
  | { type: 'lower_hand' }
  | { type: 'accept_hand'; participant: ParticipantId }
  | { type: 'dismiss_hand'; participant: ParticipantId }
  | { type: 'set_role'; participant: ParticipantId; role: Role }
  | { type: 'mute'; participant: ParticipantId }
  | { type: 'unmute'; participant: ParticipantId }
  | { type: 'mute_all' }
  | { type: 'self_mute'; muted: boolean }
  | { type: 'kick'; participant: ParticipantId }
  | { type: 'ban'; participant: ParticipantId }
  | { type: 'list_bans' }
  | { type: 'unban'; ban_id: string }
  | { type: 'rotate_invite' }
  | { type: 'update_settings'; settings: Partial<Settings> }
  | { type: 'close_room' }
  | { type: 'clear_chat' }
  /** Topics of our room the pattern matches (docs/protocol.md, "Subscriptions"); refused with `invalid_pattern`, `forbidden` or `too_many_subscriptions`. */
  | { type: 'subscribe'; pattern: string }
  | { type: 'unsubscribe'; pattern: string };

/** The topic of one speaker's audio in a room: `room.<id>.audio.<stream>`. */
export function audioTopic(room: string, stream: number): string {
  return `room.${room}.audio.${stream}`;
}

export type ClientMessage = ClientBody & { v: number; ref?: string };

export function encodeClientMessage(body: ClientBody, ref?: string): string {
  const message: ClientMessage = { ...body, v: PROTOCOL_VERSION };
  if (ref !== undefined) message.ref = ref;
  return JSON.stringify(message);
}

const SERVER_TYPES = new Set([
  'welcome',
  'event',
  'presence',
  'snapshot',
  'pong',
  'host_status',
  'bans',
  'invite',
  'subscribed',
  'unsubscribed',
  'rooms',
  'room_update',
  'room_closed',
  'error',
]);

export class ControlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlParseError';
  }
}

/**
 * Parses a server text message. Only the envelope is checked here (JSON object, known type);
 * the server is trusted for field shapes, since it is our own process.
 */
export function parseServerMessage(text: string): ServerMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlParseError(`server sent invalid JSON: ${text.slice(0, 80)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ControlParseError('server message is not a JSON object');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !SERVER_TYPES.has(type)) {
    throw new ControlParseError(`unknown server message type ${JSON.stringify(type)}`);
  }
  return value as ServerMessage;
}
