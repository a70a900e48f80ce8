import { describe, expect, it } from 'vitest';
import { FrameAssembler, type AssembledFrame } from './frameAssembler';

describe('FrameAssembler', () => {
  it('cuts 128-sample blocks into 960-sample frames with their start on the capture clock', () => {
    const frames: AssembledFrame[] = [];
    const assembler = new FrameAssembler();
    let n = 0;
    for (let b = 0; b < 30; b++) {
      const block = Float32Array.from({ length: 128 }, () => n++);
      assembler.push(block, 128, (f) => frames.push(f));
    }
    expect(frames.map((f) => f.start)).toEqual([0, 960, 1920, 2880]);
    expect(frames[1].samples[0]).toBe(960);
    expect(frames[2].samples[959]).toBe(2879);
  });

  it('counts a block without input as silence so timestamps keep time', () => {
    const frames: AssembledFrame[] = [];
    const assembler = new FrameAssembler(256);
    assembler.push(null, 128, (f) => frames.push(f));
    assembler.push(new Float32Array(128).fill(1), 128, (f) => frames.push(f));
    expect(frames).toHaveLength(1);
    expect(frames[0].samples[0]).toBe(0);
    expect(frames[0].samples[255]).toBe(1);
  });

  it('never reuses a buffer it handed out', () => {
    const frames: AssembledFrame[] = [];
    const assembler = new FrameAssembler(128);
    assembler.push(new Float32Array(128).fill(1), 128, (f) => frames.push(f));
    assembler.push(new Float32Array(128).fill(2), 128, (f) => frames.push(f));
    expect(frames[0].samples).not.toBe(frames[1].samples);
    expect(frames[0].samples[0]).toBe(1);
  });
});
