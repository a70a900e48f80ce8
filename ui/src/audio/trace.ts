// Latency traces of sound onsets, for the mouth-to-ear bench's per-stage budget: the sender
// notes when a frame in which a sound starts was cut, encoded and handed to the socket; the
// receiver when such a frame came off the socket and out of the decoder. Times are wall-clock
// ms (onset.ts wallMs), so two pages on one machine can be lined up by sequence number.

export interface SendTrace {
  sequence: number;
  /** The capture worklet's frame reached the main thread. */
  frameAtMs: number;
  /** The encoder's chunk came back. */
  encodedAtMs: number;
  /** The frame was handed to the socket. */
  sentAtMs: number;
}

export interface ReceiveTrace {
  stream: number;
  sequence: number;
  receivedAtMs: number;
  decodedAtMs: number;
  /** What played before it in the playout buffer when it got there (ms), once the worklet says. */
  holdMs?: number;
}

/** The newest `capacity` entries. */
export class TraceRing<T> {
  private readonly items: T[] = [];

  constructor(private readonly capacity = 64) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  /** The newest entry that `matches`, if it is still held. */
  find(matches: (item: T) => boolean): T | undefined {
    return this.items.findLast(matches);
  }

  list(): T[] {
    return this.items.slice();
  }
}
