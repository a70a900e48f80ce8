import { describe, expect, it } from 'vitest';
import { concealFrame } from './conceal';
import { rms } from './level';

const tone = Float32Array.from({ length: 960 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 48000));

describe('concealFrame', () => {
  it('continues from the last sample without a jump', () => {
    const out = concealFrame(tone, 1);
    expect(out[0]).toBeCloseTo(tone[959], 6);
  });

  it('fades: every further concealed frame is quieter', () => {
    const levels = [1, 2, 3, 4].map((n) => rms(concealFrame(tone, n)));
    for (let i = 1; i < levels.length; i++) expect(levels[i]).toBeLessThan(levels[i - 1] * 0.6);
    expect(levels[0]).toBeGreaterThan(0.1);
  });

  it('joins consecutive frames at the same gain', () => {
    const flat = new Float32Array(960).fill(0.5);
    const first = concealFrame(flat, 1);
    const second = concealFrame(flat, 2);
    expect(first[959]).toBeCloseTo(second[0], 3);
    expect(second[0]).toBeCloseTo(0.25, 6);
  });

  it('is silence when there is nothing to repeat', () => {
    expect(rms(concealFrame(null, 1))).toBe(0);
  });

  it('refuses a zero index', () => {
    expect(() => concealFrame(tone, 0)).toThrow(/>= 1/);
  });
});
