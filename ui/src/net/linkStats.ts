// Connection-badge numbers: RTT from ping/pong, bitrate in each direction, frame loss.

export class RttEstimator {
  private smoothed: number | null = null;
  last: number | null = null;

  /** RFC 6298-style smoothing so the badge does not flicker on one slow pong. */
  sample(rttMs: number): void {
    if (!(rttMs >= 0)) return;
    this.last = rttMs;
    this.smoothed = this.smoothed === null ? rttMs : this.smoothed + (rttMs - this.smoothed) / 8;
  }

  get value(): number | null {
    return this.smoothed;
  }
}

/** Bytes per second over a sliding window of whole seconds. */
export class RateMeter {
  private readonly buckets: { second: number; bytes: number }[] = [];

  constructor(private readonly windowSeconds = 3) {}

  add(bytes: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.second === second) last.bytes += bytes;
    else this.buckets.push({ second, bytes });
    this.prune(second);
  }

  private prune(second: number): void {
    while (this.buckets.length && this.buckets[0].second <= second - this.windowSeconds) this.buckets.shift();
  }

  /** Bits per second over the last complete seconds of the window. */
  bitsPerSecond(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    this.prune(second);
    let bytes = 0;
    for (const b of this.buckets) if (b.second < second) bytes += b.bytes;
    return (bytes * 8) / (this.windowSeconds - 1);
  }
}

/** Fraction of frames that left a hole (lost or too late) among those due to play. */
export function lossFraction(played: number, lost: number): number {
  const expected = played + lost;
  return expected === 0 ? 0 : lost / expected;
}
