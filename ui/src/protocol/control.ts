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
  /**
   * What it announced with `e2ee_hello` in an end-to-end encrypted room, or null. Absent from
   * nodes older than end-to-end encryption: read it with `announced(p)`, which treats absent as null.
   */
  e2ee?: E2eeAnnounce | null;
}

/** A participant's public key and its proof of holding the room key (opaque to the nodes). */
export interface E2eeAnnounce {
  public_key: string;
  proof: string;
}

/** A participant's `e2ee` field, null when absent (older nodes) or not announced. */
export function announced(p: Participant): E2eeAnnounce | null {
  return p.e2ee ?? null;
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
  /** End-to-end encrypted room: fixed at creation. Absent (older nodes) means false. */
  e2ee?: boolean;
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
  | { kind: 'closed'; by: ParticipantId | null }
  /** A participant announced (or changed) its end-to-end public key and proof. */
  | { kind: 'key_announced'; participant: ParticipantId; public_key: string; proof: string };

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
  /** End-to-end encrypted room (absent from older nodes: false). */
  e2ee?: boolean;
  created_ms: number;
  /** Who speaks now, in participant order. */
  speaking: LobbySpeaker[];
}

/** The owner's topic of this node's rooms (subscribe it without joining). */
export const NODE_ROOMS_TOPIC = 'node.rooms';

/** A room key wrapped for us by participant `from` (its `e2ee_keys`), to us only. */
export interface E2eeKeyMessage {
  type: 'e2ee_key';
  room: string;
  epoch: number;
  from: ParticipantId;
  wrapped: string;
}

/** One entry of `e2ee_keys`: a room key wrapped for participant `to`. */
export interface WrappedKey {
  to: ParticipantId;
  wrapped: string;
}

/**
 * Error codes of end-to-end encrypted rooms: `e2ee_off` (an e2ee message in a clear room),
 * `e2ee_required` (a clear chat text in an e2ee room), `invalid_e2ee` (a malformed
 * `e2ee_hello` / `e2ee_keys`).
 */
export const E2EE_ERROR_CODES = ['e2ee_off', 'e2ee_required', 'invalid_e2ee'] as const;
export type E2eeErrorCode = (typeof E2EE_ERROR_CODES)[number];

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
  | E2eeKeyMessage
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
  | { type: 'unsubscribe'; pattern: string }
  /** Our public key and proof (e2ee rooms); refused with `e2ee_off` or `invalid_e2ee`. */
  | { type: 'e2ee_hello'; public_key: string; proof: string }
  /** A room key wrapped for each addressee (Host, Moderator); refused with `forbidden`, `e2ee_off`, `invalid_e2ee` or `participant_not_found`. */
  | { type: 'e2ee_keys'; epoch: number; keys: WrappedKey[] };

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
  'e2ee_key',
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
