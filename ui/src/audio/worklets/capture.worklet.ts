// Runs on the audio thread: gathers the mic's 128-sample render quanta into 20 ms frames
// (960 samples at 48 kHz) and hands each to the main thread, where WebCodecs lives.

const FRAME_SAMPLES = 960;

class CaptureProcessor extends AudioWorkletProcessor {
  private frame = new Float32Array(FRAME_SAMPLES);
  private filled = 0;
  /** Sample index of the frame's first sample, on the audio clock. */
  private frameStart = 0;
  private samplesSeen = 0;

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    // No input yet (device starting): count silence so the clock keeps time.
    const length = channel ? channel.length : 128;
    for (let i = 0; i < length; i++) {
      if (this.filled === 0) this.frameStart = this.samplesSeen;
      this.frame[this.filled++] = channel ? channel[i] : 0;
      this.samplesSeen++;
      if (this.filled === FRAME_SAMPLES) {
        this.port.postMessage({ samples: this.frame, start: this.frameStart }, [this.frame.buffer]);
        this.frame = new Float32Array(FRAME_SAMPLES);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('voice-capture', CaptureProcessor);

export {};
