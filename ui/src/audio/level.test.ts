import { describe, expect, it } from 'vitest';
import { audioLevel, isVoice, levelFromRms, levelToLinear, rms } from './level';

function sine(amplitude: number, n = 960, freq = 440): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / 48000);
  return out;
}

describe('RFC 6464 level', () => {
  it('is 0 for a full-scale square wave', () => {
    const square = Float32Array.from({ length: 960 }, (_, i) => (i % 2 ? 1 : -1));
    expect(audioLevel(square)).toBe(0);
  });

  it('is 3 for a full-scale sine and 9 at half amplitude', () => {
    expect(audioLevel(sine(1))).toBe(3);
    expect(audioLevel(sine(0.5))).toBe(9);
  });

  it('is 127 for digital silence and clamps very quiet signals to 127', () => {
    expect(audioLevel(new Float32Array(960))).toBe(127);
    expect(audioLevel(sine(1e-8))).toBe(127);
    expect(levelFromRms(NaN)).toBe(127);
  });

  it('clamps clipping input to 0', () => {
    expect(levelFromRms(4)).toBe(0);
  });

  it('maps back to linear', () => {
    expect(levelToLinear(0)).toBe(1);
    expect(levelToLinear(20)).toBeCloseTo(0.1);
    expect(levelToLinear(127)).toBe(0);
  });

  it('tells speech-like loudness from residue', () => {
    expect(isVoice(audioLevel(sine(0.1)))).toBe(true);
    expect(isVoice(audioLevel(sine(0.0005)))).toBe(false);
  });

  it('computes RMS', () => {
    expect(rms(new Float32Array(0))).toBe(0);
    expect(rms(sine(1, 4800))).toBeCloseTo(Math.SQRT1_2, 3);
  });
});
