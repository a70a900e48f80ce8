import { describe, expect, it } from 'vitest';
import { lossFraction, RateMeter, RttEstimator } from './linkStats';

describe('RttEstimator', () => {
  it('smooths samples and ignores nonsense', () => {
    const rtt = new RttEstimator();
    expect(rtt.value).toBeNull();
    rtt.sample(80);
    expect(rtt.value).toBe(80);
    rtt.sample(160);
    expect(rtt.value).toBe(90);
    expect(rtt.last).toBe(160);
    rtt.sample(NaN);
    rtt.sample(-5);
    expect(rtt.value).toBe(90);
  });
});

describe('RateMeter', () => {
  it('reports bits per second over complete seconds', () => {
    const meter = new RateMeter(3);
    for (let t = 0; t < 3000; t += 20) meter.add(100, t);
    // Seconds 1 and 2 are complete at t=3000: 50 frames * 100 B * 8 bits each.
    expect(meter.bitsPerSecond(3000)).toBe(40_000);
  });

  it('forgets traffic older than its window', () => {
    const meter = new RateMeter(3);
    meter.add(1000, 0);
    expect(meter.bitsPerSecond(10_000)).toBe(0);
  });
});

describe('lossFraction', () => {
  it('is concealed over expected', () => {
    expect(lossFraction(0, 0)).toBe(0);
    expect(lossFraction(90, 10)).toBeCloseTo(0.1);
  });
});
