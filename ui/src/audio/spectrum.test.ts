import { describe, expect, it } from 'vitest';
import { dominantFrequency } from './spectrum';

/** Magnitude spectrum in dB of a Hann-windowed sine, by a plain DFT. */
function spectrumOf(freq: number, sampleRate: number, fftSize: number): Float32Array {
  const out = new Float32Array(fftSize / 2);
  for (let k = 0; k < out.length; k++) {
    let re = 0;
    let im = 0;
    for (let n = 0; n < fftSize; n++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / fftSize);
      const x = w * Math.sin((2 * Math.PI * freq * n) / sampleRate);
      re += x * Math.cos((2 * Math.PI * k * n) / fftSize);
      im -= x * Math.sin((2 * Math.PI * k * n) / fftSize);
    }
    out[k] = 20 * Math.log10(Math.hypot(re, im) + 1e-12);
  }
  return out;
}

describe('dominantFrequency', () => {
  it('finds a 440 Hz tone within a few hertz', () => {
    const f = dominantFrequency(spectrumOf(440, 48000, 2048), 48000, 2048);
    expect(f).not.toBeNull();
    expect(Math.abs(f! - 440)).toBeLessThan(5);
  });

  it('tells 1 kHz from 440 Hz', () => {
    expect(Math.abs(dominantFrequency(spectrumOf(1000, 48000, 2048), 48000, 2048)! - 1000)).toBeLessThan(5);
  });

  it('gives null for an all-silent spectrum', () => {
    expect(dominantFrequency(new Float32Array(1024).fill(-Infinity), 48000, 2048)).toBeNull();
  });
});
