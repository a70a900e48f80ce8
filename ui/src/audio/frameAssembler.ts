// Cuts the audio thread's 128-sample render quanta into 20 ms frames (960 samples at 48 kHz),
// remembering each frame's first sample on the capture clock so timestamps stay true.

export const FRAME_SAMPLES = 960;

export interface AssembledFrame {
  samples: Float32Array<ArrayBuffer>;
  /** Index of the frame's first sample since capture started. */
  start: number;
}

export class FrameAssembler {
  private frame: Float32Array<ArrayBuffer>;
  private filled = 0;
  private frameStart = 0;
  private seen = 0;

  constructor(private readonly frameSamples = FRAME_SAMPLES) {
    this.frame = new Float32Array(frameSamples);
  }

  /** Feeds one block; `block` null means the input had no channel (count it as silence). */
  push(block: Float32Array | null, blockLength = 128, emit: (frame: AssembledFrame) => void): void {
    const length = block ? block.length : blockLength;
    for (let i = 0; i < length; i++) {
      if (this.filled === 0) this.frameStart = this.seen;
      this.frame[this.filled++] = block ? block[i] : 0;
      this.seen++;
      if (this.filled === this.frameSamples) {
        emit({ samples: this.frame, start: this.frameStart });
        // The emitted buffer is handed over (transferred); never write into it again.
        this.frame = new Float32Array(this.frameSamples);
        this.filled = 0;
      }
    }
  }
}
