// When the connection falls back to HTTP polling and when it goes back: a socket that cannot
// open (a loopback server that refuses the upgrade) or is refused at the node's socket cap sends
// the room over an in-memory poll node (./fakePollNode.ts) with the same message handling; a
// gone session resumes with the token, a lost stretch is synced, and a socket that becomes
// possible takes the room back (resumed) before the poll session is left.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import type { Snapshot } from '../protocol/control';
import { FakePollNode } from './fakePollNode';
import { RoomConnection, type RoomConnectionOptions, type Timers } from './roomConnection';

const snapshot: Snapshot = {
  room: 'r1',
  host: 'alice.os',
  settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: true, guests_may_speak: false },
  participants: [
    { id: 'p1', name: 'Me', role: 'speaker', stream: 5, muted: false, self_muted: false, reconnecting: false, guest: true, node: 'alice.os' },
  ],
  hands: [],
  chat: [],
  seq: 3,
};

const welcome = (over: Record<string, unknown> = {}) => ({
  type: 'welcome',
  v: 1,
  room: 'r1',
  host: 'alice.os',
  participant: 'p1',
  stream: 5,
  role: 'speaker',
  resume_token: 'tok-1',
  resumed: false,
  seq: 3,
  snapshot,
  ...over,
});

const chatEvent = (seq: number, text: string) => ({
  type: 'event',
  room: 'r1',
  seq,
  event: { kind: 'chat', message: { id: seq, from: 'p2', name: 'Bob', text, at_ms: 1 } },
});

let servers: WebSocketServer[] = [];
let connections: RoomConnection[] = [];

