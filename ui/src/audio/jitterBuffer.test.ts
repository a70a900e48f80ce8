import { describe, expect, it } from 'vitest';
import { JitterBuffer, wrappingDiff32, type PopResult } from './jitterBuffer';

interface F {
  sequence: number;
  timestamp: number;
}

const frame = (sequence: number): F => ({ sequence: sequence >>> 0, timestamp: (sequence * 960) >>> 0 });

function played(results: PopResult<F>[]): (number | 'c' | 'i')[] {
  return results.map((r) => (r.kind === 'frame' ? r.frame.sequence : r.kind === 'conceal' ? 'c' : 'i'));
}

/** Pushes frames at 20 ms intervals of arrival time, then pops `pops` ticks. */
function drain(jb: JitterBuffer<F>, startMs: number, pops: number): PopResult<F>[] {
  const out: PopResult<F>[] = [];
  for (let i = 0; i < pops; i++) out.push(jb.pop(startMs + i * 20));
  return out;
}

describe('wrappingDiff32', () => {
  it('measures across the 2^32 wrap', () => {
    expect(wrappingDiff32(1, 0xffffffff)).toBe(2);
    expect(wrappingDiff32(0xffffffff, 1)).toBe(-2);
    expect(wrappingDiff32(100, 40)).toBe(60);
  });
});

