// The client's side of the protocol against a real WebSocket server on loopback that plays the
// process's part from a script: join/welcome, acks, resume after a drop, refusal, heartbeat.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer, type RawData, type WebSocket as ServerSocket } from 'ws';
import type { Snapshot } from '../protocol/control';
import { decodeAck, encodeAudioFrame, type AudioFrame } from '../protocol/frame';
import { RoomConnection, type RoomConnectionOptions, type Timers } from './roomConnection';

const snapshot: Snapshot = {
  room: 'r1',
  host: 'alice.os',
  settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: false, guests_may_speak: false },
  participants: [
    { id: 'p1', name: 'Me', role: 'speaker', stream: 5, muted: false, self_muted: false, reconnecting: false, guest: false, node: 'alice.os' },
  ],
  hands: [],
  chat: [],
  seq: 3,
};

const welcome = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
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

interface Client {
  socket: ServerSocket;
  texts: Record<string, unknown>[];
  binaries: Uint8Array[];
}

let servers: WebSocketServer[] = [];
let connections: RoomConnection[] = [];

afterEach(async () => {
  for (const c of connections) c.leave();
  connections = [];
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function startServer(onClient: (client: Client, index: number) => void) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  const clients: Client[] = [];
  server.on('connection', (socket) => {
    const client: Client = { socket, texts: [], binaries: [] };
    clients.push(client);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) client.binaries.push(new Uint8Array(data as Buffer));
      else client.texts.push(JSON.parse(data.toString()));
    });
    onClient(client, clients.length - 1);
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, clients };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Real timers that also keep track of what is scheduled, so a test can say "nothing is left to
 * happen" and fire every pending timeout at once instead of sleeping and hoping.
 */
function trackedTimers() {
  const pending = new Map<unknown, () => void>();
  const intervals = new Set<unknown>();
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      const handle = setTimeout(() => {
        pending.delete(handle);
        callback();
      }, ms);
      pending.set(handle, callback);
      return handle;
    },
    clearTimeout: (handle) => {
      pending.delete(handle);
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
    setInterval: (callback, ms) => {
      const handle = setInterval(callback, ms);
      intervals.add(handle);
      return handle;
    },
    clearInterval: (handle) => {
      intervals.delete(handle);
      clearInterval(handle as ReturnType<typeof setInterval>);
    },
  };
  return {
    timers,
    scheduled: () => pending.size + intervals.size,
    /** Runs every pending timeout now (a reconnect, however long its backoff). */
    runPending: () => {
      const due = [...pending];
      for (const [handle, callback] of due) {
        timers.clearTimeout(handle);
        callback();
      }
      return due.length;
    },
  };
}

function connect(url: string, extra: Partial<RoomConnectionOptions> = {}) {
  const audio: AudioFrame[] = [];
  const errors: string[] = [];
  const clock = trackedTimers();
  let socketsOpened = 0;
  // The `ws` client, counted: every socket the connection opens is a join attempt.
  class CountingWebSocket extends NodeWebSocket {
    constructor(address: string) {
      super(address);
      socketsOpened++;
    }
  }
  const connection = new RoomConnection({
    url,
    join: { room: 'r1', name: 'Me' },
    onAudio: (f) => audio.push(f),
    onError: (e) => errors.push(e.code),
    WebSocketImpl: CountingWebSocket as unknown as new (url: string) => WebSocket,
    random: () => 0.5,
    timers: clock.timers,
    ...extra,
  });
  connections.push(connection);
  connection.start();
  return { connection, audio, errors, clock, socketsOpened: () => socketsOpened };
}

/**
 * The connection has stopped for good: nothing is scheduled, running whatever might still be
 * pending opens no socket, and a marker socket sent to the server afterwards is the only one
 * that arrives after the first.
 */
async function expectNoReconnect(
  client: ReturnType<typeof connect>,
  url: string,
  clients: unknown[],
): Promise<void> {
  expect(client.clock.scheduled()).toBe(0);
  client.clock.runPending();
  expect(client.socketsOpened()).toBe(1);
  const marker = new NodeWebSocket(url);
  await until(() => clients.length === 2);
  marker.close();
  expect(clients).toHaveLength(2);
}

