import { describe, expect, it } from 'vitest';
import { MixQueue } from './mixQueue';

const block = (n: number, value: number) => new Float32Array(n).fill(value);

function render(q: MixQueue, n = 128): Float32Array {
  const out = new Float32Array(n);
  q.mixInto(out);
  return out;
}

describe('MixQueue', () => {
  it('stays silent until it holds the start margin', () => {
    const q = new MixQueue(200, 1000);
    q.push(block(100, 0.5));
    expect(render(q).every((v) => v === 0)).toBe(true);
    expect(q.length).toBe(100);
    q.push(block(100, 0.5));
    expect(q.playing).toBe(true);
    expect(render(q)[0]).toBe(0.5);
  });

  it('plays chunks back to back in order, times its gain, adding into the mix', () => {
    const q = new MixQueue(0, 1000);
    q.gain = 2;
    q.push(block(100, 0.1));
    q.push(block(100, 0.2));
    const out = new Float32Array(150).fill(1);
    q.mixInto(out);
    expect(out[0]).toBeCloseTo(1.2);
    expect(out[99]).toBeCloseTo(1.2);
    expect(out[100]).toBeCloseTo(1.4);
    expect(q.length).toBe(50);
  });

  it('after running dry, waits for the margin again instead of stuttering', () => {
    const q = new MixQueue(150, 1000);
    q.push(block(150, 0.5));
    render(q, 128);
    render(q, 128);
    expect(q.underruns).toBe(1);
    expect(q.playing).toBe(false);
    q.push(block(100, 0.5));
    expect(render(q)[0]).toBe(0);
  });

  it('drops its oldest audio beyond the cap so the delay never grows', () => {
    const q = new MixQueue(0, 300);
    for (let i = 0; i < 10; i++) q.push(block(100, i));
    expect(q.length).toBeLessThanOrEqual(300);
    expect(q.trimmed).toBe(7);
    expect(render(q, 1)[0]).toBe(7);
  });
});
