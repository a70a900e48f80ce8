import { describe, expect, it } from 'vitest';
import { announced, type Participant, type RoomEvent, type ServerMessage, type Snapshot, type Welcome } from '../protocol/control';
import { applyServerMessage, canModerate, restoreRoomState, typingNames, type RoomState } from './roomState';

const person = (id: string, role: Participant['role'] = 'speaker'): Participant => ({
  id,
  name: id.toUpperCase(),
  role,
  stream: id.charCodeAt(0),
  muted: false,
  self_muted: false,
  reconnecting: false,
  guest: false,
  node: 'alice.os',
});

const snapshot: Snapshot = {
  room: 'r1',
  host: 'alice.os',
  settings: { name: 'Standup', capacity: 50, default_role: 'speaker', guests_allowed: false, guests_may_speak: false },
  participants: [person('a', 'host'), person('b')],
  hands: [],
  chat: [],
  seq: 10,
};

const welcome = (over: Partial<Welcome> = {}): Welcome => ({
  type: 'welcome',
  room: 'r1',
  host: 'alice.os',
  participant: 'b',
  stream: 98,
  role: 'speaker',
  resume_token: 'tok1',
  resumed: false,
  seq: 10,
  snapshot,
  ...over,
});

const ev = (seq: number, event: RoomEvent): ServerMessage => ({ type: 'event', room: 'r1', seq, event });

function run(messages: ServerMessage[], start: RoomState | null = null): { state: RoomState; syncs: number[] } {
  let state = start;
  const syncs: number[] = [];
  for (const m of messages) {
    const applied = applyServerMessage(state, m, 0);
    state = applied.state;
    if (applied.syncFrom !== undefined) syncs.push(applied.syncFrom);
  }
  return { state: state!, syncs };
}

