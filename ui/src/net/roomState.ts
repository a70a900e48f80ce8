// The room as this client knows it, rebuilt from welcome/snapshot and kept by events in seq
// order. Pure, so resume (replayed events, duplicates, gaps) can be tested without a socket.

import type {
  Ban,
  ChatMessage,
  Participant,
  ParticipantId,
  PresenceEvent,
  Role,
  RoomEvent,
  ServerMessage,
  Settings,
  Snapshot,
} from '../protocol/control';

export const CHAT_LIMIT = 500;
export const TYPING_MS = 5000;

export type Ended =
  | { why: 'closed'; by: ParticipantId | null }
  | { why: 'kicked' }
  /** Removed and kept out: a join is refused with `banned` from now on. */
  | { why: 'banned' }
  | { why: 'removed'; reason: string };

export interface RoomState {
  room: string;
  host: string;
  me: ParticipantId;
  stream: number;
  resumeToken: string;
  /** Seq of the last event applied; the resume point. */
  seq: number;
  settings: Settings;
  participants: Participant[];
  hands: ParticipantId[];
  chat: ChatMessage[];
  /** participant → time its typing indicator expires. */
  typingUntil: Record<ParticipantId, number>;
  speaking: Record<ParticipantId, boolean>;
  hostReachable: boolean;
  ended: Ended | null;
  /** The room's ban list as last answered to our `list_bans` (Host/Moderator); absent until asked. */
  bans?: Ban[];
  /** The invite token our last `rotate_invite` made; absent until we rotated it. */
  invite?: string;
}

export interface Applied {
  state: RoomState | null;
  /** The events jumped past a gap: ask the server with `sync` from this seq. */
  syncFrom?: number;
}

function fromSnapshot(base: Omit<RoomState, keyof SnapshotPart>, snapshot: Snapshot): RoomState {
  return {
    ...base,
    room: snapshot.room,
    host: snapshot.host,
    seq: snapshot.seq,
    settings: snapshot.settings,
    participants: snapshot.participants,
    hands: snapshot.hands,
    chat: snapshot.chat.slice(-CHAT_LIMIT),
  };
}

type SnapshotPart = Pick<RoomState, 'room' | 'host' | 'seq' | 'settings' | 'participants' | 'hands' | 'chat'>;

function patchParticipant(state: RoomState, id: ParticipantId, patch: Partial<Participant>): RoomState {
  return {
    ...state,
    participants: state.participants.map((p) => (p.id === id ? { ...p, ...patch } : p)),
  };
}

function removeParticipant(state: RoomState, id: ParticipantId): RoomState {
  const typingUntil = { ...state.typingUntil };
  delete typingUntil[id];
  const speaking = { ...state.speaking };
  delete speaking[id];
  return {
    ...state,
    participants: state.participants.filter((p) => p.id !== id),
    hands: state.hands.filter((h) => h !== id),
    typingUntil,
    speaking,
  };
}

export function applyEvent(state: RoomState, event: RoomEvent): RoomState {
  switch (event.kind) {
    case 'joined': {
      const others = state.participants.filter((p) => p.id !== event.participant.id);
      return { ...state, participants: [...others, event.participant] };
    }
    case 'left': {
      const next = removeParticipant(state, event.participant);
      if (event.participant !== state.me) return next;
      const ended: Ended =
        event.reason === 'kicked'
          ? { why: 'kicked' }
          : event.reason === 'banned'
            ? { why: 'banned' }
            : event.reason === 'closed'
              ? { why: 'closed', by: null }
              : { why: 'removed', reason: event.reason };
      return { ...next, ended };
    }
    case 'ghost_removed': {
      const next = removeParticipant(state, event.participant);
      return event.participant === state.me ? { ...next, ended: { why: 'removed', reason: 'timed out' } } : next;
    }
    case 'reconnecting':
      return patchParticipant(state, event.participant, { reconnecting: true });
    case 'reconnected':
      return patchParticipant(state, event.participant, { reconnecting: false });
    case 'role_changed':
      return patchParticipant(state, event.participant, { role: event.role });
    case 'muted':
      return patchParticipant(state, event.participant, { muted: event.muted });
    case 'self_muted':
      return patchParticipant(state, event.participant, { self_muted: event.muted });
    case 'hand_raised':
      return state.hands.includes(event.participant)
        ? state
        : { ...state, hands: [...state.hands, event.participant] };
    case 'hand_lowered':
      return { ...state, hands: state.hands.filter((h) => h !== event.participant) };
    case 'chat': {
      const typingUntil = { ...state.typingUntil };
      delete typingUntil[event.message.from];
      return { ...state, chat: [...state.chat, event.message].slice(-CHAT_LIMIT), typingUntil };
    }
    case 'chat_cleared':
      return { ...state, chat: [] };
    case 'settings_changed':
      return { ...state, settings: event.settings };
    case 'closed':
      return { ...state, ended: { why: 'closed', by: event.by } };
    case 'key_announced':
      return patchParticipant(state, event.participant, { e2ee: { public_key: event.public_key, proof: event.proof } });
  }
}

