// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Router } from 'wouter';
import { memoryLocation } from 'wouter/memory-location';
import { parseRoomTarget, roomPath } from '../room/roomTarget';
import { Home } from './Home';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  delete window.our;
});

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

/** The owner's lobby socket as the page opens it; the test plays the server. */
class LobbySocket {
  static all: LobbySocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    LobbySocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
  }
  accept() {
    this.readyState = 1;
    this.onopen?.();
  }
  push(message: object) {
    act(() => this.onmessage?.({ data: JSON.stringify({ v: 1, ...message }) }));
  }
}

/** alice.os's process as the home page sees it: one room, whose invite is asked for when needed. */
function node() {
  LobbySocket.all = [];
  vi.stubGlobal('WebSocket', LobbySocket);
  const posted: unknown[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      if (url.endsWith('/api/info')) return json({ name: 'voice-chat', version: '0.2.0', protocol_version: 1 });
      if (url.endsWith('/api/rooms')) return json([{ id: 'r1', settings: { name: 'Standup' }, participants: 0, created_ms: 1 }]);
      if (url.endsWith('/api/saved-state')) return json({ format: 1, loaded_from: 1, unreadable: null, unsaved_changes: false });
      const body = JSON.parse(String(init?.body));
      posted.push(body);
      if ('GetInvite' in body) return json({ Ok: 'inv_42' });
      return json({ Err: { code: 'unexpected', message: 'not in this test' } });
    }),
  );
  return posted;
}

describe('Home', () => {
  it('"Copy room@node" copies the address with the invite, which the join form reads back', async () => {
    window.our = { node: 'alice.os' };
    const posted = node();
    const copied: string[] = [];
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: async (text: string) => void copied.push(text) },
    });
    const location = memoryLocation({ path: '/', record: true });
    render(
      <Router hook={location.hook}>
        <Home />
      </Router>,
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Copy room@node' }));
    await waitFor(() => expect(copied).toHaveLength(1));
    expect(posted).toEqual([{ GetInvite: 'r1' }]);
    expect(copied[0]).toBe('r1@alice.os?invite=inv_42');
    expect(parseRoomTarget(copied[0])).toEqual({ room: 'r1', host: 'alice.os', invite: 'inv_42' });
    // What another node's user does with it: paste it into "Join a room", which opens the room
    // page with the invite (here on alice.os's own page, so without @node; roomPath keeps it for bob.os).
    expect(roomPath(parseRoomTarget(copied[0]), 'bob.os')).toBe('/room/r1@alice.os?invite=inv_42');
    fireEvent.change(screen.getByPlaceholderText('room-id@alice.os'), { target: { value: copied[0] } });
    fireEvent.submit(screen.getByTestId('join-remote'));
    expect(location.history.at(-1)).toBe('/room/r1?invite=inv_42');
  });

  it('lists the rooms live from node.rooms: counts and a speaking ring update without reload', async () => {
    window.our = { node: 'alice.os' };
    node();
    const location = memoryLocation({ path: '/' });
    render(
      <Router hook={location.hook}>
        <Home />
      </Router>,
    );
    await waitFor(() => expect(LobbySocket.all).toHaveLength(1));
    const socket = LobbySocket.all[0];
    expect(socket.url).toMatch(/\/ws$/);
    act(() => socket.accept());
    expect(socket.sent).toEqual([{ type: 'subscribe', pattern: 'node.rooms', v: 1, ref: 'lobby' }]);
    const lobbyRoom = { id: 'r1', name: 'Standup', participants: 0, capacity: 50, guests_allowed: false, created_ms: 1, speaking: [] };
    socket.push({ type: 'rooms', rooms: [lobbyRoom] });
    const row = () => screen.getByTestId('lobby-room');
    expect(row().dataset.participants).toBe('0');
    expect(screen.getByTestId('lobby-status').dataset.status).toBe('live');
    socket.push({ type: 'room_update', room: { ...lobbyRoom, participants: 2, speaking: [{ participant: 'p1', name: 'Gina', stream: 1 }] } });
    expect(row().dataset.participants).toBe('2');
    expect(row().dataset.speaking).toBe('true');
    expect(screen.getByLabelText('Speaking: Gina')).toBeTruthy();
    socket.push({ type: 'room_update', room: { ...lobbyRoom, participants: 1 } });
    expect(row().dataset.speaking).toBe('false');
    expect(screen.getByTestId('lobby-count').textContent).toBe('1');
    socket.push({ type: 'room_update', room: { ...lobbyRoom, id: 'r2', name: 'Made elsewhere', created_ms: 9 } });
    expect(screen.getAllByTestId('lobby-room').map((r) => r.dataset.room)).toEqual(['r2', 'r1']);
    socket.push({ type: 'room_closed', id: 'r1' });
    expect(screen.getAllByTestId('lobby-room').map((r) => r.dataset.room)).toEqual(['r2']);
  });
});
