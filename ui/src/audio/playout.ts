// One remote speaker's receive buffer: jitter decisions and playout in one place, driven by the
// audio clock one render quantum at a time. Pure: the only clock is the count of samples it has
// rendered, so every policy is testable without a clock.
//
// Decoded 20 ms frames come in by sequence number. The measure of everything is a frame's
// headroom on arrival: how many samples will play before its first one does. The delay is
// steered NetEq-style:
// - it grows only when it must: a frame that is not there when its turn comes is concealed one
//   render quantum at a time, and if it arrives meanwhile it plays at once (the delay grew by
//   the time it was late, no more);
// - it shrinks when the smallest headroom over the last second is above a safety margin: the
//   excess is skipped with a short crossfade. On a clean link that leaves about one callback of
//   margin; under jitter it settles where the latest frames of the last second just made it;
// - a one-off lateness is given back sooner: when the frames of the next 200 ms after a late
//   one all had the delay it added to spare, that much is skipped at once. A stall (a busy main
//   thread, a GC pause) delays one run of frames and then is over, and waiting out the whole
//   second would leave every word of it late; under real jitter one of those frames comes about
//   as late again, so nothing is given back and the second-long rule above decides;
// - a sudden surplus goes at once too: when the last ten arrivals all had more headroom than
//   the safety margin plus their own spread (the jitter they show), by 10 ms or more, the
//   surplus is skipped. That is the audio thread having stalled while frames kept coming (a
//   busy machine, a small device buffer): its whole backlog would otherwise play a second late;
// - a frame missing while later ones are here is lost: one frame of concealment, then on;
// - a restart (first frame, or after the stream ran dry) starts with the newest frames and a
//   pre-roll equal to the target: the safety margin plus the measured arrival spread (the 95th
//   percentile of arrival time − send timestamp over the last 100 frames, minus its minimum).

import { concealFrameInto } from './conceal';

export interface PlayoutConfig {
  frameSamples: number;
  /** Headroom kept on top of the measured lateness: a render quantum plus a millisecond. */
  safetySamples: number;
  maxTargetSamples: number;
  /** A frame arriving with more headroom than this is trimmed back to the target at once. */
  capSamples: number;
  /** Arrivals over which the spread of arrival times is measured. */
  spreadWindow: number;
  spreadQuantile: number;
  /** Spread assumed until a trim window of arrivals has been measured. */
  initialSpreadSamples: number;
  /** Arrivals whose smallest headroom decides a trim. */
  trimWindow: number;
  /** Excess headroom below this is left alone (each trim is a small splice). */
  trimHysteresisSamples: number;
  /** Arrivals after a late frame whose smallest headroom decides whether its lateness is given back. */
  recoveryWindow: number;
  /** Arrivals whose headroom, all above safety plus their own spread, shows a sudden surplus. */
  surplusWindow: number;
  /** A surplus smaller than this waits for the second-long rule. */
  surplusTrimSamples: number;
  /** Concealed frames with nothing newer buffered before playout stops and waits. */
  maxExpandFrames: number;
  /** A sequence jump larger than this means the sender restarted its stream. */
  resetGapFrames: number;
  fadeSamples: number;
}

export const DEFAULT_PLAYOUT_CONFIG: PlayoutConfig = {
  frameSamples: 960,
  safetySamples: 128 + 48,
  maxTargetSamples: 160 * 48,
  capSamples: 240 * 48,
  spreadWindow: 100,
  spreadQuantile: 0.95,
  initialSpreadSamples: 10 * 48,
  trimWindow: 50,
  trimHysteresisSamples: 240,
  recoveryWindow: 10,
  surplusWindow: 10,
  surplusTrimSamples: 10 * 48,
  maxExpandFrames: 3,
  resetGapFrames: 500,
  fadeSamples: 64,
};

export type PushResult = 'queued' | 'late' | 'duplicate' | 'reset';

