// Small preferences kept in the browser. Storage can be unavailable (private modes); then the
// defaults are used rather than failing.

function get(store: 'local' | 'session', key: string): string | null {
  try {
    return (store === 'local' ? localStorage : sessionStorage).getItem(key);
  } catch {
    return null;
  }
}

function set(store: 'local' | 'session', key: string, value: string | null): void {
  try {
    const s = store === 'local' ? localStorage : sessionStorage;
    if (value === null) s.removeItem(key);
    else s.setItem(key, value);
  } catch {
    /* preferences are a convenience only */
  }
}

export const prefs = {
  displayName: () => get('local', 'voiceChat.name'),
  setDisplayName: (name: string) => set('local', 'voiceChat.name', name),
  inputDevice: () => get('local', 'voiceChat.input') ?? undefined,
  setInputDevice: (id: string) => set('local', 'voiceChat.input', id),
  outputDevice: () => get('local', 'voiceChat.output') ?? undefined,
  setOutputDevice: (id: string) => set('local', 'voiceChat.output', id),
  /** Off suits music, and tests that measure a pure tone. */
  voiceProcessing: () => get('local', 'voiceChat.voiceProcessing') !== 'off',
  setVoiceProcessing: (on: boolean) => set('local', 'voiceChat.voiceProcessing', on ? null : 'off'),
  /** The smallest audio buffer (lowest delay); off for a machine on which it crackles. */
  lowestLatency: () => get('local', 'voiceChat.lowestLatency') !== 'off',
  setLowestLatency: (on: boolean) => set('local', 'voiceChat.lowestLatency', on ? null : 'off'),
  /** Set while this tab is in a room, so a reload rejoins without asking again. */
  joinedRoom: (key: string) => get('session', `voiceChat.joined.${key}`) === '1',
  setJoinedRoom: (key: string, joined: boolean) => {
    set('session', `voiceChat.joined.${key}`, joined ? '1' : null);
    if (!joined) set('session', `voiceChat.room.${key}`, null);
  },
  /** The room as this tab last knew it, so a reload resumes instead of joining anew. */
  savedRoom: (key: string): unknown => {
    const text = get('session', `voiceChat.room.${key}`);
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  },
  saveRoom: (key: string, state: unknown) => set('session', `voiceChat.room.${key}`, JSON.stringify(state)),
  /**
   * The key of an end-to-end encrypted room (`k=` text of its link), by `room@host`: this tab
   * keeps it for the session; a room this browser created (its owner) keeps it across sessions,
   * so "Copy invite link" on the home page can give a full link later.
   */
  roomKey: (room: string): string | undefined => get('session', `voiceChat.key.${room}`) ?? get('local', `voiceChat.key.${room}`) ?? undefined,
  setRoomKey: (room: string, key: string, keep: 'session' | 'always') => {
    set('session', `voiceChat.key.${room}`, key);
    if (keep === 'always' || get('local', `voiceChat.key.${room}`) !== null) set('local', `voiceChat.key.${room}`, key);
  },
};
