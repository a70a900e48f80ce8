import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF, isFinalClose } from './backoff';

describe('backoffDelay', () => {
  it('doubles from the base without jitter', () => {
    const config = { ...DEFAULT_BACKOFF, jitter: 0 };
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, 0.5, config))).toEqual([250, 500, 1000, 2000, 4000]);
  });

  it('stops at the cap, even for huge attempt counts', () => {
    const config = { ...DEFAULT_BACKOFF, jitter: 0 };
    expect(backoffDelay(6, 0, config)).toBe(10_000);
    expect(backoffDelay(10_000, 0, config)).toBe(10_000);
  });

  it('takes off at most the jitter fraction', () => {
    expect(backoffDelay(3, 0)).toBe(2000);
    expect(backoffDelay(3, 0.999999)).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(5, i / 100);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('refuses nonsense', () => {
    expect(() => backoffDelay(-1, 0)).toThrow(/attempt/);
    expect(() => backoffDelay(1.5, 0)).toThrow(/attempt/);
    expect(() => backoffDelay(0, 1)).toThrow(/random/);
  });
});

describe('isFinalClose', () => {
  it('retries abnormal closes and stops on normal or policy closes', () => {
    expect(isFinalClose(1006, false)).toBe(false);
    expect(isFinalClose(1011, false)).toBe(false);
    expect(isFinalClose(1001, false)).toBe(false);
    expect(isFinalClose(1000, false)).toBe(true);
    expect(isFinalClose(1008, false)).toBe(true);
    expect(isFinalClose(1006, true)).toBe(true);
  });
});
