// @vitest-environment jsdom
// While the room comes over HTTP polling: the "chat only" banner shows and the mic controls go;
// back on a socket, the banner goes and the controls return.
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionSnapshot } from '../../net/roomConnection';
import type { RoomState } from '../../net/roomState';
import { AudioLevels } from '../../room/audioLevels';
import { CLEAR_E2EE, RoomProvider, type LocalAudio, type RoomSessionValue } from '../../room/RoomContext';
import { Banners } from './Banners';
import { Controls } from './Controls';

afterEach(cleanup);

const state: RoomState = {
  room: 'r1',
  host: 'alice.os',
  me: 'g',
  stream: 1,
  resumeToken: 't',
  seq: 1,
  settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: true, guests_may_speak: true },
  participants: [{ id: 'g', name: 'Gus', role: 'speaker', stream: 1, muted: false, self_muted: false, reconnecting: false, guest: true, node: 'alice.os' }],
  hands: [],
  chat: [],
  typingUntil: {},
  speaking: {},
  hostReachable: true,
  ended: null,
};

function renderWith(transport: 'socket' | 'poll') {
  const snapshot: ConnectionSnapshot = { status: 'live', room: state, attempt: 0, rttMs: null, inBitsPerSecond: 0, outBitsPerSecond: 0, failure: null, transport };
  const value: RoomSessionValue = {
    store: { subscribe: () => () => {}, snapshot: () => snapshot },
    levels: new AudioLevels(() => new Map()),
    e2ee: CLEAR_E2EE,
    actions: { send: () => null, sendChat: async () => false, toggleMute: vi.fn(), setMutedForMe: vi.fn(), setPttMode: vi.fn(), setPttDown: vi.fn(), switchInput: vi.fn(), leave: vi.fn() },
  };
  const local: LocalAudio = { engine: null, audioError: null, selfMuted: false, pttMode: false, pttDown: false, sending: false, micOpen: false, listening: transport !== 'poll' };
  render(
    <RoomProvider session={value} local={local}>
      <Banners />
      <Controls onLeave={() => {}} />
    </RoomProvider>,
  );
}

describe('polling notice', () => {
  it('says "Listening is unavailable; chat only" and offers no mic while polling', () => {
    renderWith('poll');
    expect(screen.getByTestId('chat-only').textContent).toMatch(/^Listening is unavailable; chat only\./);
    expect(screen.queryByTestId('mute')).toBeNull();
  });

  it('shows neither on a socket', () => {
    renderWith('socket');
    expect(screen.queryByTestId('chat-only')).toBeNull();
    expect(screen.getByTestId('mute')).toBeTruthy();
  });
});