const frame = (sequence: number) =>
  encodeAudioFrame({ flags: 1, streamId: 9, sequence, timestamp: sequence * 960, level: 20, payload: new Uint8Array([1, 2, 3]) });

describe('RoomConnection', () => {
  it('joins, goes live on welcome, and acks received audio cumulatively', async () => {
    const { url, clients } = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (!isBinary && JSON.parse(data.toString()).type === 'join') {
          client.socket.send(welcome());
          for (let i = 0; i < 12; i++) client.socket.send(frame(i));
        }
      });
    });
    const { connection, audio } = connect(url);
    await until(() => audio.length === 12);
    expect(connection.snapshot().status).toBe('live');
    expect(connection.snapshot().room?.me).toBe('p1');
    expect(audio.map((f) => f.sequence)).toEqual([...Array(12).keys()]);
    const join = clients[0].texts[0];
    expect(join).toMatchObject({ type: 'join', v: 1, room: 'r1', name: 'Me', ref: 'join' });
    expect(join.resume).toBeUndefined();
    await until(() => clients[0].binaries.length === 2);
    expect(clients[0].binaries.map(decodeAck)).toEqual([5, 10]);
  });

  it('reconnects after a drop and resumes with its token and last seq, filling in missed events', async () => {
    const { url, clients } = await startServer((client, index) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
        if (index === 0) {
          client.socket.send(welcome());
          client.socket.send(JSON.stringify({ type: 'event', v: 1, room: 'r1', seq: 4, event: { kind: 'hand_raised', participant: 'p1' } }));
          setTimeout(() => client.socket.terminate(), 50);
        } else {
          client.socket.send(welcome({ resumed: true, snapshot: null, seq: 5, resume_token: 'tok-2' }));
          client.socket.send(
            JSON.stringify({
              type: 'event',
              v: 1,
              room: 'r1',
              seq: 5,
              event: { kind: 'chat', message: { id: 1, from: 'p1', name: 'Me', text: 'missed while away', at_ms: 1 } },
            }),
          );
        }
      });
    });
    const { connection } = connect(url);
    const seen: string[] = [];
    connection.subscribe(() => {
      const s = connection.snapshot().status;
      if (seen[seen.length - 1] !== s) seen.push(s);
    });
    await until(() => clients.length === 2 && connection.snapshot().room?.seq === 5);
    expect(seen).toContain('reconnecting');
    expect(connection.snapshot().status).toBe('live');
    expect(clients[1].texts[0]).toMatchObject({ type: 'join', resume: { token: 'tok-1', last_seq: 4 } });
    const room = connection.snapshot().room!;
    expect(room.hands).toEqual(['p1']);
    expect(room.chat.map((c) => c.text)).toEqual(['missed while away']);
    expect(room.resumeToken).toBe('tok-2');
  });

  it('stops on a refused join instead of retrying, and says why', async () => {
    const { url, clients } = await startServer((client) => {
      client.socket.on('message', () =>
        client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'room_not_found', message: 'no such room', ref: 'join' })),
      );
    });
    const client = connect(url);
    const { connection } = client;
    await until(() => connection.snapshot().status === 'failed');
    expect(connection.snapshot().failure).toMatchObject({ code: 'room_not_found', message: 'no such room' });
    await expectNoReconnect(client, url, clients);
  });

  it('stops when the app refuses the socket for its connection limit', async () => {
    const { url, clients } = await startServer((client) => {
      client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'too_many_connections', message: 'full', ref: null }));
      setTimeout(() => client.socket.close(1013), 20);
    });
    const client = connect(url);
    const { connection } = client;
    await until(() => connection.snapshot().status === 'failed');
    expect(connection.snapshot().failure?.code).toBe('too_many_connections');
    await expectNoReconnect(client, url, clients);
  });

  it('reports a join that gets no answer instead of spinning forever', async () => {
    const { url, clients } = await startServer(() => {});
    const client = connect(url, { joinTimeoutMs: 200 });
    const { connection } = client;
    await until(() => connection.snapshot().status === 'failed');
    expect(connection.snapshot().failure?.code).toBe('join_timeout');
    await expectNoReconnect(client, url, clients);
  });

  it('ends without reconnecting when kicked', async () => {
    const { url, clients } = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
        client.socket.send(welcome());
        client.socket.send(JSON.stringify({ type: 'event', v: 1, room: 'r1', seq: 4, event: { kind: 'left', participant: 'p1', reason: 'kicked' } }));
        setTimeout(() => client.socket.close(1008, 'kicked'), 20);
      });
    });
    const client = connect(url);
    const { connection } = client;
    await until(() => connection.snapshot().status === 'ended');
    expect(connection.snapshot().room?.ended).toEqual({ why: 'kicked' });
    await expectNoReconnect(client, url, clients);
  });

  it('ends without reconnecting when banned', async () => {
    const { url, clients } = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
        client.socket.send(welcome());
        client.socket.send(JSON.stringify({ type: 'event', v: 1, room: 'r1', seq: 4, event: { kind: 'left', participant: 'p1', reason: 'banned' } }));
        setTimeout(() => client.socket.close(1008, 'banned'), 20);
      });
    });
    const client = connect(url);
    const { connection } = client;
    await until(() => connection.snapshot().status === 'ended');
    expect(connection.snapshot().room?.ended).toEqual({ why: 'banned' });
    await expectNoReconnect(client, url, clients);
  });

  it('ends as banned when the socket dropped before the removal arrived and the rejoin is refused with banned', async () => {
    const { url, clients } = await startServer((client, index) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
        if (index === 0) {
          client.socket.send(welcome());
          // Dropped abnormally: the client reconnects and tries to resume.
          setTimeout(() => client.socket.terminate(), 20);
        } else {
          client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'banned', message: 'you are banned from this room', ref: 'join' }));
        }
      });
    });
    const client = connect(url);
    const { connection } = client;
    await until(() => connection.snapshot().status === 'live');
    await until(() => connection.snapshot().status !== 'live', 3000);
    // The reconnect's backoff is on the tracked clock: run it now.
    await until(() => client.clock.runPending() > 0 || clients.length === 2);
    await until(() => connection.snapshot().status === 'ended');
    expect(clients[1].texts[0]).toMatchObject({ type: 'join', resume: { token: 'tok-1' } });
    expect(connection.snapshot().room?.ended).toEqual({ why: 'banned' });
    expect(connection.snapshot().failure).toBeNull();
    expect(client.errors).toEqual([]);
    expect(client.clock.scheduled()).toBe(0);
    client.clock.runPending();
    expect(client.socketsOpened()).toBe(2);
  });

  it('ends as banned when our node says so while we are live (its sync or our command was refused with banned)', async () => {
    const { url, clients } = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const msg = JSON.parse(data.toString());
        if (msg.type === 'join') client.socket.send(welcome());
        if (msg.type === 'chat') {
          client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'banned', message: 'you are banned from this room', ref: null }));
        }
      });
    });
    const client = connect(url);
    const { connection } = client;
    await until(() => connection.snapshot().status === 'live');
    connection.send({ type: 'chat', text: 'hello?' });
    await until(() => connection.snapshot().status === 'ended');
    expect(connection.snapshot().room?.ended).toEqual({ why: 'banned' });
    expect(client.errors).toEqual([]);
    await expectNoReconnect(client, url, clients);
  });

  it('keeps a requested ban list and a rotated invite in the room state, and reports no error for them', async () => {
    const ban = { ban_id: 'b1', name: 'Bob', node: 'bob.os', guest: false, banned_ms: 1000 };
    const { url } = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const msg = JSON.parse(data.toString());
        if (msg.type === 'join') client.socket.send(welcome());
        if (msg.type === 'list_bans') client.socket.send(JSON.stringify({ type: 'bans', v: 1, room: 'r1', bans: [ban] }));
        if (msg.type === 'rotate_invite') client.socket.send(JSON.stringify({ type: 'invite', v: 1, room: 'r1', invite: 'fresh-tok' }));
      });
    });
    const client = connect(url);
    const { connection } = client;
    await until(() => connection.snapshot().status === 'live');
    connection.send({ type: 'list_bans' });
    connection.send({ type: 'rotate_invite' });
    await until(() => connection.snapshot().room?.invite === 'fresh-tok');
    expect(connection.snapshot().room?.bans).toEqual([ban]);
    expect(client.errors).toEqual([]);
  });

  it('hands a room key wrapped for us (e2ee_key) to onE2eeKey, as it came, and reports no error', async () => {
    const key = { type: 'e2ee_key', room: 'r1', epoch: 2, from: 'p0', wrapped: 'AbC-_' };
    const { url } = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const msg = JSON.parse(data.toString());
        if (msg.type === 'join') {
          client.socket.send(welcome());
          client.socket.send(JSON.stringify({ ...key, v: 1 }));
        }
      });
    });
    const keys: unknown[] = [];
    const client = connect(url, { onE2eeKey: (m) => keys.push(m) });
    await until(() => keys.length === 1);
    expect(keys).toEqual([{ ...key, v: 1 }]);
    expect(client.errors).toEqual([]);
    expect(client.connection.snapshot().status).toBe('live');
  });

  it('measures RTT with ping/pong, and gives up on a silent server to reconnect', async () => {
    const { url, clients } = await startServer((client, index) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(data.toString());
        if (m.type === 'join') client.socket.send(welcome());
        // The first server answers pings for a while, then goes silent without closing.
        if (m.type === 'ping' && (index > 0 || client.texts.length < 4)) {
          client.socket.send(JSON.stringify({ type: 'pong', v: 1, t: m.t, server_ms: 0 }));
        }
      });
    });
    const { connection } = connect(url, { pingEveryMs: 50, silenceTimeoutMs: 300 });
    await until(() => connection.snapshot().rttMs !== null);
    expect(connection.snapshot().rttMs!).toBeGreaterThanOrEqual(0);
    expect(connection.snapshot().rttMs!).toBeLessThan(200);
    await until(() => clients.length === 2, 5000);
    await until(() => connection.snapshot().status === 'live');
  });

  it('reconnects and resumes when the process says it no longer knows the connection', async () => {
    const { url, clients } = await startServer((client, index) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(data.toString());
        if (m.type !== 'join') return;
        if (index === 0) {
          client.socket.send(welcome());
          // A restarted process answers the old socket's next message like this.
          setTimeout(
            () => client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'unknown_connection', message: 'reconnect', ref: null })),
            30,
          );
        } else {
          client.socket.send(welcome({ resume_token: 'tok-new' }));
        }
      });
    });
    const { connection, errors } = connect(url);
    await until(() => clients.length === 2 && connection.snapshot().room?.resumeToken === 'tok-new');
    expect(clients[1].texts[0]).toMatchObject({ type: 'join', resume: { token: 'tok-1', last_seq: 3 } });
    expect(connection.snapshot().status).toBe('live');
    expect(errors).toEqual([]);
  });

  it('finds out with a periodic sync that a restarted process forgot it, and rejoins', async () => {
    const { url, clients } = await startServer((client, index) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(data.toString());
        if (m.type === 'ping') client.socket.send(JSON.stringify({ type: 'pong', v: 1, t: m.t, server_ms: 0 }));
        if (m.type === 'join') client.socket.send(welcome({ resume_token: `tok-${index + 1}` }));
        // The first server "restarts" at once: it answers pings but knows no room for this socket.
        if (m.type === 'sync' && index === 0) {
          client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'not_joined', message: 'join a room first', ref: null }));
        }
      });
    });
    const { connection } = connect(url, { pingEveryMs: 20 });
    await until(() => clients.length === 2 && connection.snapshot().room?.resumeToken === 'tok-2');
    expect(clients[0].texts.some((t) => t.type === 'sync' && t.last_seq === 3)).toBe(true);
    expect(clients[1].texts[0]).toMatchObject({ type: 'join', resume: { token: 'tok-1' } });
  });

  it('resumes a room saved before a reload, and joins afresh if it cannot', async () => {
    const saved = {
      room: 'r1',
      host: 'alice.os',
      me: 'p1',
      stream: 5,
      resumeToken: 'tok-saved',
      seq: 3,
      settings: snapshot.settings,
      participants: snapshot.participants,
      hands: [],
      chat: [{ id: 1, from: 'p1', name: 'Me', text: 'before the reload', at_ms: 1 }],
      typingUntil: {},
      speaking: {},
      hostReachable: true,
      ended: null,
    };
    // This server resumes: no snapshot, the missed event follows.
    const resuming = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
        client.socket.send(welcome({ resumed: true, snapshot: null, seq: 4 }));
        client.socket.send(JSON.stringify({ type: 'event', v: 1, room: 'r1', seq: 4, event: { kind: 'hand_raised', participant: 'p1' } }));
      });
    });
    const first = connect(resuming.url, { resumeFrom: saved });
    await until(() => first.connection.snapshot().room?.seq === 4);
    expect(resuming.clients[0].texts[0]).toMatchObject({ type: 'join', resume: { token: 'tok-saved', last_seq: 3 } });
    expect(first.connection.snapshot().room?.chat.map((c) => c.text)).toEqual(['before the reload']);
    expect(first.connection.snapshot().room?.hands).toEqual(['p1']);

    // This one refuses the resume (say the room was closed and made anew): fresh join instead.
    const refusing = await startServer((client, index) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
        if (index === 0) {
          client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'forbidden', message: 'no', ref: 'join' }));
        } else {
          client.socket.send(welcome());
        }
      });
    });
    const second = connect(refusing.url, { resumeFrom: saved });
    await until(() => second.connection.snapshot().status === 'live');
    expect(refusing.clients[1].texts[0].resume).toBeUndefined();
    expect(second.connection.snapshot().room?.chat).toEqual([]);
  });

  it('stops on a join that the host node refused through ours (no ref), for every final code', async () => {
    for (const code of ['bad_invite', 'room_not_found', 'guests_not_allowed', 'room_full', 'banned', 'host_unreachable']) {
      const { url, clients } = await startServer((client) => {
        client.socket.on('message', (data, isBinary) => {
          if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
          client.socket.send(JSON.stringify({ type: 'error', v: 1, code, message: `refused: ${code}`, ref: null }));
        });
      });
      const client = connect(url, { join: { room: 'r1', name: 'Me', host: 'alice.os' } });
      await until(() => client.connection.snapshot().status === 'failed');
      expect(client.connection.snapshot().failure).toMatchObject({ code, message: `refused: ${code}` });
      expect(client.errors).toEqual([]);
      await expectNoReconnect(client, url, clients);
    }
  });

  it('reports, without failing the join, an error that is no refusal', async () => {
    const { url } = await startServer((client) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'join') return;
        client.socket.send(JSON.stringify({ type: 'error', v: 1, code: 'rate_limited', message: 'slow down', ref: null }));
        client.socket.send(welcome());
      });
    });
    const { connection, errors } = connect(url);
    await until(() => connection.snapshot().status === 'live');
    expect(errors).toEqual(['rate_limited']);
  });

  it('reports a control message sent while not connected instead of dropping it silently', async () => {
    const { url } = await startServer(() => {});
    const { connection, errors } = connect(url);
    expect(connection.send({ type: 'chat', text: 'hi' })).toBeNull();
    expect(errors).toEqual(['not_connected']);
  });
});

