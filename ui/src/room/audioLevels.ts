// How loud each participant is right now, sampled from the audio engine a few times a second
// while some view is watching, and announced only when a value moved: tiles and meters then
// repaint when their own participant's level changes, not on a timer.

import type { ParticipantId } from '../protocol/control';

/** Linear loudness above which a participant shows as speaking (≈ −34 dBov). */
export const SPEAKING = 0.02;
export const SAMPLE_EVERY_MS = 100;
/** The key of our own microphone's level, captured whether sent or not. */
export const MIC = '\u0000mic';
/** Levels are announced in 1 dB steps, down to −70 dBov (silence below); finer is not worth a repaint. */
const FLOOR = 10 ** (-70 / 20);

export type Levels = ReadonlyMap<ParticipantId, number>;

const quantize = (linear: number) => (linear < FLOOR ? 0 : 10 ** (Math.round(20 * Math.log10(linear)) / 20));

function sameLevels(a: Levels, b: Levels): boolean {
  if (a.size !== b.size) return false;
  for (const [id, level] of a) if (b.get(id) !== level) return false;
  return true;
}

export class AudioLevels {
  private levels: Levels = new Map();
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | null = null;

  /** `read` gives every participant's linear loudness now; it is called only while watched. */
  constructor(
    private readonly read: () => Levels,
    private readonly everyMs = SAMPLE_EVERY_MS,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    if (this.timer === null) this.timer = setInterval(() => this.sample(), this.everyMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  };

  current = (): Levels => this.levels;

  level(id: ParticipantId): number {
    return this.levels.get(id) ?? 0;
  }

  sample(): void {
    const next = new Map<ParticipantId, number>();
    for (const [id, linear] of this.read()) next.set(id, quantize(linear));
    if (sameLevels(next, this.levels)) return;
    this.levels = next;
    for (const listener of this.listeners) listener();
  }
}
