// The polling transport against an in-memory node (./fakePollNode.ts): the join opens a session,
// cursors follow the answers, a lost stretch asks for sync, a gone session closes for a resume,
// failures back off, and only a real leave ends the session.
import { describe, expect, it } from 'vitest';
import { FakePollNode } from './fakePollNode';
import { POLL_SESSION_GONE, POLL_UNREACHABLE, PollTransport, RetryableError, pollCall } from './pollTransport';
import type { PollTimers } from './pollTransport';

const URL = '/voice-chat:voice-chat:template.os/guest-api';

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Timers that only record: a test runs a backoff wait when it chooses to, and sees its length. */
function heldTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let next = 0;
  const timers: PollTimers = {
    setTimeout: (callback, ms) => {
      pending.set(++next, { callback, ms });
      return next;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  return {
    timers,
    delays: () => [...pending.values()].map((p) => p.ms),
    runAll: () => {
      const due = [...pending];
      pending.clear();
      for (const [, p] of due) p.callback();
    },
  };
}

function open(node: FakePollNode, timers = heldTimers()) {
  const received: Record<string, unknown>[] = [];
  const closes: number[] = [];
  let lost = 0;
  let opened = false;
  const transport = new PollTransport({ url: URL, fetch: node.fetch, timers: timers.timers, random: () => 0.5 });
  transport.onopen = () => (opened = true);
  transport.onmessage = (data) => received.push(JSON.parse(String(data)));
  transport.onclose = (code) => closes.push(code);
  transport.onlost = () => lost++;
  return { transport, received, closes, lost: () => lost, opened: () => opened, timers };
}

const join = JSON.stringify({ type: 'join', room: 'r1', name: 'Ann', invite: 'inv', v: 1, ref: 'join' });

describe('PollTransport', () => {
  it('opens a session with the join exactly as a socket would send it, then polls from each answer’s cursor', async () => {
    const node = new FakePollNode();
    node.onJoin = (_join, session) => node.push({ type: 'welcome', n: 1 }, session);
    const t = open(node);
    await until(t.opened);
    t.transport.send(join);
    await until(() => t.received.length === 1);
    expect(node.calls[0]).toEqual({ url: URL, method: 'PollJoin', args: JSON.parse(join) });
    expect(t.received[0]).toEqual({ type: 'welcome', n: 1 });
    await until(() => node.callsOf('Poll').length === 1);
    expect(node.callsOf('Poll')[0].args).toEqual(['s1', 1]);

    node.push({ type: 'event', n: 2 });
    node.push({ type: 'event', n: 3 });
    await until(() => node.callsOf('Poll').length === 2);
    expect(t.received.map((m) => m.n)).toEqual([1, 2, 3]);
    expect(node.callsOf('Poll')[1].args).toEqual(['s1', 3]);

    t.transport.send(JSON.stringify({ type: 'chat', text: 'hi', v: 1, ref: 'c1' }));
    t.transport.send(new Uint8Array([1, 2, 3])); // audio: never over HTTP
    await until(() => node.callsOf('PollSend').length === 1);
    expect(node.callsOf('PollSend')[0].args).toEqual(['s1', { type: 'chat', text: 'hi', v: 1, ref: 'c1' }]);
    // The marker goes out after the audio would have: only it follows the chat.
    t.transport.send(JSON.stringify({ type: 'ping', t: 1, v: 1 }));
    await until(() => node.callsOf('PollSend').length === 2);
    expect(node.calls.filter((c) => c.method === 'PollSend').map((c) => (c.args as [string, { type: string }])[1].type)).toEqual(['chat', 'ping']);
    t.transport.close(4001, 'test');
  });

  it('says so when the server dropped messages (lost), and goes on from the new cursor', async () => {
    const node = new FakePollNode();
    const t = open(node);
    t.transport.send(join);
    await until(() => node.callsOf('Poll').length === 1);
    node.overflow();
    await until(() => t.lost() === 1);
    await until(() => node.callsOf('Poll').length === 2);
    expect(node.callsOf('Poll')[1].args).toEqual(['s1', 1]);
    t.transport.close(4001, 'test');
  });

  it('closes for a resume (POLL_SESSION_GONE) when the session is gone, on Poll and on PollSend', async () => {
    const node = new FakePollNode();
    const a = open(node);
    a.transport.send(join);
    await until(() => node.callsOf('Poll').length === 1);
    node.expire();
    await until(() => a.closes.length === 1);
    expect(a.closes).toEqual([POLL_SESSION_GONE]);
    expect(a.transport.isOpen).toBe(false);

    const b = open(node);
    node.onSend = () => ({ Err: { code: 'unknown_session', message: 'gone' } });
    b.transport.send(join);
    b.transport.send(JSON.stringify({ type: 'chat', text: 'x', v: 1 }));
    await until(() => b.closes.length === 1);
    expect(b.closes).toEqual([POLL_SESSION_GONE]);
  });

  it('gives a refused join to the connection as the error a socket would carry', async () => {
    const node = new FakePollNode();
    node.onJoin = () => ({ Err: { code: 'too_many_sessions', message: 'full' } });
    const t = open(node);
    t.transport.send(join);
    await until(() => t.received.length === 1);
    expect(t.received[0]).toEqual({ type: 'error', code: 'too_many_sessions', message: 'full', ref: 'join' });
    expect(node.callsOf('Poll')).toHaveLength(0);
  });

  it('closes as unreachable (4002) when the join cannot reach the node', async () => {
    const node = new FakePollNode();
    const t = open(node);
    node.onJoin = () => ({ status: 502 });
    t.transport.send(join);
    await until(() => t.closes.length === 1);
    expect(t.closes).toEqual([POLL_UNREACHABLE]);
  });

  it('retries a failed Poll after a growing backoff, with the same cursor', async () => {
    const node = new FakePollNode();
    const t = open(node);
    node.pollFailures.push({ status: 503 }, 'network', { status: 408 });
    t.transport.send(join);
    for (const [i, delay] of [188, 375, 750].entries()) {
      await until(() => t.timers.delays().length === 1);
      expect(t.timers.delays()).toEqual([delay]);
      expect(node.callsOf('Poll')).toHaveLength(i + 1);
      t.timers.runAll();
    }
    await until(() => node.callsOf('Poll').length === 4);
    expect(node.callsOf('Poll').map((c) => c.args)).toEqual(Array(4).fill(['s1', 0]));
    node.push({ type: 'event', n: 1 });
    await until(() => t.received.length === 1);
    expect(t.closes).toEqual([]);
    t.transport.close(4001, 'test');
  });

  it('ends the session (PollLeave) only on a real leave (1000), not when a socket takes over', async () => {
    const node = new FakePollNode();
    const a = open(node);
    a.transport.send(join);
    await until(() => node.callsOf('Poll').length === 1);
    a.transport.close(4001, 'socket instead');
    const b = open(node);
    b.transport.send(join);
    await until(() => node.callsOf('Poll').length === 2);
    b.transport.close(1000, 'left');
    await until(() => node.callsOf('PollLeave').length === 1);
    expect(node.callsOf('PollLeave')[0].args).toBe('s2');
    expect(node.sessions.map((s) => s.id)).toEqual(['s1']);
    // The one taken over is left explicitly, once the socket is in.
    await a.transport.leaveSession();
    expect(node.callsOf('PollLeave').map((c) => c.args)).toEqual(['s2', 's1']);
    expect(node.sessions).toEqual([]);
  });
});

describe('PollTransport closed while its join is on the way', () => {
  it('opens no polling, and leaves the session only when asked (after the join answered)', async () => {
    const node = new FakePollNode();
    let answerJoin = () => {};
    const held = new Promise<void>((resolve) => (answerJoin = resolve));
    const fetchImpl: typeof node.fetch = async (url, init) => {
      if (String(init.body).includes('PollJoin')) await held;
      return node.fetch(url, init);
    };
    const transport = new PollTransport({ url: URL, fetch: fetchImpl, timers: heldTimers().timers, random: () => 0.5 });
    transport.send(join);
    await until(() => true);
    transport.close(4001, 'socket instead');
    answerJoin();
    // The join has answered (the transport's send queue is done): nothing was left yet.
    await (transport as unknown as { outgoing: Promise<void> }).outgoing;
    expect(node.calls.map((c) => c.method)).toEqual(['PollJoin']);
    expect(transport.sessionId).toBe('s1');
    await transport.leaveSession();
    // Left only now, when asked: not at once, when the participant might still be on it.
    expect(node.calls.map((c) => c.method)).toEqual(['PollJoin', 'PollLeave']);
    expect(node.callsOf('PollLeave')[0].args).toBe('s1');
  });
});

describe('pollCall', () => {
  const answering = (body: string, status: number, type = 'application/json') => async () => new Response(body, { status, headers: { 'content-type': type } });

  it('takes an Err with its HTTP status (404 unknown_session, 429, 403) as the server\'s answer', async () => {
    for (const [code, status] of [['unknown_session', 404], ['rate_limited', 429], ['bad_invite', 403]] as const) {
      const result = await pollCall(answering(JSON.stringify({ Err: { code, message: 'm' } }), status), URL, 'Poll', ['s', 0]);
      expect(result).toEqual({ ok: false, code, message: 'm' });
    }
    expect(await pollCall(answering('{"Ok":null}', 200), URL, 'PollLeave', 's')).toEqual({ ok: true, value: null });
  });

  it('calls a 408, a 5xx, a page that is not JSON and a network error worth retrying', async () => {
    const failing = [
      answering('timeout', 408, 'text/plain'),
      answering(JSON.stringify({ Err: { code: 'x', message: '' } }), 503),
      answering('<html>login</html>', 200, 'text/html'),
      async () => {
        throw new TypeError('Failed to fetch');
      },
    ];
    for (const fetchImpl of failing) await expect(pollCall(fetchImpl, URL, 'Poll', ['s', 0])).rejects.toBeInstanceOf(RetryableError);
  });
});
