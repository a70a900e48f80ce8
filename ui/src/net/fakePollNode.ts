// For tests only: the node's side of the polling transport (docs/http-api.md, "Polling
// transport (any participant)") in memory, behind a fetch function. It keeps one queue per
// session, numbers its messages, holds a Poll until something arrives, and records every call.

import type { FetchLike } from './pollTransport';

export interface RecordedCall {
  url: string;
  method: string;
  args: unknown;
}

interface FakeSession {
  id: string;
  /** (number, message) after the last acknowledged cursor. */
  queue: [number, unknown][];
  last: number;
  waiting: (() => void) | null;
  lost: boolean;
}

type Answer = { Ok: unknown } | { Err: { code: string; message: string } } | { status: number };

export class FakePollNode {
  readonly calls: RecordedCall[] = [];
  readonly sessions: FakeSession[] = [];
  /** Answers PollJoin (default: a new session with what `onJoin` queues). */
  onJoin: (join: Record<string, unknown>, session: FakeSession) => Answer | void = () => {};
  /** Answers PollSend (default: Ok). */
  onSend: (message: Record<string, unknown>, session: FakeSession) => Answer | void = () => {};
  /** Answers the next Polls with these instead (a 503, a network error, an Err), one each. */
  readonly pollFailures: (Answer | 'network')[] = [];
  private counter = 0;

  readonly fetch: FetchLike = async (url, init) => {
    const body = JSON.parse(String(init.body)) as Record<string, unknown>;
    const [method] = Object.keys(body);
    const args = body[method];
    this.calls.push({ url, method, args });
    const answer = await this.answer(method, args, init.signal ?? undefined);
    if (answer === 'network') throw new TypeError('Failed to fetch');
    if ('status' in answer) return new Response('busy', { status: answer.status });
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  };

  /** Queues a server→client message for a session (the newest by default). */
  push(message: unknown, session = this.sessions[this.sessions.length - 1]): void {
    session.queue.push([++session.last, message]);
    const wake = session.waiting;
    session.waiting = null;
    wake?.();
  }

  /** Drops what is queued, as an overflow would: the next Poll says `lost`. */
  overflow(session = this.sessions[this.sessions.length - 1]): void {
    session.queue = [];
    session.lost = true;
    this.push({ type: 'pong', t: 0 }, session);
  }

  /** Forgets a session, as expiry would: its calls are answered unknown_session. */
  expire(session = this.sessions[this.sessions.length - 1]): void {
    this.sessions.splice(this.sessions.indexOf(session), 1);
    const wake = session.waiting;
    session.waiting = null;
    wake?.();
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private find(id: unknown): FakeSession | undefined {
    return this.sessions.find((s) => s.id === id);
  }

  private async answer(method: string, args: unknown, signal?: AbortSignal): Promise<Answer | 'network'> {
    const gone = { Err: { code: 'unknown_session', message: 'no such session' } };
    switch (method) {
      case 'PollJoin': {
        const session: FakeSession = { id: `s${++this.counter}`, queue: [], last: 0, waiting: null, lost: false };
        this.sessions.push(session);
        const refused = this.onJoin(args as Record<string, unknown>, session);
        if (refused) {
          this.sessions.pop();
          return refused;
        }
        const messages = session.queue.map(([, m]) => m);
        return { Ok: { session: session.id, cursor: session.last, messages } };
      }
      case 'PollSend': {
        const [id, message] = args as [string, Record<string, unknown>];
        const session = this.find(id);
        if (!session) return gone;
        return this.onSend(message, session) ?? { Ok: null };
      }
      case 'Poll': {
        const failure = this.pollFailures.shift();
        if (failure) return failure;
        const [id, cursor] = args as [string, number];
        let session = this.find(id);
        if (!session) return gone;
        session.queue = session.queue.filter(([n]) => n > cursor);
        if (session.queue.length === 0) {
          await new Promise<void>((resolve, reject) => {
            session!.waiting = resolve;
            signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          });
          session = this.find(id);
          if (!session) return gone;
        }
        const lost = session.lost;
        session.lost = false;
        return { Ok: { cursor: session.last, messages: session.queue.map(([, m]) => m), lost } };
      }
      case 'PollLeave': {
        const session = this.find(args);
        if (!session) return gone;
        this.sessions.splice(this.sessions.indexOf(session), 1);
        return { Ok: null };
      }
      default:
        return { Err: { code: 'unknown_method', message: method } };
    }
  }
}
