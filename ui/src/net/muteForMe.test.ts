import { describe, expect, it } from 'vitest';
import type { Participant } from '../protocol/control';
import { MuteForMe } from './muteForMe';
import type { RoomState } from './roomState';

const person = (id: string, stream: number): Participant => ({
  id,
  name: id.toUpperCase(),
  role: 'speaker',
  stream,
  muted: false,
  self_muted: false,
  reconnecting: false,
  guest: false,
  node: 'alice.os',
});

function room(participants: Participant[], extra: Partial<RoomState> = {}): RoomState {
  return {
    room: 'r1',
    host: 'alice.os',
    me: 'me',
    stream: 1,
    resumeToken: 't',
    seq: 1,
    settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: false, guests_may_speak: false },
    participants: [person('me', 1), ...participants],
    hands: [],
    chat: [],
    typingUntil: {},
    speaking: {},
    hostReachable: true,
    ended: null,
    ...extra,
  };
}

const brief = (ops: { type: string; pattern: string }[]) => ops.map((o) => `${o.type} ${o.pattern}`);

/** Plans and records each op as sent with refs r1, r2, …; returns them briefly. */
function send(m: MuteForMe, state: RoomState, refs: string[] = []) {
  const ops = m.plan(state);
  ops.forEach((op, i) => m.sent(refs[i] ?? `r${i + 1}`, op));
  return brief(ops);
}

describe('MuteForMe', () => {
  it('unsubscribes the chosen participant’s stream, once, and subscribes it again when unchosen', () => {
    const m = new MuteForMe();
    const s = room([person('a', 7), person('b', 8)]);
    expect(send(m, s)).toEqual([]);
    m.choose('a', true);
    expect(send(m, s, ['c1'])).toEqual(['unsubscribe room.r1.audio.7']);
    expect(m.status(s)).toEqual({ a: 'pending' });
    expect(send(m, s)).toEqual([]);
    m.answered('unsubscribed', 'room.r1.audio.7');
    expect(m.status(s)).toEqual({ a: 'muted' });
    m.choose('a', false);
    expect(send(m, s, ['c2'])).toEqual(['subscribe room.r1.audio.7']);
    expect(m.status(s)).toEqual({});
    expect(send(m, s)).toEqual([]);
  });

  it('never unsubscribes our own stream', () => {
    const m = new MuteForMe();
    m.choose('me', true);
    expect(send(m, room([]))).toEqual([]);
    expect(m.status(room([]))).toEqual({});
  });

  it('applies every choice again after a reset (a welcome: the server forgot them)', () => {
    const m = new MuteForMe();
    const s = room([person('a', 7), person('b', 8), person('c', 9)]);
    m.choose('a', true);
    m.choose('c', true);
    expect(send(m, s)).toEqual(['unsubscribe room.r1.audio.7', 'unsubscribe room.r1.audio.9']);
    m.answered('unsubscribed', 'room.r1.audio.7');
    m.reset();
    expect(m.status(s)).toEqual({ a: 'pending', c: 'pending' });
    expect(send(m, s)).toEqual(['unsubscribe room.r1.audio.7', 'unsubscribe room.r1.audio.9']);
  });

  it('follows the participant to a new stream (snapshot) and hears whoever got the old one', () => {
    const m = new MuteForMe();
    m.choose('a', true);
    send(m, room([person('a', 7), person('b', 8)]));
    m.answered('unsubscribed', 'room.r1.audio.7');
    // After the host restarted, ids were given out again: b now has 7, a has 3.
    const moved = room([person('a', 3), person('b', 7)]);
    expect(send(m, moved)).toEqual(['subscribe room.r1.audio.7', 'unsubscribe room.r1.audio.3']);
    expect(m.status(moved)).toEqual({ a: 'pending' });
    m.answered('subscribed', 'room.r1.audio.7');
    m.answered('unsubscribed', 'room.r1.audio.3');
    expect(m.status(moved)).toEqual({ a: 'muted' });
  });

  it('gives a departed participant’s stream back, and keeps the choice should they come back', () => {
    const m = new MuteForMe();
    m.choose('a', true);
    send(m, room([person('a', 7)]));
    expect(send(m, room([]))).toEqual(['subscribe room.r1.audio.7']);
    expect(send(m, room([person('a', 12)]))).toEqual(['unsubscribe room.r1.audio.12']);
  });

  it('does not call a stream confirmed when a subscribe of it followed before the answer', () => {
    const m = new MuteForMe();
    const s = room([person('a', 7)]);
    m.choose('a', true);
    send(m, s, ['c1']);
    m.choose('a', false);
    send(m, s, ['c2']);
    m.choose('a', true);
    send(m, s, ['c3']);
    // The answers to c1 and c2 arrive: a is asked for again (c3) but not yet confirmed.
    m.answered('unsubscribed', 'room.r1.audio.7');
    m.answered('subscribed', 'room.r1.audio.7');
    expect(m.status(s)).toEqual({ a: 'pending' });
    m.answered('unsubscribed', 'room.r1.audio.7');
    expect(m.status(s)).toEqual({ a: 'muted' });
  });

  it('on a refused unsubscribe, drops the choice (still heard); on a refused subscribe, keeps it (still not heard)', () => {
    const m = new MuteForMe();
    const s = room([person('a', 7), person('b', 8)]);
    m.choose('a', true);
    send(m, s, ['c1']);
    expect(m.refused('c1')).toMatchObject({ type: 'unsubscribe', stream: 7, participant: 'a' });
    expect(m.isChosen('a')).toBe(false);
    expect(m.status(s)).toEqual({});
    expect(send(m, s)).toEqual([]);

    m.choose('b', true);
    send(m, s, ['c2']);
    m.answered('unsubscribed', 'room.r1.audio.8');
    m.choose('b', false);
    send(m, s, ['c3']);
    expect(m.refused('c3')).toMatchObject({ type: 'subscribe', stream: 8 });
    expect(m.status(s)).toEqual({ b: 'muted' });
    expect(send(m, s)).toEqual([]);
  });

  it('ignores refusals and answers of refs it did not send', () => {
    const m = new MuteForMe();
    const s = room([person('a', 7)]);
    m.choose('a', true);
    send(m, s, ['c1']);
    expect(m.refused('c9')).toBeNull();
    expect(m.refused(null)).toBeNull();
    m.answered('unsubscribed', 'room.r1.audio.8');
    expect(m.status(s)).toEqual({ a: 'pending' });
  });
});
