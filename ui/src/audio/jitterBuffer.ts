// Adaptive jitter buffer for one speaker. Pure: time comes in as arguments, so every policy
// (reorder, loss, late frames, drift, the delay cap) can be tested without a clock.
//
// The playout side calls pop() once per 20 ms of audio clock. Frames behind the play point are
// dropped as late rather than played, so delay never grows after a hiccup; the target delay
// follows the measured interarrival jitter (RFC 3550 estimator) within [minTarget, maxTarget];
// the hard cap skips ahead when a burst piles up; a sender whose clock runs fast is trimmed one
// frame at a time when the buffer stays above target.

export interface JitterConfig {
  frameMs: number;
  samplesPerMs: number;
  minTargetMs: number;
  maxTargetMs: number;
  capMs: number;
  /** Frames the buffer may sit above target before drift trimming counts it as too deep. */
  driftSlackFrames: number;
  /** Consecutive too-deep ticks before one frame is trimmed. */
  driftTicks: number;
  /** Concealed frames on an empty buffer before playout stops and re-buffers. */
  maxConcealFrames: number;
  /** A sequence jump larger than this means the sender restarted its stream. */
  resetGapFrames: number;
}

export const DEFAULT_JITTER_CONFIG: JitterConfig = {
  frameMs: 20,
  samplesPerMs: 48,
  minTargetMs: 40,
  maxTargetMs: 160,
  capMs: 240,
  driftSlackFrames: 2,
  driftTicks: 50,
  maxConcealFrames: 3,
  resetGapFrames: 500,
};

export interface Sequenced {
  sequence: number;
  timestamp: number;
}

export type PushResult = 'queued' | 'late' | 'duplicate' | 'reset';

export type PopResult<T> =
  | { kind: 'frame'; frame: T }
  /** A frame belongs here but is missing: the caller conceals it. */
  | { kind: 'conceal' }
  /** Nothing to play: not started, re-buffering, or the talk spurt ended. */
  | { kind: 'idle' };

export interface JitterStats {
  received: number;
  played: number;
  late: number;
  duplicate: number;
  /** Every concealed frame: `lost` plus `underrun`. */
  concealed: number;
  /** Holes between frames that did arrive: the network lost them, or they came too late. */
  lost: number;
  /** The buffer ran dry (end of a talk spurt, or a stall). */
  underrun: number;
  overflowDropped: number;
  driftDropped: number;
  resets: number;
  jitterMs: number;
  targetMs: number;
  depthMs: number;
}

/** Signed distance from b to a on a 32-bit wrapping counter. */
export function wrappingDiff32(a: number, b: number): number {
  return (a - b) | 0;
}

export class JitterBuffer<T extends Sequenced> {
  private readonly config: JitterConfig;
  private readonly frames = new Map<number, { frame: T; arrivalMs: number }>();
  private anchorSeq: number | null = null;
  private anchorExt = 0;
  private highestExt = 0;
  private lowestExt = 0;
  private playing = false;
  private nextExt = 0;
  /** Everything below this has been played or given up on. */
  private floorExt: number | null = null;
  private misses = 0;
  private overTargetTicks = 0;
  private lastTransit: number | null = null;
  private lastTimestamp = 0;
  private timestampExt = 0;
  private jitter = 0;
  private counters = {
    received: 0,
    played: 0,
    late: 0,
    duplicate: 0,
    concealed: 0,
    lost: 0,
    underrun: 0,
    overflowDropped: 0,
    driftDropped: 0,
    resets: 0,
  };

  constructor(config: Partial<JitterConfig> = {}) {
    this.config = { ...DEFAULT_JITTER_CONFIG, ...config };
    if (this.config.minTargetMs > this.config.maxTargetMs || this.config.maxTargetMs > this.config.capMs) {
      throw new Error('jitter config needs minTargetMs <= maxTargetMs <= capMs');
    }
  }

  targetMs(): number {
    const { frameMs, minTargetMs, maxTargetMs } = this.config;
    const wanted = Math.max(minTargetMs, 4 * this.jitter);
    return Math.min(maxTargetMs, Math.ceil(wanted / frameMs) * frameMs);
  }

  private targetFrames(): number {
    return this.targetMs() / this.config.frameMs;
  }

  private depthFrames(): number {
    if (this.frames.size === 0) return 0;
    const start = this.playing ? this.nextExt : this.lowestExt;
    return Math.max(0, this.highestExt - start + 1);
  }

  private reset(): void {
    this.frames.clear();
    this.anchorSeq = null;
    this.playing = false;
    this.floorExt = null;
    this.misses = 0;
    this.overTargetTicks = 0;
    this.lastTransit = null;
  }

  private extend(sequence: number): number {
    if (this.anchorSeq === null) {
      this.anchorSeq = sequence;
      this.anchorExt = 0;
      return 0;
    }
    return this.anchorExt + wrappingDiff32(sequence, this.anchorSeq);
  }

