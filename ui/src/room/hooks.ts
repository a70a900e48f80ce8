// Narrow hooks over the room session (as @livekit/components-react has useParticipant and
// useIsSpeaking): each selects one slice and re-renders its component only when that slice
// changes. Selectors return objects the room state already holds, so unchanged slices keep
// their identity across events.

import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { ConnectionSnapshot } from '../net/roomConnection';
import type { MuteForMeStatus } from '../net/muteForMe';
import type { ChatMessage, Participant, ParticipantId } from '../protocol/control';
import type { E2eeStatus } from './e2ee';
import type { ChatText } from './roomCrypto';
import { MIC, SPEAKING } from './audioLevels';
import { useRoomSessionValue, type RoomActions } from './RoomContext';
import { typingNames, type RoomState } from '../net/roomState';

export { useLocalAudio } from './RoomContext';

export function useConnection(): ConnectionSnapshot {
  const { store } = useRoomSessionValue();
  return useSyncExternalStore(store.subscribe, store.snapshot);
}

/** One slice of the room; `select` must return a value the state holds (or a primitive). */
export function useRoomSelector<T>(select: (state: RoomState | null) => T): T {
  const { store } = useRoomSessionValue();
  return useSyncExternalStore(store.subscribe, () => select(store.snapshot().room));
}

export const useRoomState = () => useRoomSelector((s) => s);
export const useParticipants = () => useRoomSelector((s) => s?.participants);
export const useHands = () => useRoomSelector((s) => s?.hands);
export const useSettings = () => useRoomSelector((s) => s?.settings);

export function useParticipant(id: ParticipantId): Participant | undefined {
  return useRoomSelector((s) => s?.participants.find((p) => p.id === id));
}

/** Our own participant, once welcomed. */
export function useMe(): Participant | undefined {
  return useRoomSelector((s) => s?.participants.find((p) => p.id === s.me));
}

/** Whether we chose not to hear this participant ("Mute for me"): null, or asked / confirmed. */
export function useMutedForMe(id: ParticipantId): MuteForMeStatus | null {
  const { store } = useRoomSessionValue();
  return useSyncExternalStore(store.subscribe, () => store.snapshot().mutedForMe?.[id] ?? null);
}

export function useRoomActions(): RoomActions {
  return useRoomSessionValue().actions;
}

/** Linear loudness of a participant (or of our microphone with MIC), in 1 dB steps. */
export function useAudioLevel(id: ParticipantId): number {
  const { levels } = useRoomSessionValue();
  return useSyncExternalStore(levels.subscribe, () => levels.level(id));
}

export function useIsSpeaking(id: ParticipantId): boolean {
  const { levels } = useRoomSessionValue();
  const muted = useRoomSelector((s) => s?.participants.find((p) => p.id === id)?.muted ?? false);
  const loud = useSyncExternalStore(levels.subscribe, () => levels.level(id) > SPEAKING);
  return loud && !muted;
}

/** Our microphone's level as captured, sent or not. */
export function useMicLevel(): number {
  return useAudioLevel(MIC);
}

/** Who else is typing now; repaints when an indicator starts or runs out, not on a timer. */
export function useTypingNames(): string[] {
  const participants = useRoomSelector((s) => s?.participants);
  const typingUntil = useRoomSelector((s) => s?.typingUntil);
  const me = useRoomSelector((s) => s?.me);
  const [now, setNow] = useState(() => Date.now());
  // `now` is only the repaint trigger: expiries are judged against the clock at compute time.
  const names = useMemo(
    () => (participants && typingUntil && me ? typingNames({ participants, typingUntil, me } as RoomState, Date.now()) : []),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [participants, typingUntil, me, now],
  );
  useEffect(() => {
    if (!typingUntil) return;
    const t = Date.now();
    const next = Math.min(...Object.values(typingUntil).filter((until) => until > t));
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => setNow(Date.now()), next - t + 1);
    return () => clearTimeout(timer);
  }, [typingUntil, now]);
  return names;
}

/** The room's end-to-end encryption: off, missing key, waiting for it, ok (safety code), key changed. */
export function useE2ee(): E2eeStatus {
  const { e2ee } = useRoomSessionValue();
  return useSyncExternalStore(e2ee.subscribe, e2ee.snapshot);
}

/** A chat message's text as this page can show it (opened, when the room is encrypted). */
export function useChatText(message: ChatMessage): ChatText {
  const { e2ee } = useRoomSessionValue();
  // Both parts are primitives, so an unchanged message does not repaint.
  const kind = useSyncExternalStore(e2ee.subscribe, () => e2ee.chatText(message).kind);
  const text = useSyncExternalStore(e2ee.subscribe, () => {
    const t = e2ee.chatText(message);
    return 'text' in t ? t.text : '';
  });
  return kind === 'clear' || kind === 'opened' ? { kind, text } : { kind };
}

/** The room's current key as `k=` text, for the links we give; null in a clear room. */
export function useRoomKeyText(): string | null {
  const { e2ee } = useRoomSessionValue();
  return useSyncExternalStore(e2ee.subscribe, () => e2ee.keyText());
}