describe('room state', () => {
  it('starts from the welcome snapshot', () => {
    const { state } = run([welcome()]);
    expect(state.me).toBe('b');
    expect(state.seq).toBe(10);
    expect(state.resumeToken).toBe('tok1');
    expect(state.participants.map((p) => p.id)).toEqual(['a', 'b']);
  });

  it('keeps the e2ee setting and announced keys from snapshots, and applies key_announced', () => {
    const announcedA = { public_key: 'PA', proof: '0.pa' };
    const e2eeSnapshot: Snapshot = {
      ...snapshot,
      settings: { ...snapshot.settings, e2ee: true },
      participants: [{ ...person('a', 'host'), e2ee: announcedA }, { ...person('b'), e2ee: null }],
    };
    const { state } = run([
      welcome({ snapshot: e2eeSnapshot }),
      ev(11, { kind: 'key_announced', participant: 'b', public_key: 'PB', proof: '0.pb' }),
      ev(12, { kind: 'key_announced', participant: 'a', public_key: 'PA', proof: '1.pa2' }),
    ]);
    expect(state.settings.e2ee).toBe(true);
    expect(state.participants.map((p) => [p.id, p.e2ee])).toEqual([
      ['a', { public_key: 'PA', proof: '1.pa2' }],
      ['b', { public_key: 'PB', proof: '0.pb' }],
    ]);
    // A later snapshot replaces them (a node that restarted forgot them).
    const again = run([{ type: 'snapshot', room: 'r1', seq: 20, snapshot: { ...e2eeSnapshot, seq: 20 } }], state).state;
    expect(again.participants.map((p) => p.e2ee)).toEqual([announcedA, null]);
  });

  it('reads a participant without e2ee (an older node) as not announced', () => {
    const { state } = run([welcome()]);
    expect(state.participants.map(announced)).toEqual([null, null]);
    expect(state.settings.e2ee ?? false).toBe(false);
  });

  it('applies events in seq order and ignores replays it already has', () => {
    const joined = ev(11, { kind: 'joined', participant: person('c') });
    const { state, syncs } = run([welcome(), joined, ev(12, { kind: 'hand_raised', participant: 'c' }), joined]);
    expect(state.seq).toBe(12);
    expect(state.participants.map((p) => p.id)).toEqual(['a', 'b', 'c']);
    expect(state.hands).toEqual(['c']);
    expect(syncs).toEqual([]);
  });

  it('asks for a sync when it sees a gap, and does not apply past it', () => {
    const { state, syncs } = run([welcome(), ev(13, { kind: 'joined', participant: person('c') })]);
    expect(syncs).toEqual([10]);
    expect(state.seq).toBe(10);
    expect(state.participants).toHaveLength(2);
  });

  it('resumes without a snapshot: keeps the room and fills in the missed events', () => {
    const first = run([welcome(), ev(11, { kind: 'chat', message: { id: 1, from: 'a', name: 'A', text: 'hi', at_ms: 1 } })]);
    const resumed = run(
      [
        welcome({ resumed: true, snapshot: null, seq: 13, resume_token: 'tok2' }),
        ev(12, { kind: 'chat', message: { id: 2, from: 'a', name: 'A', text: 'missed', at_ms: 2 } }),
        ev(13, { kind: 'role_changed', participant: 'b', role: 'moderator', by: 'a' }),
      ],
      first.state,
    );
    expect(resumed.state.chat.map((c) => c.text)).toEqual(['hi', 'missed']);
    expect(resumed.state.resumeToken).toBe('tok2');
    expect(resumed.state.seq).toBe(13);
    expect(resumed.state.participants.find((p) => p.id === 'b')?.role).toBe('moderator');
  });

  it('refuses a resume welcome when it has nothing to resume', () => {
    expect(() => applyServerMessage(null, welcome({ resumed: true, snapshot: null }), 0)).toThrow(/snapshot/);
  });

  it('replaces everything on a snapshot after falling too far behind', () => {
    const { state } = run([
      welcome(),
      { type: 'snapshot', room: 'r1', seq: 40, snapshot: { ...snapshot, seq: 40, participants: [person('a', 'host')] } },
    ]);
    expect(state.seq).toBe(40);
    expect(state.participants.map((p) => p.id)).toEqual(['a']);
  });

  it('ends the room for me when I am kicked or banned, or when it closes', () => {
    expect(run([welcome(), ev(11, { kind: 'left', participant: 'b', reason: 'kicked' })]).state.ended).toEqual({ why: 'kicked' });
    expect(run([welcome(), ev(11, { kind: 'left', participant: 'b', reason: 'banned' })]).state.ended).toEqual({ why: 'banned' });
    const other = run([welcome(), ev(11, { kind: 'left', participant: 'a', reason: 'banned' })]).state;
    expect(other.ended).toBeNull();
    expect(other.participants.map((p) => p.id)).toEqual(['b']);
    expect(run([welcome(), ev(11, { kind: 'closed', by: 'a' })]).state.ended).toEqual({ why: 'closed', by: 'a' });
    expect(run([welcome(), ev(11, { kind: 'left', participant: 'a', reason: 'left' })]).state.ended).toBeNull();
  });

  it('keeps the ban list and the rotated invite answered to us, for this room only', () => {
    const ban = { ban_id: 'b1', name: 'Bob', node: 'bob.os', guest: false, banned_ms: 5 };
    const { state } = run([
      welcome(),
      { type: 'bans', room: 'r1', bans: [ban] },
      { type: 'invite', room: 'r1', invite: 'new-tok' },
      { type: 'bans', room: 'other', bans: [] },
      { type: 'invite', room: 'other', invite: 'not-ours' },
    ]);
    expect(state.bans).toEqual([ban]);
    expect(state.invite).toBe('new-tok');
    expect(run([{ type: 'bans', room: 'r1', bans: [ban] }]).state).toBeNull();
  });

  it('tracks moderation, hands, reconnecting and chat clearing', () => {
    const { state } = run([
      welcome(),
      ev(11, { kind: 'muted', participant: 'b', muted: true, by: 'a' }),
      ev(12, { kind: 'hand_raised', participant: 'b' }),
      ev(13, { kind: 'hand_lowered', participant: 'b', reason: 'accepted' }),
      ev(14, { kind: 'reconnecting', participant: 'a' }),
      ev(15, { kind: 'chat', message: { id: 1, from: 'a', name: 'A', text: 'x', at_ms: 1 } }),
      ev(16, { kind: 'chat_cleared', by: 'a' }),
    ]);
    expect(state.participants.find((p) => p.id === 'b')?.muted).toBe(true);
    expect(state.participants.find((p) => p.id === 'a')?.reconnecting).toBe(true);
    expect(state.hands).toEqual([]);
    expect(state.chat).toEqual([]);
  });

  it('shows typing until it expires or the person sends the message', () => {
    let { state } = run([welcome()]);
    state = applyServerMessage(state, { type: 'presence', room: 'r1', event: { kind: 'typing', participant: 'a', typing: true } }, 1000).state!;
    expect(typingNames(state, 2000)).toEqual(['A']);
    expect(typingNames(state, 7000)).toEqual([]);
    state = run([ev(11, { kind: 'chat', message: { id: 1, from: 'a', name: 'A', text: 'x', at_ms: 1 } })], state).state;
    expect(typingNames(state, 2000)).toEqual([]);
  });
});

describe('canModerate', () => {
  it('lets only Host and Moderator act, and only on lower ranks', () => {
    expect(canModerate('host', 'moderator')).toBe(true);
    expect(canModerate('moderator', 'speaker')).toBe(true);
    expect(canModerate('moderator', 'moderator')).toBe(false);
    expect(canModerate('speaker', 'viewer')).toBe(false);
  });
});

describe('restoreRoomState', () => {
  it('takes back a saved room through JSON, without the ephemeral parts', () => {
    const { state } = run([welcome()]);
    const saved = JSON.parse(JSON.stringify({ ...state, typingUntil: { a: 99 }, speaking: { a: true } }));
    const restored = restoreRoomState(saved)!;
    expect(restored.participants).toEqual(state.participants);
    expect(restored.resumeToken).toBe('tok1');
    expect(restored.typingUntil).toEqual({});
    expect(restored.speaking).toEqual({});
  });

  it('refuses anything that is not a live room', () => {
    const { state } = run([welcome()]);
    expect(restoreRoomState(null)).toBeNull();
    expect(restoreRoomState('x')).toBeNull();
    expect(restoreRoomState({ ...state, seq: 'x' })).toBeNull();
    expect(restoreRoomState({ ...state, ended: { why: 'kicked' } })).toBeNull();
  });
});
