// One room over one WebSocket, kept alive across drops: heartbeat with RTT, receive-acks,
// reconnect with exponential backoff, and resume (same participant, missed events replayed).
// When no socket can be had, the same room over HTTP long polling (chat only), with a socket
// tried again now and then (./transportChoice.ts).

import { decodeAudioFrames, encodeAck, type AudioFrame } from '../protocol/frame';
import {
  ControlParseError,
  encodeClientMessage,
  parseServerMessage,
  type ClientBody,
  type E2eeKeyMessage,
  type ParticipantId,
  type ProtocolErrorMessage,
  type ServerMessage,
} from '../protocol/control';
import { applyServerMessage, type RoomState } from './roomState';
import { AckCounter } from './ackCounter';
import { backoffDelay, isFinalClose } from './backoff';
import { RateMeter, RttEstimator } from './linkStats';
import { isJoinRefusal } from './joinRefusal';
import { BROWSER_TIMERS, type Timers } from './timers';
import { MuteForMe, type MuteForMeStatus } from './muteForMe';
import { SocketTransport, type Transport, type TransportKind } from './transport';
import { POLL_SESSION_GONE, POLL_UNREACHABLE, PollTransport, type FetchLike } from './pollTransport';
import { TransportChoice } from './transportChoice';

export const PING_EVERY_MS = 2000;
/** No message for this long (three missed pongs) means the socket is dead, or the process behind it restarted and forgot it. */
export const SILENCE_TIMEOUT_MS = 6000;
export const SYNC_EVERY_HEARTBEATS = 5;
/** A join with neither welcome nor error by then is reported, not left spinning. */
export const JOIN_TIMEOUT_MS = 15_000;
/** Above this much unsent data, outgoing audio is dropped rather than queued: late audio is worthless. */
export const MAX_BUFFERED_BYTES = 16 * 1024;

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

export interface JoinRequest {
  room: string;
  name: string;
  invite?: string;
  host?: string;
}

export interface ConnectionSnapshot {
  status: ConnectionStatus;
  room: RoomState | null;
  attempt: number;
  rttMs: number | null;
  inBitsPerSecond: number;
  outBitsPerSecond: number;
  /** Why the room could not be joined (status 'failed'). */
  failure: ProtocolErrorMessage | null;
  /** Participants muted for me ("Mute for me"), by id: asked, or confirmed by the server. Absent: heard. */
  mutedForMe?: Readonly<Record<ParticipantId, MuteForMeStatus>>;
  /** 'poll': no socket could be had, the room comes over HTTP (chat only, no audio). Absent: socket. */
  transport?: TransportKind;
}

export interface RoomConnectionOptions {
  url: string;
  join: JoinRequest;
  onAudio: (frame: AudioFrame) => void;
  onError: (error: ProtocolErrorMessage) => void;
  /** Called after every (re)join so audio can restart. */
  onWelcome?: (state: RoomState) => void;
  /** The browser's WebSocket unless given (Node has none before v22; tests pass the `ws` one). */
  WebSocketImpl?: new (url: string) => WebSocket;
  /** Uniform random numbers for backoff jitter. */
  random?: () => number;
  pingEveryMs?: number;
  silenceTimeoutMs?: number;
  joinTimeoutMs?: number;
  /** The room as an earlier page knew it: the first join then resumes instead (reload). */
  resumeFrom?: RoomState | null;
  /** The page's timers unless given: tests pass ones they can inspect and run. */
  timers?: Timers;
  /**
   * HTTP long polling to fall back on when the socket cannot open or is refused at the node's
   * socket cap: `url` is `<base>/guest-api` (guests) or `<base>/api` (owner). Absent: socket only.
   */
  poll?: { url: string; fetch?: FetchLike };
  /** A room key wrapped for us (`e2ee_key`), over either transport; the room state does not hold it. */
  onE2eeKey?: (message: E2eeKeyMessage) => void;
}

export type { Timers };

