// Reconnect delays: exponential with a cap, and jitter so that many clients dropped together
// (a node restart) do not come back in lockstep.

export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay that is randomised away, 0..1. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffConfig = { baseMs: 250, maxMs: 10_000, jitter: 0.5 };

/** Delay before reconnect attempt `attempt` (0 = first retry); `random` in [0, 1). */
export function backoffDelay(attempt: number, random: number, config: BackoffConfig = DEFAULT_BACKOFF): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new Error(`attempt must be a non-negative integer, got ${attempt}`);
  if (random < 0 || random >= 1) throw new Error(`random must be in [0, 1), got ${random}`);
  // Cap the exponent first so large attempts do not overflow to Infinity.
  const exponential = Math.min(config.maxMs, config.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exponential * (1 - config.jitter * random));
}

/** Close codes after which reconnecting cannot help. */
export function isFinalClose(code: number, ended: boolean): boolean {
  // 1000 normal (we left), 1008 policy (kicked, refused); an ended room never comes back.
  return ended || code === 1000 || code === 1008;
}
