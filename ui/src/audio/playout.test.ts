import { describe, expect, it } from 'vitest';
import { PlayoutBuffer, wrappingDiff32 } from './playout';

const FRAME = 960;
const QUANTUM = 128;

/** A frame whose samples all carry its sequence number, so the output tells what played. */
function pcm(sequence: number): Float32Array {
  return new Float32Array(FRAME).fill(((sequence % 1000) + 1) / 1000);
}

interface Arrival {
  sequence: number;
  /** Receiver clock, samples. */
  at: number;
}

/** Deterministic uniform [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The sequence number a sample carries, −1 for silence, NaN for anything else (concealment, fades). */
function heardSequence(v: number): number {
  if (v === 0) return -1;
  const k = Math.round(v * 1000);
  return Math.abs(v * 1000 - k) < 1e-3 ? k - 1 : NaN;
}

/**
 * Renders until `until` samples, `callback` samples per audio callback (the device pulls several
 * render quanta back to back, and messages are only handled between callbacks), pushing each
 * arrival before the first callback that starts at or after its time. Returns what was played:
 * the sequence number heard in each quantum's first sample (−1 silence, NaN concealment).
 */
function play(pb: PlayoutBuffer, arrivals: Arrival[], until: number, { callback = 512, seqBase = 0, tsOf = (s: number) => s * FRAME } = {}) {
  const sorted = [...arrivals].sort((a, b) => a.at - b.at);
  let next = 0;
  const heard: number[] = [];
  const out = new Float32Array(QUANTUM);
  for (let clock = 0; clock < until; clock += callback) {
    while (next < sorted.length && sorted[next].at <= clock) {
      const s = sorted[next++].sequence;
      pb.push((seqBase + s) >>> 0, tsOf(s) >>> 0, pcm(s));
    }
    for (let q = 0; q < callback; q += QUANTUM) {
      out.fill(0);
      pb.render(out);
      heard.push(heardSequence(out[QUANTUM - 1]));
    }
  }
  return heard;
}

/** A sender every 20 ms of its own clock (`rate` × the receiver's), with per-frame delays. */
function stream(
  frames: number,
  { rate = 1, delay = (_sequence: number): number => 0, inOrder = true }: { rate?: number; delay?: (sequence: number) => number; inOrder?: boolean } = {},
): Arrival[] {
  const arrivals: Arrival[] = [];
  let previous = -Infinity;
  for (let s = 0; s < frames; s++) {
    let at = (s * FRAME) / rate + 2000 + delay(s);
    // A WebSocket keeps order: a delayed frame holds up the ones behind it.
    if (inOrder) at = Math.max(at, previous);
    previous = at;
    arrivals.push({ sequence: s, at });
  }
  return arrivals;
}

const seconds = (s: number) => s * 48000;
/** Up to the last arrival, while its frame still plays (so the stream's end is not concealed). */
const endOf = (arrivals: Arrival[]) => Math.max(...arrivals.map((a) => a.at)) + 512;

describe('wrappingDiff32', () => {
  it('measures across the 2^32 wrap', () => {
    expect(wrappingDiff32(1, 0xffffffff)).toBe(2);
    expect(wrappingDiff32(0xffffffff, 1)).toBe(-2);
    expect(wrappingDiff32(100, 40)).toBe(60);
  });
});