export interface PlayoutStats {
  received: number;
  /** Frames that started playing. */
  played: number;
  /** Frames that arrived after their turn and were dropped. */
  late: number;
  duplicate: number;
  /** Concealment frames begun (an interrupted one counts). */
  concealed: number;
  /** Holes between frames that did arrive. */
  lost: number;
  /** Delay added by late frames that was given back within the recovery window, in ms. */
  recoveredMs: number;
  /** Times playout ran dry and stopped. */
  underrun: number;
  /** Frames dropped at a restart because newer ones were already here. */
  burstDropped: number;
  trims: number;
  resets: number;
  playedMs: number;
  concealedMs: number;
  trimmedMs: number;
  /** RFC 3550 interarrival jitter. */
  jitterMs: number;
  /** Spread of arrival times that the target covers (95th percentile − minimum). */
  spreadMs: number;
  targetMs: number;
  /** Buffered audio ahead of the play head, contiguous. */
  depthMs: number;
  /** Average time a sample waits here (headroom on arrival + half a frame), smoothed. */
  playoutDelayMs: number;
  playing: boolean;
}

/** Signed distance from b to a on a 32-bit wrapping counter. */
export function wrappingDiff32(a: number, b: number): number {
  return (a - b) | 0;
}

type Kind = 'frame' | 'conceal' | 'preroll';

export class PlayoutBuffer {
  private readonly config: PlayoutConfig;
  private readonly frames = new Map<number, Float32Array>();
  /** Samples rendered so far: this buffer's only clock. */
  private clock = 0;
  private anchorSeq: number | null = null;
  private anchorExt = 0;
  private anchorTs = 0;
  private anchorTsExt = 0;
  private highestExt = 0;

  private playing = false;
  private kind: Kind = 'preroll';
  private data: Float32Array | null = null;
  private length = 0;
  private offset = 0;
  /** The slot `data` fills; for a pre-roll, the slot before the first frame. */
  private slot = 0;
  /** Lowest slot still wanted after playout stopped, or null before the first start. */
  private stoppedFloor: number | null = null;
  private last: Float32Array | null = null;
  private concealRun = 0;
  private expandRun = 0;
  private readonly concealBuffers: [Float32Array, Float32Array];
  private concealIndex = 0;

  private readonly fade: Float32Array;
  private fadeLeft = 0;

  private readonly transits: Float64Array;
  private readonly sorted: Float64Array;
  private transitCount = 0;
  private transitPos = 0;
  private spread: number;
  private readonly headrooms: Float64Array;
  private headroomCount = 0;
  private headroomPos = 0;
  private lastTransit: number | null = null;
  private arrivalHeadroom: number | null = null;
  /** Delay added by late frames and not yet given back or settled (samples); 0 when none. */
  private grown = 0;
  private recoveryMin = Infinity;
  private recoveryCount = 0;
  private jitter = 0;
  private delayEma: number | null = null;

  private readonly counters = {
    received: 0,
    played: 0,
    late: 0,
    duplicate: 0,
    concealed: 0,
    lost: 0,
    underrun: 0,
    burstDropped: 0,
    trims: 0,
    resets: 0,
    playedSamples: 0,
    concealedSamples: 0,
    trimmedSamples: 0,
    recoveredSamples: 0,
  };

  constructor(config: Partial<PlayoutConfig> = {}) {
    this.config = { ...DEFAULT_PLAYOUT_CONFIG, ...config };
    const c = this.config;
    if (c.safetySamples > c.maxTargetSamples || c.maxTargetSamples > c.capSamples) {
      throw new Error('playout config needs safetySamples <= maxTargetSamples <= capSamples');
    }
    if (c.surplusWindow > c.trimWindow) throw new Error('playout config needs surplusWindow <= trimWindow');
    this.concealBuffers = [new Float32Array(c.frameSamples), new Float32Array(c.frameSamples)];
    this.fade = new Float32Array(c.fadeSamples);
    this.transits = new Float64Array(c.spreadWindow);
    this.sorted = new Float64Array(c.spreadWindow);
    this.headrooms = new Float64Array(c.trimWindow);
    this.spread = c.initialSpreadSamples;
  }

  /** Headroom the next restart gives its newest frame, in samples. */
  targetSamples(): number {
    const { safetySamples, maxTargetSamples } = this.config;
    return Math.min(maxTargetSamples, Math.round(safetySamples + this.spread));
  }

  private reset(): void {
    this.frames.clear();
    this.anchorSeq = null;
    this.playing = false;
    this.data = null;
    this.stoppedFloor = null;
    this.transitCount = 0;
    this.transitPos = 0;
    this.headroomCount = 0;
    this.headroomPos = 0;
    this.lastTransit = null;
    this.grown = 0;
    this.spread = this.config.initialSpreadSamples;
  }

