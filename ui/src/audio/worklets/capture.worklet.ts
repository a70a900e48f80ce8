// Runs on the audio thread: gathers the mic's render quanta into 20 ms frames and hands each to
// the main thread, where WebCodecs lives.

import { FrameAssembler } from '../frameAssembler';

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly assembler = new FrameAssembler();

  process(inputs: Float32Array[][]): boolean {
    this.assembler.push(inputs[0]?.[0] ?? null, 128, (frame) =>
      this.port.postMessage(frame, [frame.samples.buffer]),
    );
    return true;
  }
}

registerProcessor('voice-capture', CaptureProcessor);
