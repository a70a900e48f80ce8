// Runs on the audio thread: mixes one PCM queue per speaker, and paces the main thread with a
// tick every 20 ms of audio clock so the jitter buffers are drained by the sound card's clock,
// not by setInterval (which drifts and is throttled).

const FRAME_SAMPLES = 960;
/** A speaker starts once it has a frame plus this margin, to ride out decode latency. */
const START_SAMPLES = FRAME_SAMPLES + 480;
/** Beyond this, the oldest samples go: the queue must never add delay of its own. */
const MAX_SAMPLES = FRAME_SAMPLES * 4;
/** |sample| above this counts as sound for onset timing (about −34 dBFS). */
const LOUD = 0.02;

interface Queue {
  chunks: Float32Array[];
  offset: number;
  length: number;
  started: boolean;
  gain: number;
  underruns: number;
  trimmed: number;
}

type Command =
  | { type: 'pcm'; id: number; samples: Float32Array }
  | { type: 'gain'; id: number; gain: number }
  | { type: 'remove'; id: number }
  | { type: 'master'; gain: number };

class MixerProcessor extends AudioWorkletProcessor {
  private readonly queues = new Map<number, Queue>();
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

  private queue(id: number): Queue {
    let q = this.queues.get(id);
    if (!q) {
      q = { chunks: [], offset: 0, length: 0, started: false, gain: 1, underruns: 0, trimmed: 0 };
      this.queues.set(id, q);
    }
    return q;
  }

  private command(cmd: Command): void {
    switch (cmd.type) {
      case 'pcm': {
        const q = this.queue(cmd.id);
        q.chunks.push(cmd.samples);
        q.length += cmd.samples.length;
        while (q.length > MAX_SAMPLES && q.chunks.length > 1) {
          const dropped = q.chunks.shift()!;
          q.length -= dropped.length - q.offset;
          q.offset = 0;
          q.trimmed++;
        }
        if (!q.started && q.length >= START_SAMPLES) q.started = true;
        break;
      }
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
    for (const q of this.queues.values()) {
      if (!q.started) continue;
      let i = 0;
      while (i < out.length && q.chunks.length) {
        const chunk = q.chunks[0];
        const n = Math.min(out.length - i, chunk.length - q.offset);
        for (let k = 0; k < n; k++) out[i + k] += chunk[q.offset + k] * q.gain;
        i += n;
        q.offset += n;
        q.length -= n;
        if (q.offset === chunk.length) {
          q.chunks.shift();
          q.offset = 0;
        }
      }
      if (i < out.length) {
        // Ran dry: wait for a full start margin again rather than stutter sample by sample.
        q.started = false;
        q.underruns++;
      }
    }
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
