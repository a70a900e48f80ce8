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