describe('JitterBuffer', () => {
  it('waits for the target delay before it starts', () => {
    const jb = new JitterBuffer<F>();
    jb.push(frame(0), 0);
    expect(jb.pop(0).kind).toBe('idle');
    jb.push(frame(1), 20);
    // Two frames span 40 ms = the default target.
    expect(played([jb.pop(20)])).toEqual([0]);
  });

  it('starts on time even when only one frame came', () => {
    const jb = new JitterBuffer<F>();
    jb.push(frame(0), 0);
    expect(jb.pop(39).kind).toBe('idle');
    expect(played([jb.pop(40)])).toEqual([0]);
  });

  it('puts reordered frames back in order', () => {
    const jb = new JitterBuffer<F>();
    for (const s of [0, 2, 1, 4, 3, 5]) jb.push(frame(s), 0);
    expect(played(drain(jb, 0, 6))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(jb.stats().concealed).toBe(0);
  });

  it('conceals a lost frame and goes on', () => {
    const jb = new JitterBuffer<F>();
    for (const s of [0, 1, 3, 4]) jb.push(frame(s), 0);
    expect(played(drain(jb, 0, 4))).toEqual([0, 1, 'c', 3]);
    expect(jb.stats().concealed).toBe(1);
    expect(jb.stats().lost).toBe(1);
    expect(jb.stats().underrun).toBe(0);
  });

  it('drops a frame that arrives after its play time, and never plays it', () => {
    const jb = new JitterBuffer<F>();
    for (const s of [0, 1, 3]) jb.push(frame(s), 0);
    expect(played(drain(jb, 0, 3))).toEqual([0, 1, 'c']);
    expect(jb.push(frame(2), 60)).toBe('late');
    expect(played(drain(jb, 60, 2))).toEqual([3, 'c']);
    expect(jb.stats().late).toBe(1);
  });

  it('drops duplicates', () => {
    const jb = new JitterBuffer<F>();
    jb.push(frame(0), 0);
    expect(jb.push(frame(0), 1)).toBe('duplicate');
    expect(jb.stats().duplicate).toBe(1);
  });

  it('caps the delay when a burst piles up', () => {
    const jb = new JitterBuffer<F>();
    for (let s = 0; s < 100; s++) jb.push(frame(s), 0);
    const stats = jb.stats();
    expect(stats.depthMs).toBeLessThanOrEqual(240);
    expect(stats.overflowDropped).toBeGreaterThan(0);
    const first = played(drain(jb, 0, 1))[0];
    expect(first).toBeGreaterThanOrEqual(100 - 240 / 20);
  });

  it('never lets delay grow when the sender clock runs fast (drift)', () => {
    const jb = new JitterBuffer<F>();
    // Sender 1% fast: a frame every 19.8 ms of receiver time, for two minutes.
    let seq = 0;
    let maxDepth = 0;
    for (let t = 0; t < 120_000; t += 20) {
      while (seq * 19.8 <= t) jb.push(frame(seq++), seq * 19.8);
      jb.pop(t);
      maxDepth = Math.max(maxDepth, jb.stats().depthMs);
    }
    const stats = jb.stats();
    expect(stats.driftDropped).toBeGreaterThan(0);
    expect(maxDepth).toBeLessThanOrEqual(stats.targetMs + 3 * 20);
    expect(stats.overflowDropped).toBe(0);
  });

  it('re-buffers when the sender clock runs slow instead of piling up concealment', () => {
    const jb = new JitterBuffer<F>();
    let seq = 0;
    const results: PopResult<F>[] = [];
    for (let t = 0; t < 60_000; t += 20) {
      while (seq * 20.2 <= t) jb.push(frame(seq++), seq * 20.2);
      results.push(jb.pop(t));
    }
    const stats = jb.stats();
    // One frame of slack per ~2 s: concealment, never a growing backlog.
    expect(stats.depthMs).toBeLessThanOrEqual(stats.targetMs + 40);
    expect(stats.played).toBeGreaterThan(2900);
  });

  it('raises its target under jitter and keeps late frames rare', () => {
    const jb = new JitterBuffer<F>();
    let rng = 12345;
    const random = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const arrivals: { seq: number; at: number }[] = [];
    for (let s = 0; s < 3000; s++) arrivals.push({ seq: s, at: s * 20 + random() * 60 });
    arrivals.sort((a, b) => a.at - b.at);
    let i = 0;
    for (let t = 0; t < 3000 * 20 + 200; t += 20) {
      while (i < arrivals.length && arrivals[i].at <= t) {
        jb.push(frame(arrivals[i].seq), arrivals[i].at);
        i++;
      }
      jb.pop(t);
    }
    const stats = jb.stats();
    expect(stats.targetMs).toBeGreaterThan(40);
    expect(stats.targetMs).toBeLessThanOrEqual(160);
    expect(stats.late).toBeLessThan(3000 * 0.05);
  });

  it('comes back to its target delay after a network stall and the burst behind it', () => {
    const jb = new JitterBuffer<F>();
    let seq = 0;
    const depthAt: Record<number, number> = {};
    for (let t = 0; t < 20_000; t += 20) {
      // Frames sent at 20 ms; between 5.0 s and 5.3 s the network holds them, then all arrive.
      while (seq * 20 <= t) {
        const sentAt = seq * 20;
        const arrival = sentAt >= 5000 && sentAt < 5300 ? 5300 : sentAt;
        if (arrival > t) break;
        jb.push(frame(seq++), arrival);
      }
      jb.pop(t);
      depthAt[t] = jb.stats().depthMs;
    }
    const stats = jb.stats();
    // During the stall the buffer drains and conceals; afterwards delay is back near target
    // instead of carrying the 300 ms for the rest of the call.
    expect(stats.concealed).toBeGreaterThan(0);
    expect(depthAt[19_980]).toBeLessThanOrEqual(stats.targetMs + 40);
    expect(Math.max(...Object.entries(depthAt).filter(([t]) => Number(t) > 12_000).map(([, d]) => d))).toBeLessThanOrEqual(
      stats.targetMs + 60,
    );
  });

  it('keeps order across the 32-bit sequence wrap', () => {
    const jb = new JitterBuffer<F>();
    const start = 0xffffffff - 2;
    const seqs = [0, 1, 2, 3, 4, 5].map((i) => (start + i) >>> 0);
    for (const s of [seqs[1], seqs[0], seqs[3], seqs[2], seqs[4], seqs[5]]) jb.push(frame(s), 0);
    expect(played(drain(jb, 0, 6))).toEqual(seqs);
  });

  it('starts over when the sender restarts its stream', () => {
    const jb = new JitterBuffer<F>();
    for (let s = 1000; s < 1004; s++) jb.push(frame(s), 0);
    drain(jb, 0, 4);
    expect(jb.push(frame(7), 100)).toBe('reset');
    jb.push(frame(8), 120);
    expect(played(drain(jb, 120, 2))).toEqual([7, 8]);
    expect(jb.stats().resets).toBe(1);
  });

  it('conceals briefly at the end of a talk spurt, then goes idle and re-buffers', () => {
    const jb = new JitterBuffer<F>();
    for (let s = 0; s < 3; s++) jb.push(frame(s), 0);
    expect(played(drain(jb, 0, 8))).toEqual([0, 1, 2, 'c', 'c', 'c', 'i', 'i']);
    // Running dry at the end of a spurt is not loss.
    expect(jb.stats()).toMatchObject({ concealed: 3, underrun: 3, lost: 0 });
    jb.push(frame(50), 1000);
    expect(jb.pop(1000).kind).toBe('idle');
    jb.push(frame(51), 1020);
    expect(played([jb.pop(1020)])).toEqual([50]);
  });

  it('refuses an impossible config', () => {
    expect(() => new JitterBuffer({ minTargetMs: 200, maxTargetMs: 100 })).toThrow(/minTargetMs/);
  });
});