export class RoomConnection {
  private socket: Transport | null = null;
  /** Whether the current transport has opened (a socket that closes before is a failure to open). */
  private socketOpened = false;
  private readonly choice: TransportChoice;
  /** While polling: the socket being tried again, and the timer until the next try. */
  private probe: Transport | null = null;
  private probeTimer: unknown = null;
  /**
   * A poll session we stopped using (a socket took over, or we reconnect): left once the next
   * welcome says our participant is elsewhere. Leaving it before would take us out of the room.
   */
  private retiring: PollTransport | null = null;
  private state: RoomState | null = null;
  private status: ConnectionStatus = 'connecting';
  private attempt = 0;
  private failure: ProtocolErrorMessage | null = null;
  private readonly acks = new AckCounter();
  private readonly rtt = new RttEstimator();
  private readonly inRate = new RateMeter();
  private readonly outRate = new RateMeter();
  private pingTimer: unknown = null;
  private retryTimer: unknown = null;
  private joinTimer: unknown = null;
  private readonly timers: Timers;
  private lastHeardMs = 0;
  private closedByUs = false;
  private refCounter = 0;
  private heartbeats = 0;
  private welcomed = false;
  private resumingSaved: boolean;
  private readonly listeners = new Set<() => void>();
  private readonly muteForMe = new MuteForMe();
  private snapshotCache: ConnectionSnapshot | null = null;

  constructor(private readonly options: RoomConnectionOptions) {
    this.timers = options.timers ?? BROWSER_TIMERS;
    this.state = options.resumeFrom ?? null;
    this.resumingSaved = this.state !== null;
    this.choice = new TransportChoice(options.poll !== undefined);
  }

