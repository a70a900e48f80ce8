import { describe, expect, it } from 'vitest';
import { AudioLevels } from './audioLevels';

describe('AudioLevels', () => {
  it('announces a sample only when some level moved by a decibel or more', () => {
    let now = new Map([
      ['a', 0.5],
      ['b', 0],
    ]);
    const levels = new AudioLevels(() => now);
    let announced = 0;
    const stop = levels.subscribe(() => announced++);
    levels.sample();
    expect(announced).toBe(1);
    expect(levels.level('a')).toBeCloseTo(0.5, 1);
    now = new Map([
      ['a', 0.501],
      ['b', 0],
    ]);
    levels.sample();
    expect(announced).toBe(1);
    now = new Map([
      ['a', 0.5],
      ['b', 0.3],
    ]);
    levels.sample();
    expect(announced).toBe(2);
    expect(levels.level('b')).toBeCloseTo(0.3, 1);
    expect(levels.level('nobody')).toBe(0);
    stop();
  });
});