  /** The lowest slot that may still be queued. */
  private floor(): number | null {
    if (this.playing) return this.kind === 'conceal' ? this.slot : this.slot + 1;
    return this.stoppedFloor;
  }

  /** A decoded frame from the network, any time between render calls. */
  push(sequence: number, timestamp: number, pcm: Float32Array): PushResult {
    let result: PushResult = 'queued';
    if (this.anchorSeq !== null) {
      const jump = Math.abs(wrappingDiff32(sequence, this.anchorSeq) + this.anchorExt - this.highestExt);
      if (jump > this.config.resetGapFrames) {
        this.reset();
        this.counters.resets++;
        result = 'reset';
      }
    }
    let ext: number;
    let tsExt: number;
    if (this.anchorSeq === null) {
      this.anchorSeq = sequence;
      this.anchorExt = 0;
      this.anchorTs = timestamp;
      this.anchorTsExt = 0;
      this.highestExt = 0;
      ext = 0;
      tsExt = 0;
    } else {
      ext = this.anchorExt + wrappingDiff32(sequence, this.anchorSeq);
      tsExt = this.anchorTsExt + wrappingDiff32(timestamp, this.anchorTs);
    }
    this.arrivalHeadroom = null;
    const floor = this.floor();
    if (floor !== null && ext < floor) {
      this.counters.late++;
      return 'late';
    }
    if (this.frames.has(ext)) {
      this.counters.duplicate++;
      return 'duplicate';
    }
    this.counters.received++;
    if (ext >= this.highestExt) {
      // Re-anchor on the newest frame so the 32-bit windows slide with the stream.
      this.highestExt = ext;
      this.anchorSeq = sequence;
      this.anchorExt = ext;
      this.anchorTs = timestamp;
      this.anchorTsExt = tsExt;
    }
    this.frames.set(ext, pcm);
    if (this.playing && this.kind === 'conceal' && ext === this.slot) this.noteGrowth();
    this.measureArrival(this.clock - tsExt);
    if (this.playing) this.steer(ext);
    return result;
  }

  private measureArrival(transit: number): void {
    if (this.lastTransit !== null) this.jitter += (Math.abs(transit - this.lastTransit) - this.jitter) / 16;
    this.lastTransit = transit;
    const n = this.config.spreadWindow;
    this.transits[this.transitPos] = transit;
    this.transitPos = (this.transitPos + 1) % n;
    this.transitCount = Math.min(n, this.transitCount + 1);
    const view = this.sorted.subarray(0, this.transitCount);
    view.set(this.transits.subarray(0, this.transitCount));
    view.sort();
    const q = view[Math.min(this.transitCount - 1, Math.floor(this.config.spreadQuantile * this.transitCount))];
    this.spread = q - view[0];
    if (this.transitCount < this.config.trimWindow) this.spread = Math.max(this.spread, this.config.initialSpreadSamples);
  }

  /** Samples that play before slot `ext` begins. */
  private headroomOf(ext: number): number {
    if (this.kind === 'conceal' && ext === this.slot) return 0;
    return this.length - this.offset + (ext - this.slot - 1) * this.config.frameSamples;
  }

  /**
   * The awaited frame came while being concealed: the delay grows by what was concealed of its
   * slot so far (it plays at the next quantum). The frames after it decide whether that stays.
   */
  private noteGrowth(): void {
    this.grown += this.expandRun * this.config.frameSamples + this.offset;
    this.recoveryMin = Infinity;
    this.recoveryCount = 0;
  }

  /** Samples that were to play before the last pushed frame when it came; null if not playing then. */
  lastArrivalHeadroom(): number | null {
    return this.arrivalHeadroom;
  }

