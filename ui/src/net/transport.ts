// What a RoomConnection talks through: a WebSocket (control and audio), or HTTP long polling
// (control only, for when no socket can be had: ./pollTransport.ts). Both look alike to the
// connection, so every message is handled the same way whichever carried it.

export type TransportKind = 'socket' | 'poll';

export interface Transport {
  readonly kind: TransportKind;
  /** Messages can be sent now. */
  readonly isOpen: boolean;
  /** Bytes queued and not yet sent (audio is dropped above a bound rather than queued). */
  readonly bufferedAmount: number;
  onopen: (() => void) | null;
  /** A text control message (string) or an audio message (ArrayBuffer). */
  onmessage: ((data: unknown) => void) | null;
  /** Closed, not by us: reconnecting is decided by the code (WebSocket close codes). */
  onclose: ((code: number) => void) | null;
  /** The server dropped messages meant for us (a poll queue overflowed): ask again with `sync`. */
  onlost: (() => void) | null;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code: number, reason: string): void;
}

// WebSocket readyState values, written out so a WebSocket implementation can be passed in.
const CONNECTING = 0;
const OPEN = 1;

/** A WebSocket as a Transport. */
export class SocketTransport implements Transport {
  readonly kind = 'socket';
  onopen: (() => void) | null = null;
  onmessage: ((data: unknown) => void) | null = null;
  onclose: ((code: number) => void) | null = null;
  onlost: (() => void) | null = null;
  private readonly socket: WebSocket;

  constructor(url: string, Impl: new (url: string) => WebSocket = WebSocket) {
    const socket = new Impl(url);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => this.onopen?.();
    socket.onmessage = (message) => this.onmessage?.(message.data);
    socket.onclose = (event) => this.onclose?.(event.code);
    socket.onerror = () => {
      /* onclose follows with the code; that is where reconnecting is decided */
    };
    this.socket = socket;
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  send(data: string | Uint8Array<ArrayBuffer>): void {
    this.socket.send(data);
  }

  close(code: number, reason: string): void {
    this.onclose = null;
    this.onmessage = null;
    this.onopen = null;
    const state = this.socket.readyState;
    if (state === OPEN || state === CONNECTING) this.socket.close(code, reason);
  }
}
