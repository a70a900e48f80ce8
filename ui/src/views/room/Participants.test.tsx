// @vitest-environment jsdom
// "Mute for me" on a participant's tile, through the real session pieces: a RoomConnection on a
// `ws` server on loopback that plays the process's part, read by the views via <RoomProvider>.
import type { AddressInfo } from 'node:net';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import type { Participant, Snapshot } from '../../protocol/control';
import { RoomConnection } from '../../net/roomConnection';
import { AudioLevels } from '../../room/audioLevels';
import { CLEAR_E2EE, RoomProvider, type LocalAudio, type RoomSessionValue } from '../../room/RoomContext';
import { Participants } from './Participants';

const person = (id: string, name: string, stream: number): Participant => ({
  id,
  name,
  role: 'speaker',
  stream,
  muted: false,
  self_muted: false,
  reconnecting: false,
  guest: false,
  node: 'alice.os',
});

const snapshot: Snapshot = {
  room: 'r1',
  host: 'alice.os',
  settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: false, guests_may_speak: false },
  participants: [person('p1', 'Me', 5), person('p2', 'Ann', 7), person('p3', 'Cy', 8)],
  hands: [],
  chat: [],
  seq: 3,
};

let server: WebSocketServer | null = null;
let connection: RoomConnection | null = null;

afterEach(async () => {
  cleanup();
  connection?.leave();
  connection = null;
  await new Promise((r) => (server ? server.close(r) : r(null)));
  server = null;
});

/**
 * A server that welcomes us into `snapshot` and records subscribe/unsubscribe; it answers them
 * only when told to, so the page's state before the answer can be seen.
 */
async function startServer() {
  const s = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server = s;
  await new Promise((r) => s.once('listening', r));
  const got: string[] = [];
  const held: (() => void)[] = [];
  s.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(data.toString());
      if (m.type === 'join') {
        socket.send(
          JSON.stringify({
            type: 'welcome',
            v: 1,
            room: 'r1',
            host: 'alice.os',
            participant: 'p1',
            stream: 5,
            role: 'speaker',
            resume_token: 't',
            resumed: false,
            seq: 3,
            snapshot,
          }),
        );
      }
      if (m.type === 'subscribe' || m.type === 'unsubscribe') {
        got.push(`${m.type} ${m.pattern}`);
        const answer = m.type === 'subscribe' ? { type: 'subscribed', topics: [] } : { type: 'unsubscribed' };
        held.push(() => socket.send(JSON.stringify({ ...answer, v: 1, pattern: m.pattern })));
      }
    });
  });
  return {
    url: `ws://127.0.0.1:${(s.address() as AddressInfo).port}`,
    got,
    /** Sends the answers held so far. */
    answer: () => held.splice(0).forEach((send) => send()),
  };
}

async function renderRoom(url: string) {
  const errors: string[] = [];
  const conn = new RoomConnection({
    url,
    join: { room: 'r1', name: 'Me' },
    onAudio: () => {},
    onError: (e) => errors.push(e.code),
    WebSocketImpl: NodeWebSocket as unknown as new (url: string) => WebSocket,
  });
  connection = conn;
  const value: RoomSessionValue = {
    store: { subscribe: (l) => conn.subscribe(l), snapshot: () => conn.snapshot() },
    levels: new AudioLevels(() => new Map()),
    e2ee: CLEAR_E2EE,
    actions: {
      send: (body) => conn.send(body),
      sendChat: async (text) => conn.send({ type: 'chat', text }) !== null,
      setMutedForMe: (id, muted) => conn.setMutedForMe(id, muted),
      toggleMute: () => {},
      setPttMode: () => {},
      setPttDown: () => {},
      switchInput: async () => {},
      leave: () => conn.leave(),
    },
  };
  const local: LocalAudio = { engine: null, audioError: null, selfMuted: false, pttMode: false, pttDown: false, sending: false, micOpen: false };
  render(
    <RoomProvider session={value} local={local}>
      <Participants />
    </RoomProvider>,
  );
  conn.start();
  await waitFor(() => expect(screen.getAllByTestId('participant')).toHaveLength(3));
  return { errors };
}

const tile = (name: string) => screen.getAllByTestId('participant').find((t) => t.dataset.name === name)!;

describe('Participants: mute for me', () => {
  it('offers it on everyone but me, shows asked then confirmed on the tile, and undoes it', async () => {
    const { url, got, answer } = await startServer();
    const { errors } = await renderRoom(url);
    expect(within(tile('Me')).queryByTestId('mute-for-me')).toBeNull();
    for (const name of ['Ann', 'Cy']) {
      expect(tile(name).dataset.mutedForMe).toBe('false');
      expect(within(tile(name)).getByRole('button', { name: 'Mute for me' }).getAttribute('aria-pressed')).toBe('false');
    }

    fireEvent.click(within(tile('Ann')).getByRole('button', { name: 'Mute for me' }));
    await waitFor(() => expect(got).toEqual(['unsubscribe room.r1.audio.7']));
    // Asked, not yet answered.
    expect(tile('Ann').dataset.mutedForMe).toBe('pending');
    expect(within(tile('Ann')).getByTestId('muted-for-you').textContent).toBe('muted for you…');
    const unmute = within(tile('Ann')).getByRole('button', { name: 'Unmute for me' });
    expect(unmute.getAttribute('aria-pressed')).toBe('true');

    answer();
    await waitFor(() => expect(tile('Ann').dataset.mutedForMe).toBe('true'));
    expect(within(tile('Ann')).getByTestId('muted-for-you').textContent).toBe('muted for you');
    // Nobody else is touched.
    expect(tile('Cy').dataset.mutedForMe).toBe('false');
    expect(within(tile('Cy')).queryByTestId('muted-for-you')).toBeNull();

    fireEvent.click(within(tile('Ann')).getByRole('button', { name: 'Unmute for me' }));
    await waitFor(() => expect(got).toEqual(['unsubscribe room.r1.audio.7', 'subscribe room.r1.audio.7']));
    expect(tile('Ann').dataset.mutedForMe).toBe('false');
    expect(within(tile('Ann')).queryByTestId('muted-for-you')).toBeNull();
    expect(within(tile('Ann')).getByRole('button', { name: 'Mute for me' })).toBeTruthy();
    answer();
    expect(errors).toEqual([]);
  });
});
