// The room's control messages over HTTP long polling (docs/http-api.md, "Polling transport (any
// participant)"), for a browser whose WebSocket cannot open or is refused at the node's socket
// cap. It looks like a socket to the RoomConnection: the join it is sent opens a session
// (PollJoin), later messages go out with PollSend, and a loop of Poll calls brings the server's
// messages in order. No audio ever goes either way.
//
// Failures map onto what a socket would do, so the connection's recovery applies unchanged:
// the session gone (unknown_session) closes this transport (POLL_SESSION_GONE) and the connection
// resumes with its token on a new one; a lost stretch of messages asks for `sync` (onlost).

import { backoffDelay } from './backoff';
import type { Transport } from './transport';
import { BROWSER_TIMERS, type Timers } from './timers';

/** Closed because the node could not be reached for the join (the connection may try a socket again). */
export const POLL_UNREACHABLE = 4002;
/** Closed because the session is gone or broken: reconnect and resume, as after a dropped socket. */
export const POLL_SESSION_GONE = 4004;
/** Sends (not polls) are retried this many times on a network error, 408 or 5xx. */
export const SEND_TRIES = 4;

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** What one call gave: the Ok value, or the Err the server answered with. */
export type CallResult = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** A network error, a 408 or a 5xx: worth trying again after a while. */
export class RetryableError extends Error {}

export type PollTimers = Pick<Timers, 'setTimeout' | 'clearTimeout'>;

export interface PollTransportOptions {
  /** `<base>/guest-api` for guests, `<base>/api` for the node's owner. */
  url: string;
  fetch?: FetchLike;
  timers?: PollTimers;
  random?: () => number;
}

/** One hyperapp-style call: POST {"Method": args}; {"Ok": v} or {"Err": {code, message}}. */
export async function pollCall(fetchImpl: FetchLike, url: string, method: string, args: unknown, signal?: AbortSignal): Promise<CallResult> {
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      // A leave sent while the page goes away should still reach the node.
      keepalive: method !== 'Poll',
      body: JSON.stringify({ [method]: args }),
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new RetryableError(`could not reach the node: ${String(e)}`);
  }
  if (response.status === 408 || response.status >= 500) throw new RetryableError(`HTTP ${response.status}`);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // A login page or a proxy's error page: nothing this transport can use.
    throw new RetryableError(`HTTP ${response.status}: not JSON`);
  }
  if (body && typeof body === 'object' && 'Err' in body) {
    const err = (body as { Err: unknown }).Err as { code?: unknown; message?: unknown } | null;
    return { ok: false, code: String(err?.code ?? 'error'), message: String(err?.message ?? '') };
  }
  if (body && typeof body === 'object' && 'Ok' in body) return { ok: true, value: (body as { Ok: unknown }).Ok };
  throw new RetryableError(`HTTP ${response.status}: neither Ok nor Err`);
}

interface PollAnswer {
  cursor: number;
  messages: unknown[];
  lost: boolean;
}

function asAnswer(value: unknown): PollAnswer {
  const v = (value ?? {}) as { cursor?: unknown; messages?: unknown; lost?: unknown };
  if (typeof v.cursor !== 'number' || !Array.isArray(v.messages)) throw new RetryableError('malformed poll answer');
  return { cursor: v.cursor, messages: v.messages, lost: v.lost === true };
}

/** The server's messages come as JSON values; the connection parses text, as from a socket. */
function asText(message: unknown): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

const DEFAULT_TIMERS: PollTimers = BROWSER_TIMERS;

export class PollTransport implements Transport {
  readonly kind = 'poll';
  readonly bufferedAmount = 0;
  onopen: (() => void) | null = null;
  onmessage: ((data: unknown) => void) | null = null;
  onclose: ((code: number) => void) | null = null;
  onlost: (() => void) | null = null;
  private open = true;
  private session: string | null = null;
  private cursor = 0;
  /** Sends go out one after another, the join first. */
  private outgoing: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private readonly fetchImpl: FetchLike;
  private readonly timers: PollTimers;
  /** Backoff waits under way, ended early (resolved) when the transport closes. */
  private readonly waits = new Map<unknown, () => void>();