  private steer(ext: number): void {
    const headroom = this.headroomOf(ext);
    this.arrivalHeadroom = headroom;
    const half = this.config.frameSamples / 2;
    const delay = headroom + half;
    this.delayEma = this.delayEma === null ? delay : this.delayEma + (delay - this.delayEma) / 16;
    if (headroom > this.config.capSamples) {
      this.trim(headroom - this.targetSamples());
      return;
    }
    if (this.grown > 0 && !(this.kind === 'conceal' && ext === this.slot)) this.recover(headroom);
    const n = this.config.trimWindow;
    this.headrooms[this.headroomPos] = headroom;
    this.headroomPos = (this.headroomPos + 1) % n;
    this.headroomCount = Math.min(n, this.headroomCount + 1);
    if (this.trimSurplus()) return;
    if (this.headroomCount < n) return;
    let min = Infinity;
    for (let i = 0; i < n; i++) min = Math.min(min, this.headrooms[i]);
    const excess = min - this.config.safetySamples;
    if (excess >= this.config.trimHysteresisSamples) this.trim(excess);
  }

  /** Skips a sudden surplus of headroom at once; true if it did. */
  private trimSurplus(): boolean {
    const { surplusWindow, trimWindow, safetySamples, surplusTrimSamples } = this.config;
    if (this.headroomCount < surplusWindow) return false;
    let low = Infinity;
    let high = -Infinity;
    for (let i = 1; i <= surplusWindow; i++) {
      const h = this.headrooms[(this.headroomPos - i + trimWindow) % trimWindow];
      low = Math.min(low, h);
      high = Math.max(high, h);
    }
    const surplus = low - safetySamples - (high - low);
    if (surplus < surplusTrimSamples) return false;
    this.trim(surplus);
    return true;
  }

  /** Gives back a late frame's added delay if the frames after it did not need it. */
  private recover(headroom: number): void {
    this.recoveryMin = Math.min(this.recoveryMin, headroom);
    this.recoveryCount++;
    if (this.recoveryCount < this.config.recoveryWindow) return;
    const spare = Math.min(this.grown, this.recoveryMin - this.config.safetySamples);
    this.grown = 0;
    if (spare < this.config.trimHysteresisSamples) return;
    const before = this.counters.trimmedSamples;
    this.trim(spare);
    this.counters.recoveredSamples += this.counters.trimmedSamples - before;
  }

  /** Skips `samples` of buffered audio ahead of the play head, with a crossfade. */
  private trim(samples: number): void {
    if (this.kind === 'conceal' || samples <= 0) return;
    this.headroomCount = 0;
    this.headroomPos = 0;
    this.captureFade();
    let left = Math.floor(samples);
    this.counters.trims++;
    while (left > 0) {
      const remaining = this.length - this.offset;
      if (left < remaining) {
        this.offset += left;
        this.counters.trimmedSamples += left;
        return;
      }
      // Only through audio that is here: a missing slot ends the trim.
      const next = this.frames.get(this.slot + 1);
      if (!next) {
        const keep = Math.min(remaining, this.config.fadeSamples);
        this.offset += remaining - keep;
        this.counters.trimmedSamples += remaining - keep;
        return;
      }
      left -= remaining;
      this.counters.trimmedSamples += remaining;
      this.frames.delete(this.slot + 1);
      this.enter('frame', this.slot + 1, next);
    }
  }

  /** Remembers the next few samples of the current source to crossfade out of. */
  private captureFade(): void {
    const f = this.config.fadeSamples;
    for (let i = 0; i < f; i++) {
      const at = this.offset + i;
      this.fade[i] = this.data && at < this.length ? this.data[at] : 0;
    }
    this.fadeLeft = f;
  }

  private enter(kind: Kind, slot: number, data: Float32Array | null, length = data?.length ?? 0): void {
    this.kind = kind;
    this.slot = slot;
    this.data = data;
    this.length = length;
    this.offset = 0;
    if (kind === 'frame') {
      this.counters.played++;
      this.concealRun = 0;
      this.expandRun = 0;
    }
  }

  private conceal(slot: number): void {
    this.concealRun++;
    this.counters.concealed++;
    const buffer = this.concealBuffers[this.concealIndex];
    this.concealIndex ^= 1;
    concealFrameInto(buffer, this.last, this.concealRun);
    this.enter('conceal', slot, buffer);
  }

  private hasLater(slot: number): boolean {
    for (const key of this.frames.keys()) if (key > slot) return true;
    return false;
  }