describe('RoomConnection: mute for me', () => {
  // Me (stream 5), Ann (stream 7) and Cy (stream 8).
  const three: Snapshot = {
    ...snapshot,
    participants: [
      ...snapshot.participants,
      { ...snapshot.participants[0], id: 'p2', name: 'Ann', stream: 7 },
      { ...snapshot.participants[0], id: 'p3', name: 'Cy', stream: 8 },
    ],
  };
  const texts = (c: Client) => c.texts.filter((t) => t.type === 'subscribe' || t.type === 'unsubscribe');
  const brief = (c: Client) => texts(c).map((t) => `${t.type} ${t.pattern}`);

  /** Plays the process's part: welcome with three people, and answers (or refuses) subscriptions. */
  function answering(client: Client, refuse: string | null = null) {
    client.socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(data.toString());
      if (m.type === 'join') client.socket.send(welcome({ snapshot: three }));
      if (m.type !== 'subscribe' && m.type !== 'unsubscribe') return;
      if (refuse) {
        client.socket.send(JSON.stringify({ type: 'error', v: 1, code: refuse, message: `refused: ${refuse}`, ref: m.ref }));
      } else if (m.type === 'subscribe') {
        client.socket.send(JSON.stringify({ type: 'subscribed', v: 1, pattern: m.pattern, topics: [] }));
      } else {
        client.socket.send(JSON.stringify({ type: 'unsubscribed', v: 1, pattern: m.pattern }));
      }
    });
  }

  it("unsubscribes from the participant's audio topic, shows it confirmed, and subscribes again on unmute", async () => {
    const { url, clients } = await startServer((client) => answering(client));
    const { connection, errors } = connect(url);
    await until(() => connection.snapshot().status === 'live');
    expect(connection.snapshot().mutedForMe).toEqual({});

    connection.setMutedForMe('p2', true);
    expect(connection.snapshot().mutedForMe).toEqual({ p2: 'pending' });
    await until(() => connection.snapshot().mutedForMe?.p2 === 'muted');
    expect(texts(clients[0])).toEqual([{ type: 'unsubscribe', v: 1, pattern: 'room.r1.audio.7', ref: expect.stringMatching(/^c\d+$/) }]);

    connection.setMutedForMe('p2', false);
    expect(connection.snapshot().mutedForMe).toEqual({});
    await until(() => texts(clients[0]).length === 2);
    expect(brief(clients[0])).toEqual(['unsubscribe room.r1.audio.7', 'subscribe room.r1.audio.7']);
    expect(errors).toEqual([]);
  });

  it('applies the choices again after every welcome, never before it, including one made while reconnecting', async () => {
    const welcomedAfter: number[] = [];
    const { url, clients } = await startServer((client, index) => {
      client.socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(data.toString());
        if (m.type === 'join') {
          // The welcome comes late: what the client sends meanwhile is counted.
          setTimeout(() => {
            welcomedAfter[index] = client.texts.length;
            client.socket.send(index === 0 ? welcome({ snapshot: three }) : welcome({ resumed: true, snapshot: null, seq: 3 }));
          }, 100);
        }
        if (m.type === 'unsubscribe') {
          client.socket.send(JSON.stringify({ type: 'unsubscribed', v: 1, pattern: m.pattern }));
          // The first socket drops once Ann is muted; the server forgets its subscriptions.
          if (index === 0) setTimeout(() => client.socket.terminate(), 20);
        }
      });
    });
    const { connection, errors } = connect(url);
    await until(() => connection.snapshot().status === 'live');
    connection.setMutedForMe('p2', true);
    await until(() => connection.snapshot().status === 'reconnecting');
    // Chosen while no socket is live: kept, shown as asked, and no "not connected" error.
    connection.setMutedForMe('p3', true);
    expect(connection.snapshot().mutedForMe).toEqual({ p2: 'pending', p3: 'pending' });
    await until(() => clients.length === 2 && connection.snapshot().mutedForMe?.p3 === 'muted' && connection.snapshot().mutedForMe?.p2 === 'muted');

    expect(brief(clients[0])).toEqual(['unsubscribe room.r1.audio.7']);
    expect(clients[1].texts[0]).toMatchObject({ type: 'join', resume: { token: 'tok-1' } });
    expect(brief(clients[1])).toEqual(['unsubscribe room.r1.audio.7', 'unsubscribe room.r1.audio.8']);
    const firstSubscription = clients[1].texts.findIndex((t) => t.type === 'unsubscribe');
    expect(firstSubscription).toBeGreaterThanOrEqual(welcomedAfter[1]);
    expect(errors).toEqual([]);
  });

  it('applies the choices again when a welcome arrives again on the same socket (the host node restarted)', async () => {
    const { url, clients } = await startServer((client) => {
      answering(client);
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'unsubscribe') return;
        // Once: our node joined us again at the restarted host, which knows nothing of it.
        if (texts(client).length === 1) client.socket.send(welcome({ snapshot: { ...three, seq: 1 }, seq: 1, resume_token: 'tok-2' }));
      });
    });
    const { connection, errors } = connect(url);
    await until(() => connection.snapshot().status === 'live');
    connection.setMutedForMe('p3', true);
    await until(() => connection.snapshot().room?.resumeToken === 'tok-2' && connection.snapshot().mutedForMe?.p3 === 'muted');
    expect(brief(clients[0])).toEqual(['unsubscribe room.r1.audio.8', 'unsubscribe room.r1.audio.8']);
    expect(clients).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("follows the participant's stream when a snapshot moves it", async () => {
    const { url, clients } = await startServer((client) => {
      answering(client);
      client.socket.on('message', (data, isBinary) => {
        if (isBinary || JSON.parse(data.toString()).type !== 'unsubscribe') return;
        if (texts(client).length > 1) return;
        // The host restarted and gave the streams out again: Ann is on 8, Cy on 7 now.
        const moved = three.participants.map((p) => (p.id === 'p2' ? { ...p, stream: 8 } : p.id === 'p3' ? { ...p, stream: 7 } : p));
        client.socket.send(JSON.stringify({ type: 'snapshot', v: 1, room: 'r1', seq: 9, snapshot: { ...three, seq: 9, participants: moved } }));
      });
    });
    const { connection } = connect(url);
    await until(() => connection.snapshot().status === 'live');
    connection.setMutedForMe('p2', true);
    await until(() => texts(clients[0]).length === 3 && connection.snapshot().mutedForMe?.p2 === 'muted');
    expect(brief(clients[0])).toEqual(['unsubscribe room.r1.audio.7', 'subscribe room.r1.audio.7', 'unsubscribe room.r1.audio.8']);
  });

  it('reports a refused subscription as a notice, stays in the room, and shows the participant heard', async () => {
    for (const code of ['too_many_subscriptions', 'invalid_pattern', 'forbidden']) {
      const { url, clients } = await startServer((client) => answering(client, code));
      const reported: { code: string; message: string }[] = [];
      const { connection } = connect(url, { onError: (e) => reported.push({ code: e.code, message: e.message }) });
      await until(() => connection.snapshot().status === 'live');
      connection.setMutedForMe('p2', true);
      await until(() => reported.length === 1);
      expect(reported[0]).toEqual({ code, message: `Could not mute Ann for you: refused: ${code}` });
      expect(connection.snapshot().status).toBe('live');
      expect(connection.snapshot().failure).toBeNull();
      expect(connection.snapshot().mutedForMe).toEqual({});
      // Nothing is retried behind the user's back: after an event the client applied (each
      // change of the room is a moment to apply choices), a marker it sends is the next thing.
      clients[0].socket.send(
        JSON.stringify({ type: 'event', v: 1, room: 'r1', seq: 4, event: { kind: 'hand_raised', participant: 'p3' } }),
      );
      await until(() => connection.snapshot().room?.seq === 4);
      connection.send({ type: 'chat', text: 'marker' });
      await until(() => clients[0].texts.some((t) => t.type === 'chat'));
      expect(brief(clients[0])).toEqual(['unsubscribe room.r1.audio.7']);
    }
  });
});
