// Loss concealment. WebCodecs offers no Opus PLC call, so a missing frame is filled with the
// last good frame, faded: each further missing frame continues the fade where the previous
// stopped, so a gap dies away smoothly instead of buzzing or clicking off.

/** Gain at the start of the `n`-th consecutive concealed frame (1-based). */
function startGain(n: number): number {
  return Math.pow(0.5, n - 1);
}

/** Writes the `n`-th consecutive concealed frame into `out` (no allocation: audio thread). */
export function concealFrameInto(out: Float32Array, last: Float32Array | null, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`concealment index must be >= 1, got ${n}`);
  const length = out.length;
  if (!last || last.length === 0) {
    out.fill(0);
    return out;
  }
  const from = startGain(n);
  const to = startGain(n + 1);
  for (let i = 0; i < length; i++) {
    // Play the last frame backwards from its end: the first concealed sample then continues
    // from the last real one without a jump.
    const source = last[last.length - 1 - (i % last.length)];
    out[i] = source * (from + ((to - from) * i) / length);
  }
  return out;
}

export function concealFrame(last: Float32Array | null, n: number, length = 960): Float32Array {
  return concealFrameInto(new Float32Array(length), last, n);
}
