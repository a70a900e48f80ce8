// The WebRTC anchor's output probe: the same onset rule and the same 20 ms ticks as the app's
// mixer worklet (src/audio/worklets/mixer.worklet.ts), on the received track instead of the mix.
/// <reference path="../../../src/audio/worklets/worklet-globals.d.ts" />
import { LOUD } from '../../../src/audio/onset';

const TICK = 960;

class ProbeProcessor extends AudioWorkletProcessor {
  private count = 0;
  private firstLoud = -1;
  private energy = 0;

  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0]?.[0];
    const n = input?.length ?? 128;
    for (let i = 0; input && i < n; i++) {
      const v = input[i];
      this.energy += v * v;
      if (this.firstLoud < 0 && (v > LOUD || v < -LOUD)) this.firstLoud = this.count + i;
    }
    this.count += n;
    if (this.count >= TICK) {
      this.port.postMessage({
        rms: Math.sqrt(this.energy / this.count),
        loudForMs: this.firstLoud < 0 ? null : ((this.count - this.firstLoud) * 1000) / sampleRate,
        endFrame: currentFrame + n,
      });
      this.count = 0;
      this.energy = 0;
      this.firstLoud = -1;
    }
    return true;
  }
}

registerProcessor('webrtc-probe', ProbeProcessor);
