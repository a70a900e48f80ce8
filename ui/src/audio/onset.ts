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

/** One tick of output as the main thread heard of it: where the audio clock stood at its end. */
export interface ClockedTick {
  /** The audio clock (ms of rendered audio) at the end of the tick. */
  audioMs: number;
  /** Wall-clock time the main thread got the tick's message. */
  arrivedMs: number;
  /** How long before the tick's end the output first got loud, or null. */
  loudForMs: number | null;
}

/**
 * Wall-clock time of the first loud sample at or after `sinceMs`, timed on the audio clock.
 * The main thread hears of a tick later by however long it was busy, so timing an onset by the
 * message's arrival would count main-thread stalls as audio delay. The audio clock is mapped to
 * the wall clock with the smallest gap (arrival − audio clock) among the loud tick and the
 * `settleTicks` after it: the message that waited least. Only later ticks count, because a
 * clock that fell behind under load (a fake device skips the time it missed) never catches up,
 * so earlier gaps would make the onset look early. Null until those later ticks are here.
 */
export function firstLoudOnAudioClock(ticks: readonly ClockedTick[], sinceMs: number, settleTicks = 10): number | null {
  for (let k = 0; k < ticks.length; k++) {
    const loudForMs = ticks[k].loudForMs;
    if (loudForMs === null) continue;
    if (k + settleTicks >= ticks.length) return null;
    let gap = Infinity;
    for (let j = k; j <= k + settleTicks; j++) gap = Math.min(gap, ticks[j].arrivedMs - ticks[j].audioMs);
    const loudAt = ticks[k].audioMs + gap - loudForMs;
    if (loudAt >= sinceMs) return loudAt;
  }
  return null;
}
