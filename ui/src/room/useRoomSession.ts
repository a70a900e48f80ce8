// Ties one room's connection to the audio engine: who may send, mute and push-to-talk, mic
// lifecycle, leaving on page hide, and the sampled audio levels. Gives what <RoomProvider>
// hands to the views; problems go to the page through `report` (this layer shows nothing).

import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { AudioEngine } from '../audio/engine';
import { levelToLinear } from '../audio/level';
import { RoomConnection, type ConnectionSnapshot } from '../net/roomConnection';
import { pollUrl, socketUrl } from '../net/socketUrl';
import type { ClientBody, ParticipantId, ProtocolErrorMessage } from '../protocol/control';
import { AudioLevels, MIC, SPEAKING, type Levels } from './audioLevels';
import { prefs } from './prefs';
import { CLEAR_E2EE, type E2eeStore, type LocalAudio, type RoomActions, type RoomSessionValue, type RoomStore } from './RoomContext';
import { RoomCrypto, startingKey } from './roomCrypto';
import { UnsentChats } from './unsentChats';
import { maySpeak, me as meOf, type RoomState } from '../net/roomState';
import type { RoomTarget } from './roomTarget';

/** How the page shows what went wrong (toasts, in the views). */
export interface Reporter {
  error(error: unknown, context?: string): void;
  protocolError(error: ProtocolErrorMessage): void;
  warning(text: string): void;
}

