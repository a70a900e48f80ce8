// Pure numbers from an AnalyserNode's data, for the debug hook the end-to-end tests read.

/** Frequency of the strongest bin, interpolated between neighbours; null if all silent. */
export function dominantFrequency(spectrumDb: Float32Array, sampleRate: number, fftSize: number): number | null {
  let best = -1;
  let bestDb = -Infinity;
  // Bin 0 is DC, which says nothing about a tone.
  for (let i = 1; i < spectrumDb.length; i++) {
    if (spectrumDb[i] > bestDb) {
      bestDb = spectrumDb[i];
      best = i;
    }
  }
  if (best < 0 || !Number.isFinite(bestDb)) return null;
  let offset = 0;
  if (best > 0 && best < spectrumDb.length - 1) {
    // Parabolic interpolation over the log magnitudes of the peak and its neighbours.
    const a = spectrumDb[best - 1];
    const b = spectrumDb[best];
    const c = spectrumDb[best + 1];
    const denominator = a - 2 * b + c;
    if (Number.isFinite(denominator) && denominator !== 0) offset = (0.5 * (a - c)) / denominator;
  }
  return ((best + offset) * sampleRate) / fftSize;
}
