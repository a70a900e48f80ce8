// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientBody, Participant } from '../../protocol/control';
import type { ReactNode } from 'react';
import { AudioLevels } from '../../room/audioLevels';
import { RoomProvider, type LocalAudio, type RoomActions, type RoomSessionValue } from '../../room/RoomContext';
import type { RoomState } from '../../net/roomState';
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

/**
 * The session the views get through <RoomProvider> for a given room, recording what they
 * send. The store holds one fixed snapshot; levels are never sampled (no audio engine).
 */
function session(state: RoomState, local: Partial<LocalAudio> = {}) {
  const sent: ClientBody[] = [];
  const snapshot = { status: 'live' as const, room: state, attempt: 0, rttMs: 20, inBitsPerSecond: 0, outBitsPerSecond: 0, failure: null };
  const actions: RoomActions = {
    send: (body: ClientBody) => {
      sent.push(body);
      return 'c1';
    },
    toggleMute: vi.fn(),
    setPttMode: vi.fn(),
    setPttDown: vi.fn(),
    switchInput: vi.fn(),
    leave: vi.fn(),
  };
  const value: RoomSessionValue = {
    store: { subscribe: () => () => {}, snapshot: () => snapshot },
    levels: new AudioLevels(() => new Map()),
    actions,
  };
  const audio: LocalAudio = { engine: null, audioError: null, selfMuted: false, pttMode: false, pttDown: false, sending: true, micOpen: true, ...local };
  return { value, audio, actions, sent };
}

function renderIn(s: ReturnType<typeof session>, ui: ReactNode) {
  return render(
    <RoomProvider session={s.value} local={s.audio}>
      {ui}
    </RoomProvider>,
  );
}

const everyone = [
  person('h', 'Hana', 'host'),
  person('m', 'Mo', 'moderator'),
  person('s', 'Sam', 'speaker', { node: 'bob.os', muted: true }),
  person('v', 'Vic', 'viewer', { reconnecting: true, guest: true }),
];

describe('Participants', () => {
  it('shows role, remote node, moderator mute, raised hand and reconnecting', () => {
    renderIn(session(room('h', everyone, { hands: ['v'] })), <Participants />);
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
    renderIn(session(room('m', everyone)), <Participants />);
    const controlsOf = (name: string) =>
      within(screen.getAllByTestId('participant').find((t) => t.dataset.name === name)!).queryByTestId('moderator-controls');
    expect(controlsOf('Hana')).toBeNull();
    expect(controlsOf('Mo')).toBeNull();
    expect(controlsOf('Sam')).not.toBeNull();
    expect(controlsOf('Vic')).not.toBeNull();
  });

  it('sends promote, unmute and kick for the chosen participant', () => {
    const host = session(room('h', everyone));
    const { sent } = host;
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    renderIn(host, <Participants />);
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
    renderIn(mod, <Hands />);
    fireEvent.click(screen.getAllByRole('button', { name: 'Let speak' })[0]);
    fireEvent.click(screen.getAllByRole('button', { name: 'Dismiss' })[1]);
    expect(mod.sent).toEqual([
      { type: 'accept_hand', participant: 'v' },
      { type: 'dismiss_hand', participant: 's' },
    ]);
    cleanup();
    const viewer = session({ ...state, me: 'v' });
    renderIn(viewer, <Hands />);
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
    const chat = session(state);
    const { sent } = chat;
    renderIn(chat, <Chat />);
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
    const speaker = session(state);
    const { sent } = speaker;
    renderIn(speaker, <Controls onLeave={() => {}} />);
    fireEvent.click(screen.getByTestId('mute'));
    expect(speaker.actions.toggleMute).toHaveBeenCalledOnce();
    fireEvent.click(screen.getByTestId('hand'));
    cleanup();
    const raised = session({ ...state, hands: ['s'] });
    renderIn(raised, <Controls onLeave={() => {}} />);
    fireEvent.click(screen.getByTestId('hand'));
    expect([...sent, ...raised.sent]).toEqual([{ type: 'raise_hand' }, { type: 'lower_hand' }]);
  });

  it('has no mute button for a Viewer', () => {
    renderIn(session(room('v', everyone)), <Controls onLeave={() => {}} />);
    expect(screen.queryByTestId('mute')).toBeNull();
    expect(screen.getByTestId('hand')).toBeTruthy();
  });
});

describe('speaking rings', () => {
  it('follow each participant’s own sampled level, and a moderator mute silences the ring', () => {
    const s = session(room('h', everyone));
    // Hana (us) and Sam are loud; Sam is muted by a moderator, so only Hana shows speaking.
    s.value.levels = new AudioLevels(
      () =>
        new Map([
          ['h', 0.3],
          ['s', 0.3],
          ['m', 0],
        ]),
    );
    renderIn(s, <Participants />);
    const speaking = () => Object.fromEntries(screen.getAllByTestId('participant').map((t) => [t.dataset.name, t.dataset.speaking]));
    expect(speaking()).toEqual({ Hana: 'false', Mo: 'false', Sam: 'false', Vic: 'false' });
    act(() => s.value.levels.sample());
    expect(speaking()).toEqual({ Hana: 'true', Mo: 'false', Sam: 'false', Vic: 'false' });
  });
});
