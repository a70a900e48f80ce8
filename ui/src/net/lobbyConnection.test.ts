import { describe, expect, it } from 'vitest';
import type { LobbyRoom } from '../protocol/control';
import { backoffDelay } from './backoff';
import { LobbyConnection, type LobbyTimers } from './lobbyConnection';

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // The server's side.
  accept() {
    this.readyState = 1;
    this.onopen?.();
  }
  push(message: object) {
    this.onmessage?.({ data: JSON.stringify({ v: 1, ...message }) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
}

/** Timers a test runs by hand. */
function manualTimers() {
  const pending = new Map<number, { fn: () => void; ms: number; every: boolean }>();
  let next = 1;
  const timers: LobbyTimers = {
    setTimeout: (fn, ms) => (pending.set(next, { fn, ms, every: false }), next++),
    clearTimeout: (h) => void pending.delete(h as number),
    setInterval: (fn, ms) => (pending.set(next, { fn, ms, every: true }), next++),
    clearInterval: (h) => void pending.delete(h as number),
  };
  const timeouts = () => [...pending.entries()].filter(([, t]) => !t.every);
  const runTimeouts = () => {
    for (const [h, t] of timeouts()) {
      pending.delete(h);
      t.fn();
    }
  };
  return { timers, timeouts, runTimeouts };
}

const room = (id: string, participants: number): LobbyRoom => ({
  id,
  name: id,
  participants,
  capacity: 50,
  guests_allowed: true,
  created_ms: 1,
  speaking: [],
});

function setup() {
  FakeSocket.all = [];
  const t = manualTimers();
  const lobby = new LobbyConnection({
    url: 'ws://x/voice-chat:voice-chat:sys/ws',
    WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
    timers: t.timers,
    random: () => 0,
    now: () => 0,
  });
  lobby.start();
  return { lobby, t };
}

describe('LobbyConnection', () => {
  it('subscribes to node.rooms on the owner socket and follows the updates', () => {
    const { lobby } = setup();
    const s = FakeSocket.all[0];
    expect(s.url).toBe('ws://x/voice-chat:voice-chat:sys/ws');
    s.accept();
    expect(s.sent).toEqual([{ type: 'subscribe', pattern: 'node.rooms', v: 1, ref: 'lobby' }]);
    s.push({ type: 'subscribed', pattern: 'node.rooms', topics: ['node.rooms'] });
    expect(lobby.snapshot().status).toBe('connecting');
    s.push({ type: 'rooms', rooms: [room('a', 0)] });
    expect(lobby.snapshot().status).toBe('live');
    s.push({ type: 'room_update', room: room('a', 1) });
    expect(lobby.snapshot().lobby.rooms.a.participants).toBe(1);
    s.push({ type: 'room_closed', id: 'a' });
    expect(lobby.snapshot().lobby.rooms).toEqual({});
  });

  it('reconnects with the backoff after a drop, and the new list replaces the old', () => {
    const { lobby, t } = setup();
    FakeSocket.all[0].accept();
    FakeSocket.all[0].push({ type: 'rooms', rooms: [room('a', 2), room('b', 0)] });
    FakeSocket.all[0].drop();
    expect(lobby.snapshot()).toMatchObject({ status: 'reconnecting', attempt: 1 });
    expect(lobby.snapshot().lobby.rooms.a.participants).toBe(2);
    expect(t.timeouts().map(([, x]) => x.ms)).toEqual([backoffDelay(0, 0)]);
    t.runTimeouts();
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1].drop();
    expect(t.timeouts().map(([, x]) => x.ms)).toEqual([backoffDelay(1, 0)]);
    t.runTimeouts();
    FakeSocket.all[2].accept();
    FakeSocket.all[2].push({ type: 'rooms', rooms: [room('a', 3)] });
    expect(lobby.snapshot()).toMatchObject({ status: 'live', attempt: 0 });
    expect(Object.keys(lobby.snapshot().lobby.rooms)).toEqual(['a']);
  });

  it('a refusal is final; stop closes the socket and never reconnects', () => {
    const { lobby, t } = setup();
    FakeSocket.all[0].accept();
    FakeSocket.all[0].push({ type: 'error', code: 'forbidden', message: 'no', ref: 'lobby' });
    expect(lobby.snapshot().status).toBe('failed');
    expect(FakeSocket.all[0].closedWith).toBe(1000);
    expect(t.timeouts()).toEqual([]);

    const second = setup();
    FakeSocket.all[0].accept();
    second.lobby.stop();
    expect(FakeSocket.all[0].closedWith).toBe(1000);
    expect(second.lobby.snapshot().status).toBe('stopped');
    expect(second.t.timeouts()).toEqual([]);
  });
});