  private start(): void {
    const frameSamples = this.config.frameSamples;
    let lowest = Infinity;
    for (const key of this.frames.keys()) lowest = Math.min(lowest, key);
    const target = this.targetSamples();
    const ahead = Math.min(this.highestExt - lowest, Math.floor(target / frameSamples));
    const first = this.highestExt - ahead;
    for (const key of [...this.frames.keys()]) {
      if (key < first) {
        this.frames.delete(key);
        this.counters.burstDropped++;
      }
    }
    this.playing = true;
    this.stoppedFloor = null;
    this.concealRun = 0;
    this.expandRun = 0;
    this.headroomCount = 0;
    this.headroomPos = 0;
    this.grown = 0;
    this.enter('preroll', first - 1, null, target - ahead * frameSamples);
    if (this.delayEma === null) this.delayEma = target + frameSamples / 2;
  }

  private stop(): void {
    this.playing = false;
    this.stoppedFloor = this.slot;
    this.data = null;
    this.counters.underrun++;
  }

  /** The current source ran out: on to the next slot, or conceal, or stop. */
  private advance(): void {
    if (this.kind === 'frame') this.last = this.data;
    if (this.kind === 'conceal') {
      // Still waiting for this slot.
      if (this.hasLater(this.slot)) {
        this.counters.lost++;
      } else {
        this.expandRun++;
        if (this.expandRun >= this.config.maxExpandFrames) {
          this.stop();
          return;
        }
        this.conceal(this.slot);
        return;
      }
    }
    const next = this.slot + 1;
    const frame = this.frames.get(next);
    if (frame) {
      this.frames.delete(next);
      this.enter('frame', next, frame);
    } else {
      this.conceal(next);
    }
  }

  /** Adds the next `out.length` samples of this speaker, times `gain`, into `out`. */
  render(out: Float32Array, gain = 1): void {
    let i = 0;
    const n = out.length;
    while (i < n) {
      if (!this.playing) {
        if (this.frames.size === 0) break;
        this.start();
      }
      if (this.kind === 'conceal') {
        const awaited = this.frames.get(this.slot);
        if (awaited) {
          // The late frame came while we were filling in for it: play it now.
          this.captureFade();
          this.frames.delete(this.slot);
          this.enter('frame', this.slot, awaited);
        }
      }
      if (this.offset >= this.length) {
        this.advance();
        continue;
      }
      const k = Math.min(n - i, this.length - this.offset);
      const data = this.data;
      for (let j = 0; j < k; j++) {
        let v = data ? data[this.offset + j] : 0;
        if (this.fadeLeft > 0) {
          const f = this.config.fadeSamples;
          const w = this.fadeLeft / f;
          v = v * (1 - w) + this.fade[f - this.fadeLeft] * w;
          this.fadeLeft--;
        }
        out[i + j] += v * gain;
      }
      if (this.kind === 'frame') this.counters.playedSamples += k;
      else if (this.kind === 'conceal') this.counters.concealedSamples += k;
      this.offset += k;
      i += k;
    }
    this.clock += n;
  }

  isPlaying(): boolean {
    return this.playing;
  }

  /** Contiguous audio buffered ahead of the play head, in samples. */
  depthSamples(): number {
    if (!this.playing) return 0;
    let depth = this.length - this.offset;
    for (let s = this.slot + 1; this.frames.has(s); s++) depth += this.config.frameSamples;
    return depth;
  }

  stats(samplesPerMs = 48): PlayoutStats {
    const c = this.counters;
    return {
      received: c.received,
      played: c.played,
      late: c.late,
      duplicate: c.duplicate,
      concealed: c.concealed,
      lost: c.lost,
      underrun: c.underrun,
      burstDropped: c.burstDropped,
      trims: c.trims,
      resets: c.resets,
      playedMs: c.playedSamples / samplesPerMs,
      concealedMs: c.concealedSamples / samplesPerMs,
      trimmedMs: c.trimmedSamples / samplesPerMs,
      recoveredMs: c.recoveredSamples / samplesPerMs,
      jitterMs: this.jitter / samplesPerMs,
      spreadMs: this.spread / samplesPerMs,
      targetMs: this.targetSamples() / samplesPerMs,
      depthMs: this.depthSamples() / samplesPerMs,
      playoutDelayMs: (this.delayEma ?? 0) / samplesPerMs,
      playing: this.playing,
    };
  }
}
