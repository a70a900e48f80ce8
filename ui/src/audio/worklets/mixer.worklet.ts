// Runs on the audio thread: mixes one PCM queue per speaker, and paces the main thread with a
// tick every 20 ms of audio clock so the jitter buffers are drained by the sound card's clock,
// not by setInterval (which drifts and is throttled).

import { FRAME_SAMPLES, MixQueue } from '../mixQueue';

/** |sample| above this counts as sound for onset timing (about −34 dBFS). */
const LOUD = 0.02;

type Command =
  | { type: 'pcm'; id: number; samples: Float32Array }
  | { type: 'gain'; id: number; gain: number }
  | { type: 'remove'; id: number }
  | { type: 'master'; gain: number };

class MixerProcessor extends AudioWorkletProcessor {
  private readonly queues = new Map<number, MixQueue>();
  private sinceTick = 0;
  private master = 1;
  private tickEnergy = 0;
  private tickCount = 0;
  /** Samples into the current tick at which the output first got loud, or -1. */
  private firstLoud = -1;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<Command>) => this.command(event.data);
  }

  private queue(id: number): MixQueue {
    let q = this.queues.get(id);
    if (!q) {
      q = new MixQueue();
      this.queues.set(id, q);
    }
    return q;
  }

  private command(cmd: Command): void {
    switch (cmd.type) {
      case 'pcm':
        this.queue(cmd.id).push(cmd.samples);
        break;
      case 'gain':
        this.queue(cmd.id).gain = cmd.gain;
        break;
      case 'remove':
        this.queues.delete(cmd.id);
        break;
      case 'master':
        this.master = cmd.gain;
        break;
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0][0];
    out.fill(0);
    for (const q of this.queues.values()) q.mixInto(out);
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
      const queued: Record<number, number> = {};
      for (const [id, q] of this.queues) queued[id] = q.length;
      this.port.postMessage({
        type: 'tick',
        rms: Math.sqrt(this.tickEnergy / this.tickCount),
        // How long before the end of this tick the output first got loud (ms), or null.
        loudForMs: this.firstLoud < 0 ? null : ((this.tickCount - this.firstLoud) * 1000) / sampleRate,
        queued,
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