  private updateJitter(timestamp: number, arrivalMs: number): void {
    if (this.lastTransit === null) {
      this.timestampExt = 0;
    } else {
      this.timestampExt += wrappingDiff32(timestamp, this.lastTimestamp);
    }
    this.lastTimestamp = timestamp;
    const transit = arrivalMs - this.timestampExt / this.config.samplesPerMs;
    if (this.lastTransit !== null) {
      const d = Math.abs(transit - this.lastTransit);
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  push(frame: T, arrivalMs: number): PushResult {
    let result: PushResult = 'queued';
    if (this.anchorSeq !== null) {
      const jump = Math.abs(wrappingDiff32(frame.sequence, this.anchorSeq) + this.anchorExt - this.highestExt);
      if (jump > this.config.resetGapFrames) {
        this.reset();
        this.counters.resets++;
        result = 'reset';
      }
    }
    const ext = this.extend(frame.sequence);
    if (this.floorExt !== null && ext < this.floorExt) {
      this.counters.late++;
      return 'late';
    }
    if (this.frames.has(ext)) {
      this.counters.duplicate++;
      return 'duplicate';
    }
    this.counters.received++;
    if (this.frames.size === 0) {
      this.highestExt = ext;
      this.lowestExt = ext;
    } else {
      this.highestExt = Math.max(this.highestExt, ext);
      this.lowestExt = Math.min(this.lowestExt, ext);
    }
    // Re-anchor on the newest frame so the 32-bit window slides with the stream.
    if (ext === this.highestExt) {
      this.anchorSeq = frame.sequence;
      this.anchorExt = ext;
    }
    this.frames.set(ext, { frame, arrivalMs });
    this.updateJitter(frame.timestamp, arrivalMs);
    this.enforceCap();
    return result;
  }

  private dropBelow(ext: number, counter: 'overflowDropped' | 'driftDropped'): void {
    for (const key of [...this.frames.keys()]) {
      if (key < ext) {
        this.frames.delete(key);
        this.counters[counter]++;
      }
    }
    this.lowestExt = Math.max(this.lowestExt, ext);
    this.floorExt = Math.max(this.floorExt ?? ext, ext);
    if (this.playing) this.nextExt = Math.max(this.nextExt, ext);
  }

  private enforceCap(): void {
    if (this.depthFrames() * this.config.frameMs <= this.config.capMs) return;
    this.dropBelow(this.highestExt - this.targetFrames() + 1, 'overflowDropped');
  }

  pop(nowMs: number): PopResult<T> {
    if (!this.playing) {
      if (this.frames.size === 0) return { kind: 'idle' };
      const spanMs = this.depthFrames() * this.config.frameMs;
      const oldest = this.frames.get(this.lowestExt);
      const waitedMs = oldest ? nowMs - oldest.arrivalMs : 0;
      if (spanMs < this.targetMs() && waitedMs < this.targetMs()) return { kind: 'idle' };
      this.playing = true;
      this.nextExt = Math.min(...this.frames.keys());
      this.misses = 0;
      this.overTargetTicks = 0;
    }

    this.trimDrift();

    const entry = this.frames.get(this.nextExt);
    const ext = this.nextExt;
    this.nextExt++;
    this.floorExt = this.nextExt;
    if (entry) {
      this.frames.delete(ext);
      this.lowestExt = ext + 1;
      this.misses = 0;
      this.counters.played++;
      return { kind: 'frame', frame: entry.frame };
    }
    if (this.frames.size > 0) {
      this.counters.concealed++;
      this.counters.lost++;
      return { kind: 'conceal' };
    }
    this.misses++;
    if (this.misses > this.config.maxConcealFrames) {
      this.playing = false;
      return { kind: 'idle' };
    }
    this.counters.concealed++;
    this.counters.underrun++;
    return { kind: 'conceal' };
  }

  private trimDrift(): void {
    const over = this.depthFrames() > this.targetFrames() + this.config.driftSlackFrames;
    if (!over) {
      this.overTargetTicks = 0;
      return;
    }
    this.overTargetTicks++;
    if (this.overTargetTicks < this.config.driftTicks) return;
    this.overTargetTicks = 0;
    // Skip the next frame: one 20 ms step nearer the target per second of being too deep.
    const skip = this.nextExt;
    if (this.frames.delete(skip)) this.counters.driftDropped++;
    this.nextExt = skip + 1;
    this.floorExt = this.nextExt;
  }

  isPlaying(): boolean {
    return this.playing;
  }

  stats(): JitterStats {
    return {
      ...this.counters,
      jitterMs: this.jitter,
      targetMs: this.targetMs(),
      depthMs: this.depthFrames() * this.config.frameMs,
    };
  }
}