export interface SessionOptions {
  target: RoomTarget;
  guest: boolean;
  name: string;
  /** sessionStorage key of this room, where the room is saved on page hide for a reload. */
  storageKey: string;
  /** The room saved by the page before a reload: resume it instead of joining anew. */
  resumeFrom: RoomState | null;
  report: Reporter;
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

/** A store that stays on "connecting" until the connection exists (the first render). */
const IDLE_STORE: RoomStore = { subscribe: () => () => {}, snapshot: () => IDLE };

export interface RoomSession {
  value: RoomSessionValue;
  local: LocalAudio;
  snapshot: ConnectionSnapshot;
  /** Why the key in the link could not be used (damaged), or null. */
  keyProblem: string | null;
}

export function useRoomSession(options: SessionOptions): RoomSession {
  const [connection, setConnection] = useState<RoomConnection | null>(null);
  const [crypto, setCrypto] = useState<RoomCrypto | null>(null);
  const [engine, setEngine] = useState<AudioEngine | null>(null);
  const [audioError, setAudioError] = useState<string | null>(null);
  const [selfMuted, setSelfMuted] = useState(false);
  const [pttMode, setPttMode] = useState(false);
  const [pttDown, setPttDown] = useState(false);
  const [micOpen, setMicOpen] = useState(false);
  const { room, host, invite, key } = options.target;
  const { guest, name, storageKey } = options;
  // Only the first connection of this page resumes a saved room; read it once.
  const resumeFrom = useRef(options.resumeFrom);
  // The reporter may be a new object each render; the connection keeps the latest.
  const report = useRef(options.report);
  report.current = options.report;
  // One per connection: refs count from c1 again on a new one, so an old entry must not match.
  const unsentChats = useRef(new UnsentChats());

  useEffect(() => {
    let disposed = false;
    const unsent = new UnsentChats();
    unsentChats.current = unsent;
    let audio: AudioEngine | null = null;
    // The key of an end-to-end encrypted room: from the link, else (or when newer) what this
    // browser kept.
    const keyText = startingKey(key, prefs.roomKey(storageKey));
    if (keyText) prefs.setRoomKey(storageKey, keyText, 'session');
    const sealing = new RoomCrypto({
      room,
      keyText,
      send: (body) => void conn.send(body),
      onKeyText: (text) => {
        // Rotated: a reload and the links we give must carry the new key, not the old one.
        prefs.setRoomKey(storageKey, text, 'session');
        if (/(^#|&)k=/.test(location.hash)) history.replaceState(history.state, '', `${location.pathname}${location.search}#k=${text}`);
      },
    });
    if (import.meta.env.MODE === 'test-hooks') {
      // Test builds only: what the cipher adds per frame, for the mouth-to-ear bench's budget.
      (window as { __voiceChatCipher?: () => ReturnType<RoomCrypto['cipherDelays']> }).__voiceChatCipher = () => sealing.cipherDelays();
    }
    const conn = new RoomConnection({
      url: socketUrl(location, guest),
      join: { room, name, invite, host },
      onAudio: (frame) => {
        const opened = sealing.incoming(frame);
        if (opened instanceof Promise) void opened.then((f) => f && audio?.receive(f));
        else if (opened) audio?.receive(opened);
      },
      onE2eeKey: (message) => sealing.onKeyMessage(message),
      onError: (e) => {
        // A refused chat message gets its text back in the box; the toast says why.
        unsent.refused(e);
        report.current.protocolError(e);
      },
      onWelcome: (state) => {
        audio?.setStreamId(state.stream);
        // A join or resume: a fresh frame encryptor, and our key announced again if need be.
        sealing.welcomed();
      },
      resumeFrom: resumeFrom.current,
      // Chat, hands and the participant list over HTTP when no socket can be had.
      poll: { url: pollUrl(guest) },
    });
    resumeFrom.current = null;
    let seen: RoomState | null = null;
    const unwatch = conn.subscribe(() => {
      const state = conn.snapshot().room;
      if (state === seen) return;
      seen = state;
      sealing.update(state);
    });
    setConnection(conn);
    setCrypto(sealing);
    AudioEngine.create((bytes) => {
      const sealed = sealing.outgoing(bytes);
      if (sealed instanceof Promise) void sealed.then((b) => b && conn.sendAudio(b));
      else conn.sendAudio(bytes);
    }, prefs.lowestLatency())
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
          created.setOutputDevice(output).catch((e) => report.current.error(e, 'Could not use the chosen speakers'));
        }
        setEngine(created);
      })
      .catch((e) => {
        setAudioError(e instanceof Error ? e.message : String(e));
        report.current.error(e, 'Audio is unavailable (chat still works)');
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
      unwatch();
      conn.leave({ notify: false });
      sealing.close();
      setCrypto(null);
      void audio?.close();
      setEngine(null);
      setMicOpen(false);
      setConnection(null);
    };
  }, [room, host, invite, key, guest, name, storageKey]);

  const store = useMemo<RoomStore>(
    () => (connection ? { subscribe: (l) => connection.subscribe(l), snapshot: () => connection.snapshot() } : IDLE_STORE),
    [connection],
  );
  const snapshot = useSyncExternalStore(store.subscribe, store.snapshot);

  const state = snapshot.room;
  const me = state ? meOf(state) : undefined;
  const allowedToSpeak = !!me && maySpeak(me.role) && !me.muted;
  // Polling carries no audio: the mic stays closed and nothing is sent until a socket is back.
  const listening = snapshot.transport !== 'poll';
  const speakerRole = !!me && maySpeak(me.role) && listening;
  const sending = allowedToSpeak && listening && !selfMuted && (!pttMode || pttDown) && snapshot.status === 'live';

  // The mic is open whenever our role may speak, so unmuting is instant; a Viewer's is closed
  // so the browser's recording indicator tells the truth. A mic that goes away (unplugged) is
  // replaced by the default one.
  const [micLost, setMicLost] = useState(0);
  const opening = useRef(false);

  useEffect(() => {
    if (!engine) return;
    engine.onMicLost = () => {
      report.current.warning('The microphone went away; switching to the default one.');
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
          report.current.error(e, 'Microphone');
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

  // The level sampler reads the latest engine and connection through refs, so it is made once.
  const latest = useRef({ engine, connection, sending });
  latest.current = { engine, connection, sending };
  const levels = useMemo(() => new AudioLevels(() => readLevels(latest.current)), []);

  const send = useCallback(
    (body: ClientBody) => {
      // Whoever removes someone from an encrypted room gives the others a new key after.
      if ((body.type === 'kick' || body.type === 'ban') && crypto) crypto.noteRemoval(body.participant);
      return connection?.send(body) ?? null;
    },
    [connection, crypto],
  );
  const sendChat = useCallback(
    async (text: string, onRefused?: (text: string) => void) => {
      if (!connection) return false;
      try {
        const body = crypto ? await crypto.chatBody(text) : text;
        const ref = connection.send({ type: 'chat', text: body });
        if (ref !== null && onRefused) unsentChats.current.sent(ref, text, onRefused);
        return ref !== null;
      } catch (e) {
        report.current.error(e, 'Could not encrypt the message');
        return false;
      }
    },
    [connection, crypto],
  );
  const selfMutedRef = useRef(selfMuted);
  selfMutedRef.current = selfMuted;
  const toggleMute = useCallback(() => {
    const next = !selfMutedRef.current;
    setSelfMuted(next);
    connection?.send({ type: 'self_mute', muted: next });
  }, [connection]);

  const speakerRoleRef = useRef(speakerRole);
  speakerRoleRef.current = speakerRole;
  const switchInput = useCallback(
    async (deviceId: string) => {
      prefs.setInputDevice(deviceId);
      const { engine: current, sending: now } = latest.current;
      if (!current || !speakerRoleRef.current) return;
      try {
        await current.startMic(deviceId, prefs.voiceProcessing());
        current.setSending(now);
        setMicOpen(true);
      } catch (e) {
        report.current.error(e, 'Could not switch microphone');
      }
    },
    [],
  );
  const leave = useCallback(() => connection?.leave(), [connection]);
  const setMutedForMe = useCallback(
    (participant: ParticipantId, muted: boolean) => connection?.setMutedForMe(participant, muted),
    [connection],
  );

  const actions = useMemo<RoomActions>(
    () => ({ send, sendChat, toggleMute, setMutedForMe, setPttMode, setPttDown, switchInput, leave }),
    [send, sendChat, toggleMute, setMutedForMe, switchInput, leave],
  );
  const e2ee = useMemo<E2eeStore>(
    () =>
      crypto
        ? { subscribe: crypto.subscribe, snapshot: crypto.snapshot, chatText: (m) => crypto.chatText(m), keyText: () => crypto.keyText() }
        : CLEAR_E2EE,
    [crypto],
  );
  const value = useMemo<RoomSessionValue>(() => ({ store, levels, actions, e2ee }), [store, levels, actions, e2ee]);
  const local = useMemo<LocalAudio>(
    () => ({ engine, audioError, selfMuted, pttMode, pttDown, sending, micOpen, listening }),
    [engine, audioError, selfMuted, pttMode, pttDown, sending, micOpen, listening],
  );
  return { value, local, snapshot, keyProblem: crypto?.keyProblem ?? null };
}

/** Every participant's loudness as this browser knows it, and our microphone's. */
function readLevels({
  engine,
  connection,
  sending,
}: {
  engine: AudioEngine | null;
  connection: RoomConnection | null;
  sending: boolean;
}): Levels {
  const levels = new Map<ParticipantId, number>();
  const state = connection?.snapshot().room;
  const mic = engine?.micOpen ? levelToLinear(engine.micLevel) : 0;
  levels.set(MIC, mic);
  if (!state) return levels;
  for (const p of state.participants) {
    if (p.id === state.me) {
      levels.set(p.id, sending ? mic : 0);
      continue;
    }
    const local = engine ? engine.playback.loudness(p.stream) : 0;
    // Heard here, or said to be speaking by the host (a stream this browser does not get).
    levels.set(p.id, Math.max(local, state.speaking[p.id] ? SPEAKING * 2 : 0));
  }
  return levels;
}
