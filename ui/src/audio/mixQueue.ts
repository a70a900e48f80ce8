// One speaker's PCM waiting in the mixer. Pure so that its policies are testable: it starts
// only with a margin in hand (decoding is asynchronous), restarts the same way after running
// dry rather than stuttering sample by sample, and drops its oldest audio rather than ever
// growing the delay.

export const FRAME_SAMPLES = 960;
export const START_SAMPLES = FRAME_SAMPLES + 480;
export const MAX_SAMPLES = FRAME_SAMPLES * 4;

export class MixQueue {
  private chunks: Float32Array[] = [];
  private offset = 0;
  private queued = 0;
  private started = false;
  gain = 1;
  underruns = 0;
  trimmed = 0;

  constructor(
    private readonly startSamples = START_SAMPLES,
    private readonly maxSamples = MAX_SAMPLES,
  ) {}

  get length(): number {
    return this.queued;
  }

  get playing(): boolean {
    return this.started;
  }

  push(samples: Float32Array): void {
    this.chunks.push(samples);
    this.queued += samples.length;
    while (this.queued > this.maxSamples && this.chunks.length > 1) {
      const dropped = this.chunks.shift()!;
      this.queued -= dropped.length - this.offset;
      this.offset = 0;
      this.trimmed++;
    }
    if (!this.started && this.queued >= this.startSamples) this.started = true;
  }

  /** Adds this speaker's next `out.length` samples, times its gain, into `out`. */
  mixInto(out: Float32Array): void {
    if (!this.started) return;
    let i = 0;
    while (i < out.length && this.chunks.length) {
      const chunk = this.chunks[0];
      const n = Math.min(out.length - i, chunk.length - this.offset);
      for (let k = 0; k < n; k++) out[i + k] += chunk[this.offset + k] * this.gain;
      i += n;
      this.offset += n;
      this.queued -= n;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    if (i < out.length) {
      this.started = false;
      this.underruns++;
    }
  }
}
