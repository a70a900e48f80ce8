// Which transport a room connection uses: the WebSocket (control and audio) whenever it can,
// HTTP long polling (chat only) when the socket cannot open (a proxy strips upgrades) or the
// node refuses it at its socket cap. While polling, a socket is tried again now and then.

import { backoffDelay, type BackoffConfig } from './backoff';
import type { TransportKind } from './transport';

/** A socket that closed before opening this many times in a row sends us to polling. */
export const SOCKET_TRIES_BEFORE_POLLING = 2;
/** While polling, a socket is tried again after 15–20 s, then less often, at most every 30 s. */
export const PROBE_BACKOFF: BackoffConfig = { baseMs: 20_000, maxMs: 30_000, jitter: 0.25 };

export class TransportChoice {
  private current: TransportKind = 'socket';
  private failedOpens = 0;
  private probes = 0;

  /** `pollingAvailable: false` keeps the socket only (no fallback). */
  constructor(private readonly pollingAvailable: boolean) {}

  get mode(): TransportKind {
    return this.current;
  }

  /** A socket closed before it opened. True when the connection should poll from now on. */
  socketFailedToOpen(): boolean {
    this.failedOpens++;
    return this.toPolling(this.failedOpens >= SOCKET_TRIES_BEFORE_POLLING);
  }

  /** The node refused the socket at its connection cap (too_many_connections). True: poll. */
  socketRefusedAtCap(): boolean {
    return this.toPolling(true);
  }

  /** A socket opened: failures before it no longer count. */
  socketOpened(): void {
    this.failedOpens = 0;
  }

  /** A socket tried while polling opened: the room moves onto it (refused there, it polls again). */
  probeOpened(): void {
    this.current = 'socket';
    this.failedOpens = 0;
  }

  /** A socket got us into the room: back on it for good. */
  socketWelcomed(): void {
    this.current = 'socket';
    this.failedOpens = 0;
    this.probes = 0;
  }

  /**
   * The node could not be reached over HTTP either (it is down or restarting): try the
   * socket again first, so audio comes back with the node.
   */
  pollUnreachable(): void {
    this.current = 'socket';
    this.failedOpens = 0;
  }

  /** How long to wait before trying a socket again while polling; each call backs off. */
  nextProbeDelay(random: number): number {
    return backoffDelay(this.probes++, random, PROBE_BACKOFF);
  }

  private toPolling(should: boolean): boolean {
    if (!should || !this.pollingAvailable || this.current === 'poll') return false;
    this.current = 'poll';
    this.probes = 0;
    return true;
  }
}
