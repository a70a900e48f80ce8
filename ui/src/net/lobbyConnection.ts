// The owner's lobby socket: subscribes to `node.rooms` without joining a room, keeps the
// lobby state from what arrives, pings so a dead socket is noticed, and reconnects with the
// usual backoff when the socket drops (each new socket gets the full list again).

import { ControlParseError, encodeClientMessage, NODE_ROOMS_TOPIC, parseServerMessage, type ProtocolErrorMessage } from '../protocol/control';
import { backoffDelay } from './backoff';
import { applyLobbyMessage, EMPTY_LOBBY, lobbyUnsynced, type LobbyState } from './lobby';
import { BROWSER_TIMERS, type Timers } from './timers';

/** A ping this often; no message for `LOBBY_SILENCE_MS` means the socket is dead. */
export const LOBBY_PING_MS = 5_000;
export const LOBBY_SILENCE_MS = 15_000;

const OPEN = 1;
const CONNECTING = 0;

export type LobbyStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped' | 'failed';

export interface LobbySnapshot {
  status: LobbyStatus;
  lobby: LobbyState;
  /** Reconnect attempts since the last full list. */
  attempt: number;
  /** Why the subscription was refused (status 'failed'). */
  failure: ProtocolErrorMessage | null;
}

export type LobbyTimers = Timers;

export interface LobbyConnectionOptions {
  /** The owner's socket URL (`socketUrl(location, false)`). */
  url: string;
  WebSocketImpl?: new (url: string) => WebSocket;
  random?: () => number;
  timers?: LobbyTimers;
  now?: () => number;
  pingEveryMs?: number;
  silenceTimeoutMs?: number;
}

export class LobbyConnection {
  private socket: WebSocket | null = null;
  private snap: LobbySnapshot = { status: 'connecting', lobby: EMPTY_LOBBY, attempt: 0, failure: null };
  private readonly listeners = new Set<() => void>();
  private readonly timers: LobbyTimers;
  private readonly now: () => number;
  private pingTimer: unknown = null;
  private retryTimer: unknown = null;
  private lastHeard = 0;

  constructor(private readonly options: LobbyConnectionOptions) {
    this.timers = options.timers ?? BROWSER_TIMERS;
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    if (this.snap.status === 'stopped') this.snap = { ...this.snap, status: 'connecting' };
    if (!this.socket && this.retryTimer === null) this.open();
  }

  stop(): void {
    this.teardown();
    this.set({ status: 'stopped' });
  }

  /** The current state; the same object until something changes (for useSyncExternalStore). */
  snapshot = (): LobbySnapshot => this.snap;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<LobbySnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l();
  }

  private open(): void {
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const socket = new Impl(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      this.lastHeard = this.now();
      socket.send(encodeClientMessage({ type: 'subscribe', pattern: NODE_ROOMS_TOPIC }, 'lobby'));
      this.startPing(socket);
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onclose = () => this.closed(socket);
    socket.onerror = () => {
      /* onclose follows */
    };
  }

  private receive(data: unknown): void {
    this.lastHeard = this.now();
    if (typeof data !== 'string') return;
    let message;
    try {
      message = parseServerMessage(data);
    } catch (e) {
      if (e instanceof ControlParseError) return;
      throw e;
    }
    if (message.type === 'error') {
      if (message.ref === 'lobby') {
        // Refused (not the owner's socket): retrying cannot help.
        this.teardown();
        this.set({ status: 'failed', failure: message });
      }
      return;
    }
    const lobby = applyLobbyMessage(this.snap.lobby, message);
    if (message.type === 'rooms') this.set({ lobby, status: 'live', attempt: 0 });
    else if (lobby !== this.snap.lobby) this.set({ lobby });
  }

  private startPing(socket: WebSocket): void {
    this.stopPing();
    this.pingTimer = this.timers.setInterval(() => {
      if (socket !== this.socket || socket.readyState !== OPEN) return;
      if (this.now() - this.lastHeard > (this.options.silenceTimeoutMs ?? LOBBY_SILENCE_MS)) {
        this.closed(socket);
        socket.close();
        return;
      }
      socket.send(encodeClientMessage({ type: 'ping', t: this.now() }));
    }, this.options.pingEveryMs ?? LOBBY_PING_MS);
  }

  private stopPing(): void {
    if (this.pingTimer !== null) this.timers.clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private closed(socket: WebSocket): void {
    if (socket !== this.socket) return;
    this.stopPing();
    this.socket = null;
    socket.onclose = null;
    socket.onmessage = null;
    if (this.snap.status === 'stopped' || this.snap.status === 'failed') return;
    const delay = backoffDelay(this.snap.attempt, (this.options.random ?? Math.random)());
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
    this.set({ status: 'reconnecting', attempt: this.snap.attempt + 1, lobby: lobbyUnsynced(this.snap.lobby) });
  }

  private teardown(): void {
    this.stopPing();
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      if (socket.readyState === OPEN || socket.readyState === CONNECTING) socket.close(1000, 'lobby closed');
    }
  }
}
