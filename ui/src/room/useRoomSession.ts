// Ties one room's connection to the audio engine for the views: who may send, mute and
// push-to-talk, mic lifecycle, and leaving on page hide.

import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { toast } from 'sonner';
import { AudioEngine } from '../audio/engine';
import { RoomConnection, type ConnectionSnapshot } from '../net/roomConnection';
import { socketUrl } from '../net/socketUrl';
import type { ClientBody } from '../protocol/control';
import { showError, showProtocolError } from '../views/toast';
import { prefs } from '../views/storage';
import { maySpeak, me as meOf, type RoomState } from './roomState';
import type { RoomTarget } from './roomTarget';

export interface SessionOptions {
  target: RoomTarget;
  guest: boolean;
  name: string;
  /** sessionStorage key of this room, where the room is saved on page hide for a reload. */
  storageKey: string;
  /** The room saved by the page before a reload: resume it instead of joining anew. */
  resumeFrom: RoomState | null;
}

const IDLE: ConnectionSnapshot = {
  status: 'connecting',
  room: null,
  attempt: 0,
  rttMs: null,
  inBitsPerSecond: 0,
  outBitsPerSecond: 0,
  failure: null,
};
const noSubscribe = () => () => {};
const idleSnapshot = () => IDLE;

export function useRoomSession(options: SessionOptions) {
  const [connection, setConnection] = useState<RoomConnection | null>(null);
  const [engine, setEngine] = useState<AudioEngine | null>(null);
  const [audioError, setAudioError] = useState<string | null>(null);
  const [selfMuted, setSelfMuted] = useState(false);
  const [pttMode, setPttMode] = useState(false);
  const [pttDown, setPttDown] = useState(false);
  const [micOpen, setMicOpen] = useState(false);
  const { room, host, invite } = options.target;
  const { guest, name, storageKey } = options;
  // Only the first connection of this page resumes a saved room; read it once.
  const resumeFrom = useRef(options.resumeFrom);

  useEffect(() => {
    let disposed = false;
    let audio: AudioEngine | null = null;
    const conn = new RoomConnection({
      url: socketUrl(location, guest),
      join: { room, name, invite, host },
      onAudio: (frame) => audio?.receive(frame),
      onError: showProtocolError,
      onWelcome: (state) => audio?.setStreamId(state.stream),
      resumeFrom: resumeFrom.current,
    });
    resumeFrom.current = null;
    setConnection(conn);
    AudioEngine.create((bytes) => conn.sendAudio(bytes))
      .then((created) => {
        if (disposed) {
          void created.close();
          return;
        }
        audio = created;
        const state = conn.snapshot().room;
        if (state) created.setStreamId(state.stream);
        const output = prefs.outputDevice();
        if (output) {
          created.setOutputDevice(output).catch((e) => showError(e, 'Could not use the chosen speakers'));
        }
        setEngine(created);
      })
      .catch((e) => {
        setAudioError(e instanceof Error ? e.message : String(e));
        showError(e, 'Audio is unavailable (chat still works)');
      });
    conn.start();
    const onHide = () => {
      // Saved for a reload, which resumes from it. Leaving as well keeps a closed tab from
      // lingering as "reconnecting"; a reload whose leave lost the race still resumes.
      const state = conn.snapshot().room;
      if (state && !state.ended) prefs.saveRoom(storageKey, state);
      conn.leave({ notify: false });
    };
    window.addEventListener('pagehide', onHide);
    return () => {
      disposed = true;
      window.removeEventListener('pagehide', onHide);
      conn.leave({ notify: false });
      void audio?.close();
      setEngine(null);
      setMicOpen(false);
      setConnection(null);
    };
  }, [room, host, invite, guest, name, storageKey]);

  const snapshot = useSyncExternalStore(
    connection ? (l) => connection.subscribe(l) : noSubscribe,
    connection ? () => connection.snapshot() : idleSnapshot,
  );

  const state = snapshot.room;
  const me = state ? meOf(state) : undefined;
  const allowedToSpeak = !!me && maySpeak(me.role) && !me.muted;
  const speakerRole = !!me && maySpeak(me.role);
  const sending = allowedToSpeak && !selfMuted && (!pttMode || pttDown) && snapshot.status === 'live';

  // The mic is open whenever our role may speak, so unmuting is instant; a Viewer's is closed
  // so the browser's recording indicator tells the truth. A mic that goes away (unplugged) is
  // replaced by the default one.
  const [micLost, setMicLost] = useState(0);
  const opening = useRef(false);

  useEffect(() => {
    if (!engine) return;
    engine.onMicLost = () => {
      toast.warning('The microphone went away; switching to the default one.');
      setMicOpen(false);
      setMicLost((n) => n + 1);
    };
    return () => {
      engine.onMicLost = null;
    };
  }, [engine]);

  useEffect(() => {
    if (!engine || opening.current) return;
    if (speakerRole && !engine.micOpen) {
      opening.current = true;
      engine
        .startMic(micLost > 0 ? undefined : prefs.inputDevice(), prefs.voiceProcessing())
        .then(() => setMicOpen(true))
        .catch((e) => {
          setAudioError(e instanceof Error ? e.message : String(e));
          showError(e, 'Microphone');
        })
        .finally(() => {
          opening.current = false;
        });
    } else if (!speakerRole && engine.micOpen) {
      engine.stopMic();
      setMicOpen(false);
    }
  }, [engine, speakerRole, micLost, micOpen]);

  useEffect(() => {
    engine?.setSending(sending);
  }, [engine, sending, micOpen]);

  const send = useCallback((body: ClientBody) => connection?.send(body) ?? null, [connection]);

  const toggleMute = useCallback(() => {
    const next = !selfMuted;
    setSelfMuted(next);
    connection?.send({ type: 'self_mute', muted: next });
  }, [connection, selfMuted]);

  const switchInput = useCallback(
    async (deviceId: string) => {
      prefs.setInputDevice(deviceId);
      if (!engine || !speakerRole) return;
      try {
        await engine.startMic(deviceId, prefs.voiceProcessing());
        engine.setSending(sending);
        setMicOpen(true);
      } catch (e) {
        showError(e, 'Could not switch microphone');
      }
    },
    [engine, speakerRole, sending],
  );

  const leave = useCallback(() => connection?.leave(), [connection]);

  return useMemo(
    () => ({
      snapshot,
      state,
      me,
      engine,
      audioError,
      selfMuted,
      toggleMute,
      pttMode,
      setPttMode,
      pttDown,
      setPttDown,
      sending,
      allowedToSpeak,
      micOpen,
      send,
      switchInput,
      leave,
    }),
    [snapshot, state, me, engine, audioError, selfMuted, toggleMute, pttMode, pttDown, sending, allowedToSpeak, micOpen, send, switchInput, leave],
  );
}

export type RoomSession = ReturnType<typeof useRoomSession>;
