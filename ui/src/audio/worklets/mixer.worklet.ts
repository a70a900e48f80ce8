// Runs on the audio thread: one PlayoutBuffer per speaker (jitter decisions and playout in one
// place, stepped by the audio clock one render quantum at a time), mixed into the output. The
// main thread only decodes and posts PCM here; what goes back is metering: a tick every 20 ms of
// audio clock (RMS, loud onset, the audio clock at the tick's end) and every 100 ms each speaker's playout stats.

import { FRAME_SAMPLES } from '../frameAssembler';
import { LOUD } from '../onset';
import { PlayoutBuffer } from '../playout';

const STATS_EVERY_TICKS = 5;

type Command =
  | { type: 'pcm'; id: number; sequence: number; timestamp: number; samples: Float32Array; traced?: boolean }
  | { type: 'gain'; id: number; gain: number }
  | { type: 'remove'; id: number }
  | { type: 'master'; gain: number };

interface Stream {
  playout: PlayoutBuffer;
  gain: number;
}

class MixerProcessor extends AudioWorkletProcessor {
  private readonly streams = new Map<number, Stream>();
  private sinceTick = 0;
  private ticks = 0;
  private master = 1;
  private tickEnergy = 0;
  private tickCount = 0;
  /** Samples into the current tick at which the output first got loud, or -1. */
  private firstLoud = -1;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<Command>) => this.command(event.data);
  }

  private stream(id: number): Stream {
    let s = this.streams.get(id);
    if (!s) {
      s = { playout: new PlayoutBuffer(), gain: 1 };
      this.streams.set(id, s);
    }
    return s;
  }

  private command(cmd: Command): void {
    switch (cmd.type) {
      case 'pcm': {
        const playout = this.stream(cmd.id).playout;
        playout.push(cmd.sequence, cmd.timestamp, cmd.samples);
        if (cmd.traced) {
          // For the latency budget: how long this onset waits here before it plays.
          const headroom = playout.lastArrivalHeadroom();
          this.port.postMessage({ type: 'hold', id: cmd.id, sequence: cmd.sequence, holdMs: headroom === null ? null : (headroom * 1000) / sampleRate });
        }
        break;
      }
      case 'gain':
        this.stream(cmd.id).gain = cmd.gain;
        break;
      case 'remove':
        this.streams.delete(cmd.id);
        break;
      case 'master':
        this.master = cmd.gain;
        break;
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0][0];
    out.fill(0);
    for (const s of this.streams.values()) s.playout.render(out, s.gain);
    for (let i = 0; i < out.length; i++) {
      const v = Math.max(-1, Math.min(1, out[i] * this.master));
      out[i] = v;
      this.tickEnergy += v * v;
      if (this.firstLoud < 0 && (v > LOUD || v < -LOUD)) this.firstLoud = this.tickCount + i;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    this.tickCount += out.length;
    this.sinceTick += out.length;
    if (this.sinceTick >= FRAME_SAMPLES) {
      this.sinceTick -= FRAME_SAMPLES;
      this.ticks++;
      let stats: Record<number, ReturnType<PlayoutBuffer['stats']>> | undefined;
      if (this.ticks % STATS_EVERY_TICKS === 0) {
        stats = {};
        for (const [id, s] of this.streams) stats[id] = s.playout.stats(sampleRate / 1000);
      }
      this.port.postMessage({
        type: 'tick',
        rms: Math.sqrt(this.tickEnergy / this.tickCount),
        // How long before the end of this tick the output first got loud (ms), or null.
        loudForMs: this.firstLoud < 0 ? null : ((this.tickCount - this.firstLoud) * 1000) / sampleRate,
        // The audio clock at the end of this tick, so the main thread can time the onset on it.
        endFrame: currentFrame + out.length,
        stats,
      });
      this.tickEnergy = 0;
      this.tickCount = 0;
      this.firstLoud = -1;
    }
    return true;
  }
}

registerProcessor('voice-mixer', MixerProcessor);

export {};
