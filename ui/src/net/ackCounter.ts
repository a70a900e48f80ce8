// Receive-acks for the server's flow control: it withholds audio from a client whose
// unacknowledged frames exceed its window, so we ack cumulatively every few frames.

export const ACK_EVERY = 5;

export class AckCounter {
  private total = 0;
  private sinceAck = 0;

  constructor(private readonly every = ACK_EVERY) {
    if (!Number.isInteger(every) || every < 1) throw new Error(`ack interval must be a positive integer, got ${every}`);
  }

  /** Counts received frames; returns the cumulative total to ack, or null when not yet due. */
  received(frames = 1): number | null {
    this.total = (this.total + frames) >>> 0;
    this.sinceAck += frames;
    if (this.sinceAck < this.every) return null;
    this.sinceAck = 0;
    return this.total;
  }

  /** The count is per connection: a new socket starts from zero. */
  reset(): void {
    this.total = 0;
    this.sinceAck = 0;
  }

  get count(): number {
    return this.total;
  }
}
