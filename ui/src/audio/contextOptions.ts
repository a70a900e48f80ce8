// How the page's AudioContext is opened: the one place both the app and the mouth-to-ear bench's
// WebRTC anchor take it from, so both play out through the same kind of device buffer.

/**
 * The audio device's buffer. `'interactive'` sounds like the low-latency choice but is the
 * device's default buffer: in Chromium on Linux 480 samples (10 ms), 40 ms from mixer to speaker
 * and everything clocked in 10 ms steps; `0` asks for the smallest, 128 samples there (2.7 ms
 * steps, 10.7 ms to the speaker). Every step counts twice for us: the capture waits for the next
 * callback, and a decoded frame waits for the next one of the mixer (docs/bench.md). A machine
 * too slow for the smallest buffer crackles: the audio settings can go back to the default one.
 */
export function audioContextOptions(lowestLatency = true): AudioContextOptions {
  return { sampleRate: 48000, latencyHint: lowestLatency ? 0 : 'interactive' };
}