  constructor(private readonly options: PollTransportOptions) {
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.timers = options.timers ?? DEFAULT_TIMERS;
    // Open at once, but after the caller has set its handlers (as a socket would).
    void Promise.resolve().then(() => {
      if (this.open) this.onopen?.();
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** The session's secret once joined (tests, and leaving it later). */
  get sessionId(): string | null {
    return this.session;
  }

  send(data: string | Uint8Array<ArrayBuffer>): void {
    if (!this.open || typeof data !== 'string') return; // no audio over HTTP
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    this.outgoing = this.outgoing.then(() => (message.type === 'join' && !this.session ? this.join(message) : this.sendOne(message)));
  }

  /**
   * Stops without ending the session: a socket is about to resume the participant, which
   * moves it off this session. `leave: true` (the user left, code 1000) also ends the session.
   */
  close(code: number, _reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.onopen = this.onmessage = this.onclose = this.onlost = null;
    for (const [handle, resolve] of this.waits) {
      this.timers.clearTimeout(handle);
      resolve();
    }
    this.waits.clear();
    this.abort.abort();
    if (code === 1000) void this.leaveSession();
  }

  /** PollLeave, after whatever is still being sent (a `leave` goes first). Never fails. */
  async leaveSession(): Promise<void> {
    await this.outgoing;
    const session = this.session;
    if (!session) return;
    this.session = null;
    try {
      await pollCall(this.fetchImpl, this.options.url, 'PollLeave', session);
    } catch {
      /* the session expires on its own */
    }
  }

  private async join(message: Record<string, unknown>): Promise<void> {
    let result: CallResult;
    try {
      result = await pollCall(this.fetchImpl, this.options.url, 'PollJoin', message, this.abort.signal);
    } catch {
      this.closeBy(POLL_UNREACHABLE);
      return;
    }
    if (!this.open) {
      // Closed while the join was on its way: keep the secret (no polling) so leaveSession can
      // end it, when the participant is safely elsewhere or the user left (it awaits this join).
      const late = result.ok ? (result.value as { session?: unknown } | null)?.session : undefined;
      if (typeof late === 'string') this.session = late;
      return;
    }
    if (!result.ok) {
      // Refused as a socket's join would be (room_not_found, too_many_sessions, …).
      this.deliver({ type: 'error', code: result.code, message: result.message, ref: message.ref ?? 'join' });
      return;
    }
    const started = (result.value ?? {}) as { session?: unknown; cursor?: unknown; messages?: unknown };
    if (typeof started.session !== 'string' || typeof started.cursor !== 'number') {
      this.closeBy(POLL_UNREACHABLE);
      return;
    }
    this.session = started.session;
    this.cursor = started.cursor;
    for (const m of Array.isArray(started.messages) ? started.messages : []) this.deliver(m);
    void this.pollLoop();
  }

  private async sendOne(message: Record<string, unknown>): Promise<void> {
    for (let attempt = 0; this.open && this.session; attempt++) {
      try {
        const result = await pollCall(this.fetchImpl, this.options.url, 'PollSend', [this.session, message], this.abort.signal);
        if (result.ok) return;
        if (result.code === 'unknown_session') return this.closeBy(POLL_SESSION_GONE);
        // Refused as a whole (too large, rate limited): told like a socket's error for it.
        this.deliver({ type: 'error', code: result.code, message: result.message, ref: message.ref ?? null });
        return;
      } catch (e) {
        if (!(e instanceof RetryableError)) return; // aborted: closed
        if (attempt + 1 >= SEND_TRIES) {
          this.deliver({ type: 'error', code: 'not_connected', message: 'Could not reach the room to send that; try again.', ref: message.ref ?? null });
          return;
        }
        await this.wait(backoffDelay(attempt, (this.options.random ?? Math.random)()));
      }
    }
  }

  /** Poll after poll, each from the cursor the last one returned, for as long as we are open. */
  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (this.open && this.session) {
      let result: CallResult;
      try {
        result = await pollCall(this.fetchImpl, this.options.url, 'Poll', [this.session, this.cursor], this.abort.signal);
      } catch (e) {
        if (!(e instanceof RetryableError) || !this.open) return;
        await this.wait(backoffDelay(failures++, (this.options.random ?? Math.random)()));
        continue;
      }
      if (!this.open) return;
      if (!result.ok) {
        // unknown_session (expired, closed by the server) or anything else: resume anew.
        this.closeBy(POLL_SESSION_GONE);
        return;
      }
      let answer: PollAnswer;
      try {
        answer = asAnswer(result.value);
      } catch {
        await this.wait(backoffDelay(failures++, (this.options.random ?? Math.random)()));
        continue;
      }
      failures = 0;
      this.cursor = answer.cursor;
      for (const m of answer.messages) this.deliver(m);
      if (answer.lost && this.open) this.onlost?.();
    }
  }

  private deliver(message: unknown): void {
    if (this.open) this.onmessage?.(asText(message));
  }

  private closeBy(code: number): void {
    if (!this.open) return;
    const onclose = this.onclose;
    this.close(code, 'poll session ended');
    onclose?.(code);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.timers.setTimeout(() => {
        this.waits.delete(handle);
        resolve();
      }, ms);
      this.waits.set(handle, resolve);
    });
  }
}
