// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientBody, Participant } from '../../protocol/control';
import type { RoomState } from '../../room/roomState';
import type { RoomSession } from '../../room/useRoomSession';
import { Chat } from './Chat';
import { Controls } from './Controls';
import { Hands } from './Hands';
import { Participants } from './Participants';

afterEach(cleanup);

const person = (id: string, name: string, role: Participant['role'], extra: Partial<Participant> = {}): Participant => ({
  id,
  name,
  role,
  stream: id.charCodeAt(0),
  muted: false,
  self_muted: false,
  reconnecting: false,
  guest: false,
  node: 'alice.os',
  ...extra,
});

function room(me: string, participants: Participant[], extra: Partial<RoomState> = {}): RoomState {
  return {
    room: 'r1',
    host: 'alice.os',
    me,
    stream: 1,
    resumeToken: 't',
    seq: 1,
    settings: { name: 'R', capacity: 10, default_role: 'speaker', guests_allowed: false, guests_may_speak: false },
    participants,
    hands: [],
    chat: [],
    typingUntil: {},
    speaking: {},
    hostReachable: true,
    ended: null,
    ...extra,
  };
}

/** The hook's value for a given room, recording what the views send. */
function session(state: RoomState, extra: Partial<RoomSession> = {}) {
  const sent: ClientBody[] = [];
  const value = {
    snapshot: { status: 'live', room: state, attempt: 0, rttMs: 20, inBitsPerSecond: 0, outBitsPerSecond: 0, failure: null },
    state,
    me: state.participants.find((p) => p.id === state.me),
    engine: null,
    audioError: null,
    selfMuted: false,
    toggleMute: vi.fn(),
    pttMode: false,
    setPttMode: vi.fn(),
    pttDown: false,
    setPttDown: vi.fn(),
    sending: true,
    allowedToSpeak: true,
    micOpen: true,
    send: (body: ClientBody) => {
      sent.push(body);
      return 'c1';
    },
    switchInput: vi.fn(),
    leave: vi.fn(),
    ...extra,
  } as unknown as RoomSession;
  return { value, sent };
}

const everyone = [
  person('h', 'Hana', 'host'),
  person('m', 'Mo', 'moderator'),
  person('s', 'Sam', 'speaker', { node: 'bob.os', muted: true }),
  person('v', 'Vic', 'viewer', { reconnecting: true, guest: true }),
];

describe('Participants', () => {
  it('shows role, remote node, moderator mute, raised hand and reconnecting', () => {
    const { value } = session(room('h', everyone, { hands: ['v'] }));
    render(<Participants session={value} />);
    const sam = screen.getAllByTestId('participant').find((t) => t.dataset.name === 'Sam')!;
    expect(sam.dataset.role).toBe('speaker');
    expect(within(sam).getByText(/bob\.os/)).toBeTruthy();
    expect(within(sam).getByText('muted by moderator')).toBeTruthy();
    const vic = screen.getAllByTestId('participant').find((t) => t.dataset.name === 'Vic')!;
    expect(within(vic).getByText('hand raised')).toBeTruthy();
    expect(within(vic).getByText(/reconnecting/)).toBeTruthy();
    expect(within(vic).getByText('guest')).toBeTruthy();
  });

  it('gives moderation controls only over lower ranks', () => {
    const { value } = session(room('m', everyone));
    render(<Participants session={value} />);
    const controlsOf = (name: string) =>
      within(screen.getAllByTestId('participant').find((t) => t.dataset.name === name)!).queryByTestId('moderator-controls');
    expect(controlsOf('Hana')).toBeNull();
    expect(controlsOf('Mo')).toBeNull();
    expect(controlsOf('Sam')).not.toBeNull();
    expect(controlsOf('Vic')).not.toBeNull();
  });

  it('sends promote, unmute and kick for the chosen participant', () => {
    const { value, sent } = session(room('h', everyone));
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    render(<Participants session={value} />);
    const sam = within(screen.getAllByTestId('participant').find((t) => t.dataset.name === 'Sam')!);
    fireEvent.change(sam.getByRole('combobox'), { target: { value: 'moderator' } });
    fireEvent.click(sam.getByRole('button', { name: 'Unmute' }));
    fireEvent.click(sam.getByRole('button', { name: 'Kick' }));
    expect(sent).toEqual([
      { type: 'set_role', participant: 's', role: 'moderator' },
      { type: 'unmute', participant: 's' },
      { type: 'kick', participant: 's' },
    ]);
  });
});

describe('Hands', () => {
  it('lets a moderator accept or dismiss, and shows others the queue only', () => {
    const state = room('m', everyone, { hands: ['v', 's'] });
    const mod = session(state);
    render(<Hands session={mod.value} />);
    fireEvent.click(screen.getAllByRole('button', { name: 'Let speak' })[0]);
    fireEvent.click(screen.getAllByRole('button', { name: 'Dismiss' })[1]);
    expect(mod.sent).toEqual([
      { type: 'accept_hand', participant: 'v' },
      { type: 'dismiss_hand', participant: 's' },
    ]);
    cleanup();
    const viewer = session({ ...state, me: 'v' });
    render(<Hands session={viewer.value} />);
    expect(screen.getByText('Vic')).toBeTruthy();
    expect(screen.queryByRole('button')).toBeNull();
  });
});

describe('Chat', () => {
  it('announces typing at most every 2 s, sends the message, and shows who is typing', () => {
    const now = Date.now();
    const state = room('h', everyone, {
      chat: [{ id: 1, from: 's', name: 'Sam', text: 'hello there', at_ms: now }],
      typingUntil: { m: now + 5000 },
    });
    const { value, sent } = session(state);
    render(<Chat session={value} />);
    expect(screen.getByText('hello there')).toBeTruthy();
    expect(screen.getByTestId('typing').textContent).toBe('Mo is typing…');
    const input = screen.getByLabelText('chat message');
    fireEvent.change(input, { target: { value: 'h' } });
    fireEvent.change(input, { target: { value: 'hi' } });
    fireEvent.change(input, { target: { value: 'hi!' } });
    fireEvent.submit(input.closest('form')!);
    expect(sent).toEqual([{ type: 'typing' }, { type: 'chat', text: 'hi!' }]);
    expect((input as HTMLInputElement).value).toBe('');
  });
});

describe('Controls', () => {
  it('mutes through the session and raises or lowers the hand', () => {
    const state = room('s', everyone);
    const { value, sent } = session(state);
    render(<Controls session={value} onLeave={() => {}} />);
    fireEvent.click(screen.getByTestId('mute'));
    expect(value.toggleMute).toHaveBeenCalledOnce();
    fireEvent.click(screen.getByTestId('hand'));
    cleanup();
    const raised = session({ ...state, hands: ['s'] });
    render(<Controls session={raised.value} onLeave={() => {}} />);
    fireEvent.click(screen.getByTestId('hand'));
    expect([...sent, ...raised.sent]).toEqual([{ type: 'raise_hand' }, { type: 'lower_hand' }]);
  });

  it('has no mute button for a Viewer', () => {
    const { value } = session(room('v', everyone));
    render(<Controls session={value} onLeave={() => {}} />);
    expect(screen.queryByTestId('mute')).toBeNull();
    expect(screen.getByTestId('hand')).toBeTruthy();
  });
});
