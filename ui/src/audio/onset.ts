// Where a burst starts, for latency measurements: the first sample above a fixed level, the
// same rule on every side (capture, decoded frames, mixed output, the WebRTC anchor's probe).

/** |sample| above this counts as sound for onset timing (about −34 dBFS). */
export const LOUD = 0.02;

/** Index of the first loud sample, or -1. */
export function firstLoud(samples: Float32Array): number {
  for (let i = 0; i < samples.length; i++) if (samples[i] > LOUD || samples[i] < -LOUD) return i;
  return -1;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across pages of one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Wall-clock time of moments on an audio clock. The audio thread posts where its clock stands
 * (ms of rendered audio) and the main thread hears it later, by however long it was busy: timing
 * an onset by the arrival of that message would count the main thread's stalls as audio delay.
 * The smallest gap (arrival − audio clock) over the last `window` messages is the offset between
 * the two clocks (the message that waited least); audio moments are mapped with it.
 */
export class AudioClockToWall {
  private readonly gaps: number[] = [];

  constructor(private readonly window = 250) {}

  /** A message posted at `audioMs` on the audio clock arrived at `arrivedWallMs`; returns the wall time of `audioMs`. */
  observe(audioMs: number, arrivedWallMs: number): number {
    this.gaps.push(arrivedWallMs - audioMs);
    if (this.gaps.length > this.window) this.gaps.shift();
    return audioMs + this.offset();
  }

  /** Wall time minus audio clock, as small as seen lately. */
  offset(): number {
    let min = Infinity;
    for (const g of this.gaps) min = Math.min(min, g);
    return min;
  }
}