export function applyPresence(state: RoomState, event: PresenceEvent, nowMs: number): RoomState {
  if (event.kind === 'speaking') {
    return { ...state, speaking: { ...state.speaking, [event.participant]: event.speaking } };
  }
  const typingUntil = { ...state.typingUntil };
  if (event.typing) typingUntil[event.participant] = nowMs + TYPING_MS;
  else delete typingUntil[event.participant];
  return { ...state, typingUntil };
}

export function typingNames(state: RoomState, nowMs: number): string[] {
  return state.participants
    .filter((p) => p.id !== state.me && (state.typingUntil[p.id] ?? 0) > nowMs)
    .map((p) => p.name);
}

/** Applies one server message; messages that do not change room state give it back unchanged. */
export function applyServerMessage(state: RoomState | null, message: ServerMessage, nowMs: number): Applied {
  switch (message.type) {
    case 'welcome': {
      const mine = {
        me: message.participant,
        stream: message.stream,
        resumeToken: message.resume_token,
        typingUntil: {},
        speaking: {},
        hostReachable: true,
        ended: null,
      };
      if (message.snapshot) return { state: fromSnapshot(mine, message.snapshot) };
      if (!state || !message.resumed) {
        throw new Error('welcome without a snapshot for a client that has no room state');
      }
      // Resumed: keep what we had; the missed events follow and move seq forward.
      return { state: { ...state, ...mine, typingUntil: state.typingUntil, speaking: state.speaking } };
    }
    case 'snapshot': {
      if (!state) return { state };
      return { state: fromSnapshot(state, message.snapshot) };
    }
    case 'event': {
      if (!state) return { state };
      if (message.seq <= state.seq) return { state };
      if (message.seq > state.seq + 1) return { state, syncFrom: state.seq };
      return { state: { ...applyEvent(state, message.event), seq: message.seq } };
    }
    case 'presence':
      return { state: state ? applyPresence(state, message.event, nowMs) : state };
    case 'host_status':
      return { state: state ? { ...state, hostReachable: message.reachable } : state };
    case 'bans':
      return { state: state && message.room === state.room ? { ...state, bans: message.bans } : state };
    case 'invite':
      return { state: state && message.room === state.room ? { ...state, invite: message.invite } : state };
    default:
      return { state };
  }
}

/**
 * A room saved by an earlier page of this tab, if it looks like one: the base for resuming
 * after a reload. Ephemeral parts (typing, speaking) are not carried over.
 */
export function restoreRoomState(saved: unknown): RoomState | null {
  if (!saved || typeof saved !== 'object') return null;
  const s = saved as Partial<RoomState>;
  const ok =
    typeof s.room === 'string' &&
    typeof s.me === 'string' &&
    typeof s.resumeToken === 'string' &&
    typeof s.seq === 'number' &&
    Array.isArray(s.participants) &&
    Array.isArray(s.hands) &&
    Array.isArray(s.chat) &&
    !!s.settings &&
    s.ended == null;
  if (!ok) return null;
  return { ...(s as RoomState), typingUntil: {}, speaking: {}, hostReachable: true, ended: null };
}

export function me(state: RoomState): Participant | undefined {
  return state.participants.find((p) => p.id === state.me);
}

const RANK: Record<Role, number> = { host: 3, moderator: 2, speaker: 1, viewer: 0 };

export function rank(role: Role): number {
  return RANK[role];
}

export function canModerate(actor: Role, target: Role): boolean {
  return (actor === 'host' || actor === 'moderator') && RANK[actor] > RANK[target];
}

export function maySpeak(role: Role): boolean {
  return role !== 'viewer';
}
