// Vite bundles each worklet as its own module and gives back its URL.
import captureWorkletUrl from './capture.worklet.ts?worker&url';
import mixerWorkletUrl from './mixer.worklet.ts?worker&url';

export { captureWorkletUrl, mixerWorkletUrl };
