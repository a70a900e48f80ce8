// RFC 6464 audio level: the frame's RMS in −dBov, 0 loudest, 127 silence.

import { LEVEL_SILENCE } from '../protocol/frame';

export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / samples.length);
}

/** Full scale (±1.0) is 0 dBov, so a full-scale square wave is level 0 and a full-scale sine 3. */
export function levelFromRms(value: number): number {
  if (!(value > 0)) return LEVEL_SILENCE;
  const dbov = 20 * Math.log10(Math.min(value, 1));
  return Math.min(LEVEL_SILENCE, Math.max(0, Math.round(-dbov)));
}

export function audioLevel(samples: Float32Array): number {
  return levelFromRms(rms(samples));
}

/** Back to a linear 0..1 loudness, for meters and speaking rings. */
export function levelToLinear(level: number): number {
  if (level >= LEVEL_SILENCE) return 0;
  return Math.pow(10, -level / 20);
}

// −50 dBov sits well above the residue that noise suppression leaves and well below speech.
export const VOICE_LEVEL_THRESHOLD = 50;

export function isVoice(level: number): boolean {
  return level <= VOICE_LEVEL_THRESHOLD;
}