afterEach(async () => {
  for (const c of connections) c.leave();
  connections = [];
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

/** A socket server that refuses every upgrade while `blocked` (as a proxy stripping them would). */
async function startServer(onSocket: (socket: ServerSocket) => void = () => {}) {
  const gate = { blocked: true, sockets: [] as ServerSocket[], texts: [] as Record<string, unknown>[] };
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (_info, done) => done(!gate.blocked, 502),
  });
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  server.on('connection', (socket) => {
    gate.sockets.push(socket);
    socket.on('message', (data, isBinary) => {
      if (!isBinary) gate.texts.push(JSON.parse(data.toString()));
    });
    onSocket(socket);
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, gate };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Real timers whose pending timeouts a test can list (by delay) and run at once. */
function trackedTimers() {
  const pending = new Map<unknown, { callback: () => void; ms: number }>();
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      const handle = setTimeout(() => {
        pending.delete(handle);
        callback();
      }, ms);
      pending.set(handle, { callback, ms });
      return handle;
    },
    clearTimeout: (handle) => {
      pending.delete(handle);
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
    setInterval: (callback, ms) => setInterval(callback, ms),
    clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
  };
  return {
    timers,
    delays: () => [...pending.values()].map((p) => p.ms),
    /** Runs the pending timeouts of at least `minMs` (the socket retry while polling). */
    runLonger: (minMs: number) => {
      for (const [handle, p] of [...pending]) {
        if (p.ms < minMs) continue;
        timers.clearTimeout(handle);
        p.callback();
      }
    },
  };
}

function connect(url: string, node: FakePollNode | null, extra: Partial<RoomConnectionOptions> = {}) {
  const errors: string[] = [];
  const clock = trackedTimers();
  const connection = new RoomConnection({
    url,
    join: { room: 'r1', name: 'Me', invite: 'inv' },
    onAudio: () => {},
    onError: (e) => errors.push(e.code),
    WebSocketImpl: NodeWebSocket as unknown as new (url: string) => WebSocket,
    random: () => 0.5,
    timers: clock.timers,
    // No heartbeat noise in these tests: they are over before one would be due.
    pingEveryMs: 60_000,
    poll: node ? { url: '/p/guest-api', fetch: node.fetch } : undefined,
    ...extra,
  });
  connections.push(connection);
  connection.start();
  return { connection, errors, clock };
}

/** What went out with PollSend, of one type (a ping follows every welcome). */
const sent = (node: FakePollNode, type: string) =>
  node.callsOf('PollSend').map((c) => c.args as [string, { type: string }]).filter(([, m]) => m.type === type);

const chatTexts = (c: RoomConnection) => c.snapshot().room?.chat.map((m) => m.text) ?? [];

describe('RoomConnection falling back to polling', () => {
  it('polls when the socket cannot open twice; chat comes in and goes out the same way', async () => {
    const { url } = await startServer();
    const node = new FakePollNode();
    node.onJoin = (_join, session) => node.push(welcome(), session);
    const { connection } = connect(url, node);
    await until(() => connection.snapshot().status === 'live');
    expect(connection.snapshot().transport).toBe('poll');
    expect(node.callsOf('PollJoin')[0].args).toEqual({ type: 'join', room: 'r1', name: 'Me', invite: 'inv', v: 1, ref: 'join' });

    node.push(chatEvent(4, 'hello from bob'));
    await until(() => chatTexts(connection).length === 1);
    expect(chatTexts(connection)).toEqual(['hello from bob']);

    const ref = connection.send({ type: 'chat', text: 'hi bob' });
    expect(ref).toBe('c1');
    await until(() => sent(node, 'chat').length === 1);
    expect(sent(node, 'chat')).toEqual([['s1', { type: 'chat', text: 'hi bob', v: 1, ref: 'c1' }]]);
    // No audio over HTTP.
    expect(connection.sendAudio(new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it('hands a room key wrapped for us (e2ee_key) to onE2eeKey while polling too', async () => {
    const { url } = await startServer();
    const node = new FakePollNode();
    node.onJoin = (_join, session) => node.push(welcome(), session);
    const keys: unknown[] = [];
    const { connection, errors } = connect(url, node, { onE2eeKey: (m) => keys.push(m) });
    await until(() => connection.snapshot().status === 'live');
    expect(connection.snapshot().transport).toBe('poll');
    const key = { type: 'e2ee_key', room: 'r1', epoch: 0, from: 'p0', wrapped: 'xyz' };
    node.push(key);
    await until(() => keys.length === 1);
    expect(keys).toEqual([key]);
    expect(errors).toEqual([]);
  });

  it('polls when the node refuses the socket at its cap (too_many_connections)', async () => {
    const { url, gate } = await startServer((socket) => {
      socket.send(JSON.stringify({ type: 'error', code: 'too_many_connections', message: 'full', ref: null }));
      socket.close(1008);
    });
    gate.blocked = false;
    const node = new FakePollNode();
    node.onJoin = (_join, session) => node.push(welcome(), session);
    const { connection, errors } = connect(url, node);
    await until(() => connection.snapshot().status === 'live');
    expect(connection.snapshot().transport).toBe('poll');
    expect(connection.snapshot().failure).toBeNull();
    expect(errors).toEqual([]);
    expect(gate.sockets).toHaveLength(1);
  });

  it('on a gone session joins again with its resume token and last seq', async () => {
    const { url } = await startServer();
    const node = new FakePollNode();
    // A resume's welcome has no snapshot: what we had stays, the missed events follow.
    node.onJoin = (join, session) => node.push(join.resume ? welcome({ resumed: true, seq: 4, snapshot: undefined }) : welcome(), session);
    const { connection } = connect(url, node);
    await until(() => connection.snapshot().status === 'live');
    node.push(chatEvent(4, 'one'));
    await until(() => chatTexts(connection).length === 1);
    node.expire();
    await until(() => node.callsOf('PollJoin').length === 2);
    expect(node.callsOf('PollJoin')[1].args).toMatchObject({ type: 'join', resume: { token: 'tok-1', last_seq: 4 } });
    await until(() => connection.snapshot().status === 'live');
    expect(connection.snapshot().transport).toBe('poll');
    expect(chatTexts(connection)).toEqual(['one']);
  });

  it('asks for what it missed (sync from its last seq) when the poll says lost', async () => {
    const { url } = await startServer();
    const node = new FakePollNode();
    node.onJoin = (_join, session) => node.push(welcome(), session);
    const { connection } = connect(url, node);
    await until(() => connection.snapshot().status === 'live');
    node.overflow();
    await until(() => sent(node, 'sync').length === 1);
    expect(sent(node, 'sync')).toEqual([['s1', { type: 'sync', last_seq: 3, v: 1 }]]);
  });

  it('goes back to the socket when one opens again: resumes there, then leaves the poll session', async () => {
    const { url, gate } = await startServer((socket) => {
      socket.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'join') socket.send(JSON.stringify(welcome({ resumed: true, seq: 4, snapshot: undefined })));
      });
    });
    const node = new FakePollNode();
    node.onJoin = (_join, session) => node.push(welcome(), session);
    const { connection, clock } = connect(url, node);
    await until(() => connection.snapshot().status === 'live');
    node.push(chatEvent(4, 'while polling'));
    await until(() => chatTexts(connection).length === 1);
    // The socket is tried again after 15-20 s; still blocked, the next try is later still.
    const retry = clock.delays().filter((ms) => ms >= 15_000);
    expect(retry).toEqual([17_500]);
    clock.runLonger(15_000);
    await until(() => clock.delays().some((ms) => ms >= 20_000));
    expect(clock.delays().filter((ms) => ms >= 15_000)).toEqual([26_250]);
    expect(connection.snapshot().transport).toBe('poll');

    gate.blocked = false;
    clock.runLonger(15_000);
    await until(() => node.callsOf('PollLeave').length === 1);
    expect(gate.texts[0]).toMatchObject({ type: 'join', resume: { token: 'tok-1', last_seq: 4 } });
    expect(node.callsOf('PollLeave')[0].args).toBe('s1');
    expect(connection.snapshot().status).toBe('live');
    expect(connection.snapshot().transport).toBe('socket');
    expect(chatTexts(connection)).toEqual(['while polling']);
    // No more socket tries are pending once back.
    expect(clock.delays().filter((ms) => ms >= 15_000)).toEqual([]);
  });

  it('leaves a poll session it gave up on (silence) only once a new one has us back', async () => {
    const { url } = await startServer();
    const node = new FakePollNode();
    node.onJoin = (join, session) => {
      // The first session's participant moves to the second with the resume (as the engine does).
      if (join.resume) {
        expect(node.callsOf('PollLeave')).toHaveLength(0);
        node.push(welcome({ resumed: true, seq: 3, snapshot: undefined }), session);
      } else node.push(welcome(), session);
    };
    // Pings go unanswered here: the silence check gives up on the first session.
    const { connection } = connect(url, node, { pingEveryMs: 20, silenceTimeoutMs: 60 });
    await until(() => node.callsOf('PollJoin').length === 2);
    await until(() => node.callsOf('PollLeave').length === 1);
    expect(node.callsOf('PollJoin')[1].args).toMatchObject({ resume: { token: 'tok-1', last_seq: 3 } });
    expect(node.callsOf('PollLeave')[0].args).toBe('s1');
    expect(connection.snapshot().transport).toBe('poll');
  });

  it('without a poll URL keeps to the socket (the fallback is what the poll option turns on)', async () => {
    const { url } = await startServer();
    const { connection } = connect(url, null);
    await until(() => connection.snapshot().attempt >= 3);
    expect(connection.snapshot().transport).toBe('socket');
    expect(connection.snapshot().status).toBe('connecting');
  });
});