describe('PlayoutBuffer', () => {
  it('plays every frame in order on a clean link and converges to about one callback of margin', () => {
    const pb = new PlayoutBuffer();
    // Start with four frames at once (as after a connection hiccup), then a clean link.
    const arrivals = stream(300).map((a) => (a.sequence < 4 ? { ...a, at: 2000 + 3 * FRAME } : a));
    const heard = play(pb, arrivals, seconds(6));
    const s = pb.stats();
    expect(s.concealed).toBe(0);
    expect(s.late).toBe(0);
    const frames = heard.filter((h) => h >= 0);
    for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThanOrEqual(frames[i - 1]);
    // Half a frame of average wait plus a margin of a callback or so: far below the old 40 ms floor.
    expect(s.playoutDelayMs).toBeLessThan(10 + 16);
    expect(s.targetMs).toBeLessThan(16);
  });

  it('grows the delay with jitter and keeps concealment rare', () => {
    const clean = new PlayoutBuffer();
    play(clean, stream(500), seconds(10));
    const rnd = random(7);
    const jittery = new PlayoutBuffer();
    play(jittery, stream(500, { delay: () => rnd() * 20 * 48 }), seconds(10));
    const c = clean.stats();
    const j = jittery.stats();
    expect(j.spreadMs).toBeGreaterThan(12);
    expect(j.targetMs).toBeGreaterThan(c.targetMs + 10);
    expect(j.playoutDelayMs).toBeGreaterThan(c.playoutDelayMs);
    expect(j.concealedMs / (j.playedMs + j.concealedMs)).toBeLessThan(0.03);
    expect(j.late).toBeLessThan(10);
  });

  it('lets a late frame play when it comes while being concealed, growing the delay by its lateness only', () => {
    const pb = new PlayoutBuffer();
    const arrivals = stream(100).map((a) => (a.sequence === 50 ? { ...a, at: a.at + 20 * 48 } : a));
    play(pb, arrivals, endOf(arrivals));
    const s = pb.stats();
    expect(s.late).toBe(0);
    expect(s.lost).toBe(0);
    expect(s.concealed).toBe(1);
    expect(s.concealedMs).toBeGreaterThan(0);
    expect(s.concealedMs).toBeLessThan(20);
  });

  it('gives a one-off lateness back within a few hundred ms', () => {
    // The receiving thread stalls for 25 ms as frame 50 comes: it and frame 51 are handled
    // together when the stall ends; everything after arrives on time again.
    const arrivals = stream(200, { delay: (s) => (s === 50 ? 25 * 48 : s === 51 ? 5 * 48 : 0) });
    const until = arrivals[80].at + 1; // 500 ms after the stall
    const recovering = new PlayoutBuffer();
    play(recovering, arrivals, until);
    const keeping = new PlayoutBuffer({ recoveryWindow: 1e9 });
    play(keeping, arrivals, until);
    const r = recovering.stats();
    const k = keeping.stats();
    expect(k.concealed).toBe(1);
    expect(r.concealed).toBe(1);
    expect(r.late + r.lost).toBe(0);
    expect(k.recoveredMs).toBe(0);
    // Given back down to the safety margin: the frames before the stall had less than that.
    expect(r.recoveredMs).toBeGreaterThan(5);
    expect(r.recoveredMs).toBeLessThanOrEqual(r.concealedMs);
    expect(r.depthMs).toBeLessThan(k.depthMs - 5);
  });

  it('keeps the added delay when the frames after a late one are about as late', () => {
    // Every fifth frame 15 ms late: real jitter, not a one-off.
    const arrivals = stream(300, { delay: (s) => (s >= 50 && s % 5 === 0 ? 15 * 48 : 0) });
    const pb = new PlayoutBuffer();
    play(pb, arrivals, endOf(arrivals));
    const s = pb.stats();
    expect(s.recoveredMs).toBe(0);
    expect(s.concealed).toBeLessThanOrEqual(2);
    expect(s.late + s.lost).toBe(0);
  });

  it('skips the backlog of a stalled audio thread within a few hundred ms', () => {
    // The device stops pulling for 80 ms at 2 s while frames keep coming: on the receiver's
    // clock everything from then on arrives 80 ms early, and the stall's frames all at once.
    const stallAt = seconds(2);
    const stall = 80 * 48;
    const arrivals = stream(200).map((a) => ({ ...a, at: a.at - Math.min(Math.max(a.at - stallAt, 0), stall) }));
    const until = stallAt + seconds(0.4);
    const skipping = new PlayoutBuffer();
    play(skipping, arrivals, until);
    const keeping = new PlayoutBuffer({ surplusTrimSamples: Infinity });
    play(keeping, arrivals, until);
    const s = skipping.stats();
    const k = keeping.stats();
    expect(k.depthMs).toBeGreaterThan(80);
    expect(s.depthMs).toBeLessThan(k.depthMs - 60);
    expect(s.trimmedMs).toBeGreaterThan(60);
    expect(s.concealed + s.late + s.lost).toBe(0);
  });

  it('trims a burst back down after a stall', () => {
    // 200 ms without anything, then the held frames all at once, then clean again.
    const arrivals = stream(400).map((a) => (a.sequence >= 100 && a.sequence < 110 ? { ...a, at: 2000 + 110 * FRAME } : a));
    const pb = new PlayoutBuffer();
    play(pb, arrivals, seconds(8));
    const after = pb.stats();
    expect(after.trims + after.burstDropped).toBeGreaterThan(0);
    expect(after.depthMs).toBeLessThan(40);
    expect(after.playoutDelayMs).toBeLessThan(30);
  });

  it('handles a sender clock 0.5% fast by trimming, without concealing', () => {
    const pb = new PlayoutBuffer();
    const arrivals = stream(1500, { rate: 1.005 });
    play(pb, arrivals, endOf(arrivals));
    const s = pb.stats();
    expect(s.trims).toBeGreaterThan(0);
    expect(s.concealed).toBe(0);
    expect(s.depthMs).toBeLessThan(40);
    expect(s.playoutDelayMs).toBeLessThan(30);
  });

  it('handles a sender clock 0.5% slow with short fills, and the delay stays put', () => {
    const pb = new PlayoutBuffer();
    const arrivals = stream(1500, { rate: 0.995 });
    play(pb, arrivals, endOf(arrivals));
    const s = pb.stats();
    expect(s.lost).toBe(0);
    expect(s.late).toBe(0);
    // 0.5% of the time has to be filled in somewhere: about 150 ms of 30 s, not much more.
    expect(s.concealedMs).toBeLessThan((0.01 * seconds(30)) / 48);
    expect(s.playoutDelayMs).toBeLessThan(30);
  });

  it('conceals one frame for a lost one and keeps the delay', () => {
    const pb = new PlayoutBuffer();
    const arrivals = stream(100).filter((a) => a.sequence !== 40);
    const heard = play(pb, arrivals, endOf(arrivals));
    const s = pb.stats();
    expect(s.lost).toBe(1);
    expect(s.concealed).toBe(1);
    expect(s.concealedMs).toBe(20);
    expect(heard).toContain(39);
    expect(heard).toContain(41);
    expect(heard).not.toContain(40);
  });

  it('drops a frame that comes after its turn', () => {
    const pb = new PlayoutBuffer();
    const arrivals = stream(100).map((a) => (a.sequence === 40 ? { ...a, at: a.at + 200 * 48 } : a));
    play(pb, arrivals, endOf(arrivals));
    const s = pb.stats();
    expect(s.late).toBe(1);
    expect(s.lost).toBe(1);
  });

  it('puts reordered frames back in order', () => {
    const pb = new PlayoutBuffer();
    const arrivals = stream(60, { inOrder: false }).map((a) =>
      a.sequence === 21 ? { ...a, at: a.at - FRAME + 10 } : a.sequence === 20 ? { ...a, at: a.at + 10 } : a,
    );
    const heard = play(pb, arrivals, endOf(arrivals));
    const order = heard.filter((h, i) => h >= 0 && h !== heard[i - 1]);
    expect(order.slice(order.indexOf(18), order.indexOf(18) + 5)).toEqual([18, 19, 20, 21, 22]);
    expect(pb.stats().concealed).toBe(0);
  });

  it('stops after a few concealed frames when the stream ends, and restarts on the next talk spurt', () => {
    const pb = new PlayoutBuffer();
    const first = stream(50);
    const second = stream(50).map((a) => ({ sequence: a.sequence + 50, at: a.at + seconds(2) }));
    play(pb, [...first, ...second], seconds(1.5));
    const mid = pb.stats();
    expect(mid.playing).toBe(false);
    expect(mid.underrun).toBe(1);
    expect(mid.concealed).toBe(3);
  });

  it('starts over on a large sequence jump (a restarted sender)', () => {
    const pb = new PlayoutBuffer();
    pb.push(10, 9600, pcm(10));
    expect(pb.push(5000, 0, pcm(0))).toBe('reset');
    expect(pb.stats().resets).toBe(1);
  });

  it('counts duplicates once', () => {
    const pb = new PlayoutBuffer();
    expect(pb.push(1, 960, pcm(1))).toBe('queued');
    expect(pb.push(1, 960, pcm(1))).toBe('duplicate');
    expect(pb.stats().duplicate).toBe(1);
  });

  it('keeps going across the 32-bit sequence and timestamp wrap', () => {
    const pb = new PlayoutBuffer();
    const base = 0xffffffff - 20;
    play(pb, stream(60), seconds(1.3), { seqBase: base, tsOf: (s) => 0xfffff000 + s * FRAME });
    const s = pb.stats();
    expect(s.played).toBe(60);
    expect(s.concealed).toBe(3);
    expect(s.resets).toBe(0);
  });

  it('refuses a config whose bounds are out of order', () => {
    expect(() => new PlayoutBuffer({ safetySamples: 1000, maxTargetSamples: 500 })).toThrow();
  });
});
