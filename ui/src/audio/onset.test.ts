import { describe, expect, it } from 'vitest';
import { AudioClockToWall } from './onset';

describe('AudioClockToWall', () => {
  it('maps audio moments with the least-delayed message, so main-thread stalls do not count', () => {
    const clock = new AudioClockToWall(10);
    // The audio clock runs 1000 ms behind the wall clock; messages arrive 1–3 ms late, one 40 ms late.
    expect(clock.observe(0, 1002)).toBe(1002);
    expect(clock.observe(20, 1021)).toBe(1021);
    expect(clock.observe(40, 1083)).toBe(1041); // stalled: mapped as if it came without delay
    expect(clock.observe(60, 1063)).toBe(1061);
    expect(clock.offset()).toBe(1001);
  });

  it('forgets gaps older than its window (clock drift, a context restart)', () => {
    const clock = new AudioClockToWall(3);
    clock.observe(0, 1000);
    clock.observe(20, 1025);
    clock.observe(40, 1045);
    expect(clock.offset()).toBe(1000);
    clock.observe(60, 1065);
    expect(clock.offset()).toBe(1005);
  });
});
