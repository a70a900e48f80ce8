// One room's session, given to the views below RoomView through React context instead of a
// prop threaded through every component: the connection's store (room state and link), the
// sampled audio levels, the local audio state, and the actions. Views read it through the
// narrow hooks in ./hooks.ts, each repainting only when its own slice changes.

import { createContext, useContext, type ReactNode } from 'react';
import type { AudioEngine } from '../audio/engine';
import type { ConnectionSnapshot } from '../net/roomConnection';
import type { ChatMessage, ClientBody, ParticipantId } from '../protocol/control';
import type { AudioLevels } from './audioLevels';
import type { E2eeStatus } from './e2ee';
import type { ChatText } from './roomCrypto';

/** What the views need of a RoomConnection: its snapshot and change notifications. */
export interface RoomStore {
  subscribe(listener: () => void): () => void;
  snapshot(): ConnectionSnapshot;
}

/** This browser's side of the audio: changes on a click or a device event, never per frame. */
export interface LocalAudio {
  engine: AudioEngine | null;
  audioError: string | null;
  selfMuted: boolean;
  pttMode: boolean;
  pttDown: boolean;
  /** Our audio is going out now (allowed, not muted, push-to-talk held if on, connection live). */
  sending: boolean;
  micOpen: boolean;
  /** false while the room comes over HTTP polling: no audio either way (chat only). Absent: true. */
  listening?: boolean;
}

/** The room's end-to-end encryption as the views see it: the status, and chat texts opened. */
export interface E2eeStore {
  subscribe(listener: () => void): () => void;
  snapshot(): E2eeStatus;
  chatText(message: ChatMessage): ChatText;
  /** The current key as `k=` text for the links we give; null in a clear room. */
  keyText(): string | null;
}

const OFF: E2eeStatus = { kind: 'off' };

/** The E2EE store of a room that is not end-to-end encrypted (and before the session exists). */
export const CLEAR_E2EE: E2eeStore = {
  subscribe: () => () => {},
  snapshot: () => OFF,
  chatText: (m) => ({ kind: 'clear', text: m.text }),
  keyText: () => null,
};

export interface RoomActions {
  /** Sends a control message; returns its ref, or null when not connected (reported). */
  send(body: ClientBody): string | null;
  /**
   * Sends a chat message (sealed first in an end-to-end encrypted room); false when it could
   * not go. When the server refuses it later, `onRefused` gets its text back.
   */
  sendChat(text: string, onRefused?: (text: string) => void): Promise<boolean>;
  toggleMute(): void;
  /** "Mute for me": stop receiving this participant's audio (the server sends none), or hear them again. */
  setMutedForMe(participant: ParticipantId, muted: boolean): void;
  setPttMode(on: boolean): void;
  setPttDown(down: boolean): void;
  switchInput(deviceId: string): Promise<void>;
  leave(): void;
}

export interface RoomSessionValue {
  store: RoomStore;
  levels: AudioLevels;
  actions: RoomActions;
  e2ee: E2eeStore;
}

const SessionContext = createContext<RoomSessionValue | null>(null);
const LocalAudioContext = createContext<LocalAudio | null>(null);

export function RoomProvider({
  session,
  local,
  children,
}: {
  /** Stable for the life of one connection. */
  session: RoomSessionValue;
  local: LocalAudio;
  children: ReactNode;
}) {
  return (
    <SessionContext.Provider value={session}>
      <LocalAudioContext.Provider value={local}>{children}</LocalAudioContext.Provider>
    </SessionContext.Provider>
  );
}

export function useRoomSessionValue(): RoomSessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('room hooks are used only inside <RoomProvider>');
  return value;
}

export function useLocalAudio(): LocalAudio {
  const value = useContext(LocalAudioContext);
  if (!value) throw new Error('useLocalAudio is used only inside <RoomProvider>');
  return value;
}
