// The microphone: getUserMedia with the browser's voice processing on, a capture worklet that
// cuts 20 ms frames, and the Opus encoder.

import { VoiceEncoder, type EncodedFrameSink } from './encoder';
import { wallMs } from './onset';
import { captureWorkletUrl } from './worklets/urls';

/**
 * Voice processing (echo cancellation, noise suppression, auto gain) is on by default; turning
 * it off suits music, and lets tests measure a tone that noise suppression would treat as noise.
 */
export function micConstraints(deviceId?: string, voiceProcessing = true): MediaStreamConstraints {
  return {
    audio: {
      deviceId: deviceId ? { exact: deviceId } : undefined,
      echoCancellation: voiceProcessing,
      noiseSuppression: voiceProcessing,
      autoGainControl: voiceProcessing,
      channelCount: 1,
      sampleRate: 48000,
    },
    video: false,
  };
}

function micError(e: unknown): Error {
  const name = e instanceof DOMException ? e.name : '';
  if (name === 'NotAllowedError') return new Error('Microphone permission was denied; allow it in the browser to speak.');
  if (name === 'NotFoundError') return new Error('No microphone found.');
  if (name === 'NotReadableError') return new Error('The microphone is in use by another program or cannot be read.');
  return new Error(`Could not open the microphone: ${String(e)}`);
}

/** Opens the chosen mic; a remembered device that is gone falls back to the default one. */
async function openMic(deviceId: string | undefined, voiceProcessing: boolean): Promise<MediaStream> {
  try {
    return await navigator.mediaDevices.getUserMedia(micConstraints(deviceId, voiceProcessing));
  } catch (e) {
    const name = e instanceof DOMException ? e.name : '';
    if (deviceId && (name === 'OverconstrainedError' || name === 'NotFoundError')) {
      try {
        return await navigator.mediaDevices.getUserMedia(micConstraints(undefined, voiceProcessing));
      } catch (fallback) {
        throw micError(fallback);
      }
    }
    throw micError(e);
  }
}

export class Capture {
  private constructor(
    private readonly stream: MediaStream,
    private readonly source: MediaStreamAudioSourceNode,
    private readonly node: AudioWorkletNode,
    readonly encoder: VoiceEncoder,
  ) {}

  /** Called when the mic stops delivering (unplugged, revoked). */
  onLost: (() => void) | null = null;

  static async start(
    context: AudioContext,
    sink: EncodedFrameSink,
    deviceId?: string,
    voiceProcessing = true,
  ): Promise<Capture> {
    const stream = await openMic(deviceId, voiceProcessing);
    await context.audioWorklet.addModule(captureWorkletUrl);
    const source = context.createMediaStreamSource(stream);
    // Zero outputs: Chromium still runs a worklet with no outputs, and nothing reaches the speakers.
    const node = new AudioWorkletNode(context, 'voice-capture', { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit' });
    const encoder = new VoiceEncoder(sink);
    node.port.onmessage = (event: MessageEvent<{ samples: Float32Array<ArrayBuffer>; start: number; onset: boolean }>) =>
      encoder.push(event.data.samples, event.data.start, event.data.onset);
    source.connect(node);
    const capture = new Capture(stream, source, node, encoder);
    // A device unplugged or taken away ends the track: tell the owner instead of going quiet.
    for (const track of stream.getAudioTracks()) track.onended = () => capture.onLost?.();
    return capture;
  }

  /**
   * Mixes a tone into what the mic captures, from now for `durationMs`; returns the wall-clock
   * start (onset.ts wallMs). For mouth-to-ear measurements: the far end times when it hears it.
   */
  injectTone(frequency: number, durationMs: number, amplitude = 0.5): number {
    const context = this.node.context;
    const oscillator = new OscillatorNode(context, { frequency });
    const gain = new GainNode(context, { gain: amplitude });
    oscillator.connect(gain).connect(this.node);
    const startedAt = wallMs();
    oscillator.start();
    oscillator.stop(context.currentTime + durationMs / 1000);
    oscillator.onended = () => gain.disconnect();
    return startedAt;
  }

  get deviceLabel(): string {
    return this.stream.getAudioTracks()[0]?.label ?? '';
  }

  stop(): void {
    this.onLost = null;
    for (const track of this.stream.getAudioTracks()) track.onended = null;
    this.node.port.onmessage = null;
    this.source.disconnect();
    this.node.disconnect();
    for (const track of this.stream.getTracks()) track.stop();
    this.encoder.close();
  }
}

export async function listDevices(): Promise<{ inputs: MediaDeviceInfo[]; outputs: MediaDeviceInfo[] }> {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    inputs: devices.filter((d) => d.kind === 'audioinput'),
    outputs: devices.filter((d) => d.kind === 'audiooutput'),
  };
}
