// Runs on the audio thread: gathers the mic's render quanta into 20 ms frames and hands each to
// the main thread, where WebCodecs lives, marking frames in which a sound starts (latency trace).

import { FrameAssembler } from '../frameAssembler';
import { firstLoud } from '../onset';

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly assembler = new FrameAssembler();
  private wasLoud = false;

  process(inputs: Float32Array[][]): boolean {
    this.assembler.push(inputs[0]?.[0] ?? null, 128, (frame) => {
      const loud = firstLoud(frame.samples) >= 0;
      const onset = loud && !this.wasLoud;
      this.wasLoud = loud;
      this.port.postMessage({ samples: frame.samples, start: frame.start, onset }, [frame.samples.buffer]);
    });
    return true;
  }
}

registerProcessor('voice-capture', CaptureProcessor);
