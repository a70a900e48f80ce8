import { describe, expect, it } from 'vitest';
import { type ClockedTick, firstLoudOnAudioClock } from './onset';

/** Ticks every 20 ms of audio clock, the audio clock 1000 ms behind the wall clock, each heard `lags[i]` ms late. */
function ticks(lags: number[], loudAt: number, loudForMs = 5, skew: (i: number) => number = () => 0): ClockedTick[] {
  return lags.map((lag, i) => ({
    audioMs: 20 * (i + 1),
    arrivedMs: 1000 + 20 * (i + 1) + skew(i) + lag,
    loudForMs: i === loudAt ? loudForMs : null,
  }));
}

describe('firstLoudOnAudioClock', () => {
  it('does not count a main-thread stall as audio delay', () => {
    // The loud tick's message waited 40 ms; the ones after it 1–3 ms.
    const t = ticks([2, 2, 40, 3, 1, 2, 2, 3, 2, 2, 2, 2, 2, 2], 2);
    expect(firstLoudOnAudioClock(t, 0, 10)).toBe(1000 + 60 + 1 - 5);
  });

  it('waits for the ticks after the onset', () => {
    const t = ticks([2, 2, 40, 3, 1], 2);
    expect(firstLoudOnAudioClock(t, 0, 10)).toBeNull();
  });

  it('ignores gaps from before a clock that fell behind', () => {
    // Before tick 2 the audio clock was 30 ms ahead of where it is after (it skipped 30 ms it missed).
    const t = ticks([1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 2, 5, (i) => (i >= 2 ? 30 : 0));
    expect(firstLoudOnAudioClock(t, 0, 10)).toBe(1000 + 60 + 30 + 2 - 5);
  });

  it('skips onsets before sinceMs', () => {
    const t = ticks([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 1);
    t[3].loudForMs = 0;
    expect(firstLoudOnAudioClock(t, 1050, 10)).toBe(1000 + 80 + 2);
  });
});
