// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { prefs } from '../room/prefs';
import { audioContextOptions } from './contextOptions';

describe('audioContextOptions', () => {
  afterEach(() => localStorage.clear());

  it('asks for the smallest device buffer unless the user turned it off', () => {
    expect(prefs.lowestLatency()).toBe(true);
    expect(audioContextOptions(prefs.lowestLatency())).toEqual({ sampleRate: 48000, latencyHint: 0 });
    prefs.setLowestLatency(false);
    expect(audioContextOptions(prefs.lowestLatency())).toEqual({ sampleRate: 48000, latencyHint: 'interactive' });
    prefs.setLowestLatency(true);
    expect(prefs.lowestLatency()).toBe(true);
  });
});