  start(): void {
    this.closedByUs = false;
    this.open();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stable between changes, as React's useSyncExternalStore requires. */
  snapshot(): ConnectionSnapshot {
    if (!this.snapshotCache) {
      const now = performance.now();
      this.snapshotCache = {
        status: this.status,
        room: this.state,
        attempt: this.attempt,
        rttMs: this.rtt.value,
        inBitsPerSecond: this.inRate.bitsPerSecond(now),
        outBitsPerSecond: this.outRate.bitsPerSecond(now),
        failure: this.failure,
        mutedForMe: this.muteForMe.status(this.state),
        transport: this.socket?.kind ?? this.choice.mode,
      };
    }
    return this.snapshotCache;
  }

  private changed(): void {
    this.snapshotCache = null;
    for (const l of this.listeners) l();
  }

  /** Sends a control message; returns its ref so an error can be matched to it. */
  send(body: ClientBody): string | null {
    if (!this.socket || !this.socket.isOpen || this.status !== 'live') {
      this.options.onError({
        type: 'error',
        code: 'not_connected',
        message: 'Not connected to the room right now; try again when the badge is green.',
        ref: null,
      });
      return null;
    }
    const ref = `c${++this.refCounter}`;
    this.socket.send(encodeClientMessage(body, ref));
    return ref;
  }

  /**
   * "Mute for me": stop (or start again) receiving a participant's audio on this socket. The
   * choice holds for this connection's life: it is sent now if live, and again after every
   * welcome (the server forgets subscriptions at join) and whenever the participant's stream
   * changes. A refusal is reported through onError and the choice goes back to what is true.
   */
  setMutedForMe(participant: ParticipantId, muted: boolean): void {
    this.muteForMe.choose(participant, muted);
    this.applyMuteForMe();
    this.changed();
  }

  private applyMuteForMe(): void {
    const socket = this.socket;
    // A poll session takes no audio: nothing to mute until a socket is back (its welcome applies them).
    if (!this.state || !socket || !socket.isOpen || socket.kind !== 'socket' || this.status !== 'live') return;
    for (const op of this.muteForMe.plan(this.state)) {
      const ref = `c${++this.refCounter}`;
      socket.send(encodeClientMessage({ type: op.type, pattern: op.pattern }, ref));
      this.muteForMe.sent(ref, op);
    }
  }

  /** Sends one encoded audio frame if the socket can take it now. */
  sendAudio(bytes: Uint8Array<ArrayBuffer>): boolean {
    const socket = this.socket;
    if (!socket || !socket.isOpen || socket.kind !== 'socket' || this.status !== 'live') return false;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return false;
    socket.send(bytes);
    this.outRate.add(bytes.length, performance.now());
    return true;
  }

  /**
   * Leaves the room. On page unload pass `notify: false`: the page is going away and must not
   * react as if the user had left (a reload rejoins).
   */
  leave({ notify = true }: { notify?: boolean } = {}): void {
    this.closedByUs = true;
    if (this.socket?.isOpen) {
      this.socket.send(encodeClientMessage({ type: 'leave' }));
    }
    // Taken over by a socket not yet welcomed: the participant may still be on the poll session.
    void this.retiring?.leaveSession();
    this.retiring = null;
    this.teardown(1000, 'left');
    this.status = 'ended';
    if (notify) this.changed();
  }

  private open(): void {
    const poll = this.options.poll;
    const transport =
      this.choice.mode === 'poll' && poll
        ? new PollTransport({ url: poll.url, fetch: poll.fetch, timers: this.timers, random: this.options.random })
        : new SocketTransport(this.options.url, this.options.WebSocketImpl);
    this.attach(transport);
  }

  private attach(transport: Transport): void {
    this.socket = transport;
    this.socketOpened = false;
    this.acks.reset();
    transport.onopen = () => this.opened(transport);
    transport.onmessage = (data) => this.receive(data);
    transport.onclose = (code) => this.closed(transport, code);
    transport.onlost = () => {
      // The poll queue overflowed: ask for what we missed, from the last seq we have.
      if (this.state && this.socket === transport) transport.send(encodeClientMessage({ type: 'sync', last_seq: this.state.seq }));
    };
  }

  private opened(socket: Transport): void {
    this.socketOpened = true;
    if (socket.kind === 'socket') this.choice.socketOpened();
    this.lastHeardMs = performance.now();
    const { room, name, invite, host } = this.options.join;
    const body: ClientBody = { type: 'join', room, name };
    if (invite) body.invite = invite;
    if (host) body.host = host;
    if (this.state) body.resume = { token: this.state.resumeToken, last_seq: this.state.seq };
    socket.send(encodeClientMessage(body, 'join'));
    this.startHeartbeat();
    this.clearJoinTimer();
    // Only a first join can fail this way; a resume that hangs is the silence timeout's job.
    if (!this.state) {
      this.joinTimer = this.timers.setTimeout(() => this.joinTimedOut(), this.options.joinTimeoutMs ?? JOIN_TIMEOUT_MS);
    }
  }

  /** From a socket that could not be had to HTTP polling, now; a socket is tried again later. */
  private switchToPolling(): void {
    const socket = this.socket;
    this.stopHeartbeat();
    this.clearJoinTimer();
    this.socket = null;
    socket?.close(1000, 'polling instead');
    this.open();
    this.scheduleProbe();
    this.changed();
  }

  private scheduleProbe(): void {
    this.cancelProbe();
    if (this.closedByUs) return;
    const delay = this.choice.nextProbeDelay((this.options.random ?? Math.random)());
    this.probeTimer = this.timers.setTimeout(() => {
      this.probeTimer = null;
      this.probeSocket();
    }, delay);
  }

  private cancelProbe(): void {
    if (this.probeTimer !== null) this.timers.clearTimeout(this.probeTimer);
    this.probeTimer = null;
    const probe = this.probe;
    this.probe = null;
    probe?.close(1000, 'not needed');
  }

  /** While polling, tries a socket; if it opens, the room moves onto it (resuming there). */
  private probeSocket(): void {
    if (this.closedByUs || this.choice.mode !== 'poll') return;
    const probe = new SocketTransport(this.options.url, this.options.WebSocketImpl);
    this.probe = probe;
    probe.onopen = () => {
      if (this.probe !== probe) return;
      this.probe = null;
      this.takeOver(probe);
    };
    probe.onclose = () => {
      if (this.probe !== probe) return;
      this.probe = null;
      this.scheduleProbe();
    };
  }

  /**
   * A socket opened while polling: it joins (resuming our participant, which moves it off the
   * poll session), and the poll session is left only once the socket is welcomed. Leaving it
   * first would take the participant out of the room.
   */
  private takeOver(probe: Transport): void {
    const polling = this.socket;
    this.stopHeartbeat();
    this.clearJoinTimer();
    // Between two poll sessions (a reconnect waiting out its backoff): the socket replaces it.
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (polling instanceof PollTransport) {
      polling.close(4001, 'socket instead');
      this.retiring = polling;
    } else {
      polling?.close(1000, 'socket instead');
    }
    this.choice.probeOpened();
    this.attach(probe);
    if (this.state) this.status = 'reconnecting';
    this.opened(probe);
    this.changed();
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.pingTimer = this.timers.setInterval(() => {
      const socket = this.socket;
      if (!socket || !socket.isOpen) return;
      if (performance.now() - this.lastHeardMs > (this.options.silenceTimeoutMs ?? SILENCE_TIMEOUT_MS)) {
        // close() on a half-dead TCP connection can take minutes to fire onclose; move on now.
        this.reconnectNow(socket);
        return;
      }
      socket.send(encodeClientMessage({ type: 'ping', t: performance.now() }));
      // Now and then ask for anything missed: it fills gaps, and a process that restarted and
      // forgot this socket answers not_joined, which sends us through reconnect and resume.
      if (++this.heartbeats % SYNC_EVERY_HEARTBEATS === 0 && this.status === 'live' && this.state) {
        socket.send(encodeClientMessage({ type: 'sync', last_seq: this.state.seq }));
      }
      this.changed();
    }, this.options.pingEveryMs ?? PING_EVERY_MS);
  }

  private clearJoinTimer(): void {
    if (this.joinTimer !== null) this.timers.clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  private joinTimedOut(): void {
    this.joinTimer = null;
    if (this.status === 'live' || this.status === 'ended' || this.status === 'failed') return;
    const remote = this.options.join.host ? ` (the room is on ${this.options.join.host})` : '';
    this.failure = {
      type: 'error',
      code: 'join_timeout',
      message: `The room did not answer the join request${remote}.`,
      ref: 'join',
    };
    this.status = 'failed';
    this.closedByUs = true;
    this.teardown(1000, 'join timed out');
    this.changed();
  }

  /** Drops this socket and goes through the normal reconnect-and-resume path. */
  private reconnectNow(socket: Transport): void {
    this.closed(socket, 4000);
    socket.close(4000, 'reconnecting');
  }

  private stopHeartbeat(): void {
    if (this.pingTimer !== null) this.timers.clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private receive(data: unknown): void {
    this.lastHeardMs = performance.now();
    if (data instanceof ArrayBuffer) {
      this.receiveAudio(new Uint8Array(data));
      return;
    }
    if (typeof data !== 'string') return;
    let message: ServerMessage;
    try {
      message = parseServerMessage(data);
    } catch (e) {
      if (e instanceof ControlParseError) {
        this.options.onError({ type: 'error', code: 'bad_server_message', message: e.message, ref: null });
        return;
      }
      throw e;
    }
    this.handle(message);
  }

  private receiveAudio(bytes: Uint8Array): void {
    this.inRate.add(bytes.length, performance.now());
    let frames: AudioFrame[];
    try {
      frames = decodeAudioFrames(bytes);
    } catch (e) {
      // One bad frame is not worth a toast per 20 ms; it is visible as loss in the badge.
      console.warn('dropped undecodable audio message', e);
      return;
    }
    const ackTotal = this.acks.received(frames.length);
    if (ackTotal !== null && this.socket?.isOpen) this.socket.send(encodeAck(ackTotal));
    for (const frame of frames) this.options.onAudio(frame);
  }

  private handle(message: ServerMessage): void {
    if (message.type === 'pong') {
      this.rtt.sample(performance.now() - message.t);
      this.changed();
      return;
    }
    if (message.type === 'e2ee_key') {
      this.options.onE2eeKey?.(message);
      return;
    }
    if (message.type === 'subscribed' || message.type === 'unsubscribed') {
      this.muteForMe.answered(message.type, message.pattern);
      this.changed();
      return;
    }
    if (message.type === 'error') {
      if (message.code === 'too_many_connections' && this.socket?.kind === 'socket' && this.status !== 'live' && this.choice.socketRefusedAtCap()) {
        // The node is at its socket cap: into the room over HTTP instead (chat only).
        this.switchToPolling();
        return;
      }
      const joinRefused = message.ref === 'join' || (message.ref == null && isJoinRefusal(message.code));
      if (joinRefused && this.resumingSaved && !this.welcomed) {
        // The saved room from before a reload could not be resumed (gone, closed, refused):
        // forget it and join afresh once; a refusal then is reported as usual.
        this.resumingSaved = false;
        this.state = null;
        if (this.socket) this.reconnectNow(this.socket);
        return;
      }
      if (this.socket && (message.code === 'unknown_connection' || (message.code === 'not_joined' && this.status === 'live'))) {
        // The process restarted under a socket the runtime kept open: it no longer knows us.
        this.reconnectNow(this.socket);
        return;
      }
      if (message.code === 'banned' && this.state && this.welcomed) {
        // We were in the room and the removal did not reach us as an event: the rejoin after a
        // drop, a command, or our node's sync says we are banned. That is the end of this room
        // for us, not a failed first join.
        this.clearJoinTimer();
        this.state = { ...this.state, ended: { why: 'banned' } };
        this.status = 'ended';
        this.closedByUs = true;
        this.teardown(1000, 'banned');
        this.changed();
        return;
      }
      // A socket over the app's limit is refused before its join is even read; a join proxied to
      // another node is refused by that node, and its error comes back without our ref.
      if (this.status !== 'live' && joinRefused) {
        // A refused join (unknown room, no invite, full) will be refused again: stop here.
        this.clearJoinTimer();
        this.failure = message;
        this.status = 'failed';
        this.closedByUs = true;
        this.teardown(1000, 'join refused');
        this.changed();
        return;
      }
      const op = this.muteForMe.refused(message.ref);
      if (op) {
        // Our subscribe/unsubscribe for "mute for me" (invalid_pattern, forbidden,
        // too_many_subscriptions, rate_limited, …): a notice, never the room's end.
        const who = this.state?.participants.find((p) => p.id === op.participant)?.name ?? 'this participant';
        const what = op.type === 'unsubscribe' ? `Could not mute ${who} for you` : `Could not hear ${who} again`;
        this.options.onError({ ...message, message: `${what}: ${message.message}` });
        this.changed();
        return;
      }
      this.options.onError(message);
      return;
    }
    let applied;
    try {
      applied = applyServerMessage(this.state, message, Date.now());
    } catch (e) {
      this.options.onError({ type: 'error', code: 'bad_server_message', message: String(e), ref: null });
      return;
    }
    this.state = applied.state;
    if (applied.syncFrom !== undefined && this.socket?.isOpen) {
      this.socket.send(encodeClientMessage({ type: 'sync', last_seq: applied.syncFrom }));
    }
    if (message.type === 'welcome') {
      this.welcomed = true;
      this.clearJoinTimer();
      if (this.socket?.kind === 'socket') {
        // On a socket again (or still): stop trying one.
        this.choice.socketWelcomed();
        this.cancelProbe();
      }
      // We are in on this transport: the poll session we left behind no longer holds us.
      if (this.retiring && this.retiring !== this.socket) void this.retiring.leaveSession();
      this.retiring = null;
      this.status = 'live';
      this.attempt = 0;
      // Measure RTT at once instead of showing nothing until the first heartbeat.
      this.socket?.send(encodeClientMessage({ type: 'ping', t: performance.now() }));
      // The join reset this socket's subscriptions to room.<id>.**: apply our choices again.
      this.muteForMe.reset();
      if (this.state) this.options.onWelcome?.(this.state);
    }
    // After a welcome, and whenever the participants (their streams) may have changed.
    if (!this.state?.ended) this.applyMuteForMe();
    if (this.state?.ended) {
      this.status = 'ended';
      this.closedByUs = true;
      this.teardown(1000, 'room ended');
    }
    this.changed();
  }

  private closed(socket: Transport, code: number): void {
    if (socket !== this.socket) return;
    const opened = this.socketOpened;
    this.stopHeartbeat();
    this.clearJoinTimer();
    this.socket = null;
    socket.onclose = null;
    socket.onmessage = null;
    // A poll session maybe still open on the server (we gave up on it: silence, a process
    // restart; or its join still on the way) is left after the next welcome; one the server
    // ended, or never opened, needs nothing.
    if (socket instanceof PollTransport && code !== POLL_SESSION_GONE && code !== POLL_UNREACHABLE) this.retiring = socket;
    // What this socket was told about "mute for me" goes with it; the next welcome applies it again.
    this.muteForMe.reset();
    if (this.closedByUs || isFinalClose(code, this.state?.ended != null)) {
      if (this.status !== 'failed') this.status = 'ended';
      this.changed();
      return;
    }
    this.status = this.state ? 'reconnecting' : 'connecting';
    if (socket.kind === 'socket' && !opened && this.choice.socketFailedToOpen()) {
      // No socket to be had (a proxy that strips upgrades, a blocked port): poll now.
      this.open();
      this.scheduleProbe();
      this.changed();
      return;
    }
    if (socket.kind === 'poll' && code === POLL_UNREACHABLE) {
      // Neither gets through: the node is down or restarting. Back to the socket first.
      this.choice.pollUnreachable();
      this.cancelProbe();
    }
    const delay = backoffDelay(this.attempt, (this.options.random ?? Math.random)());
    this.attempt++;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (!this.closedByUs) this.open();
    }, delay);
    this.changed();
  }

  private teardown(code: number, reason: string): void {
    this.stopHeartbeat();
    this.clearJoinTimer();
    this.cancelProbe();
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(code, reason);
    }
  }
}
