// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientBody, Participant } from '../../protocol/control';
import type { ReactNode } from 'react';
import { AudioLevels } from '../../room/audioLevels';
import { CLEAR_E2EE, RoomProvider, type LocalAudio, type RoomActions, type RoomSessionValue } from '../../room/RoomContext';
import type { RoomState } from '../../net/roomState';
import { Chat } from './Chat';
import { Controls } from './Controls';
import { Hands } from './Hands';
import { Participants } from './Participants';
import { RoomAccess } from './RoomAccess';
import { parseRoomTarget } from '../../room/roomTarget';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  delete window.our;
});

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
  /** Calling one is the server refusing that chat message. */
  const refusals: (() => void)[] = [];
  let snapshot = { status: 'live' as const, room: state, attempt: 0, rttMs: 20, inBitsPerSecond: 0, outBitsPerSecond: 0, failure: null };
  const listeners = new Set<() => void>();
  const actions: RoomActions = {
    send: (body: ClientBody) => {
      sent.push(body);
      return 'c1';
    },
    sendChat: async (text: string, onRefused?: (text: string) => void) => {
      sent.push({ type: 'chat', text });
      if (onRefused) refusals.push(() => onRefused(text));
      return true;
    },
    toggleMute: vi.fn(),
    setMutedForMe: vi.fn(),
    setPttMode: vi.fn(),
    setPttDown: vi.fn(),
    switchInput: vi.fn(),
    leave: vi.fn(),
  };
  const value: RoomSessionValue = {
    store: {
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      snapshot: () => snapshot,
    },
    levels: new AudioLevels(() => new Map()),
    e2ee: CLEAR_E2EE,
    actions,
  };
  const audio: LocalAudio = { engine: null, audioError: null, selfMuted: false, pttMode: false, pttDown: false, sending: true, micOpen: true, ...local };
  /** The server's answer arrived: the room state changes as the connection would change it. */
  const update = (patch: Partial<RoomState>) =>
    act(() => {
      snapshot = { ...snapshot, room: { ...snapshot.room, ...patch } };
      for (const l of listeners) l();
    });
  return { value, audio, actions, sent, refusals, update };
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
    const confirm = vi.spyOn(window, 'confirm');
    renderIn(host, <Participants />);
    const sam = within(screen.getAllByTestId('participant').find((t) => t.dataset.name === 'Sam')!);
    fireEvent.change(sam.getByRole('combobox'), { target: { value: 'moderator' } });
    fireEvent.click(sam.getByRole('button', { name: 'Unmute' }));
    fireEvent.click(sam.getByRole('button', { name: 'Kick' }));
    // Asked in the page, never with a blocking dialog (it would silence the asker's audio).
    expect(sam.getByTestId('confirm').getAttribute('aria-label')).toBe('Remove Sam from the room?');
    fireEvent.click(sam.getByTestId('confirm-yes'));
    expect(confirm).not.toHaveBeenCalled();
    expect(sent).toEqual([
      { type: 'set_role', participant: 's', role: 'moderator' },
      { type: 'unmute', participant: 's' },
      { type: 'kick', participant: 's' },
    ]);
  });
});

describe('Ban and hand-over', () => {
  const tileOf = (name: string) => within(screen.getAllByTestId('participant').find((t) => t.dataset.name === name)!);

  it('offers Ban beside Kick to whoever may kick, and bans only after the confirmation', () => {
    const mod = session(room('m', everyone));
    renderIn(mod, <Participants />);
    expect(tileOf('Hana').queryByRole('button', { name: 'Ban' })).toBeNull();
    expect(tileOf('Mo').queryByRole('button', { name: 'Ban' })).toBeNull();
    expect(tileOf('Vic').getByRole('button', { name: 'Ban' })).toBeTruthy();
    fireEvent.click(tileOf('Sam').getByRole('button', { name: 'Ban' }));
    expect(tileOf('Sam').getByTestId('confirm').getAttribute('aria-label')).toMatch(/^Ban Sam\? .*cannot rejoin/);
    fireEvent.click(tileOf('Sam').getByTestId('confirm-no'));
    expect(mod.sent).toEqual([]);
    fireEvent.click(tileOf('Sam').getByRole('button', { name: 'Ban' }));
    fireEvent.click(tileOf('Sam').getByTestId('confirm-yes'));
    expect(mod.sent).toEqual([{ type: 'ban', participant: 's' }]);
    cleanup();
    renderIn(session(room('s', everyone)), <Participants />);
    expect(screen.queryByRole('button', { name: 'Ban' })).toBeNull();
  });

  it('refreshes a shown ban list after a ban', () => {
    const host = session(room('h', everyone, { bans: [] }));
    renderIn(host, <Participants />);
    fireEvent.click(tileOf('Vic').getByRole('button', { name: 'Ban' }));
    fireEvent.click(tileOf('Vic').getByTestId('confirm-yes'));
    expect(host.sent).toEqual([{ type: 'ban', participant: 'v' }, { type: 'list_bans' }]);
  });

  it('lets the Host hand Host over, after a confirmation; a Moderator cannot', () => {
    const host = session(room('h', everyone));
    renderIn(host, <Participants />);
    const select = tileOf('Mo').getByRole('combobox');
    expect([...select.querySelectorAll('option')].map((o) => o.textContent)).toEqual(['Host (hand over)', 'Moderator', 'Speaker', 'Viewer']);
    fireEvent.change(select, { target: { value: 'host' } });
    fireEvent.click(tileOf('Mo').getByTestId('confirm-no'));
    expect(host.sent).toEqual([]);
    fireEvent.change(select, { target: { value: 'host' } });
    expect(tileOf('Mo').getByTestId('confirm').getAttribute('aria-label')).toBe('Make Mo the Host? You become a Moderator.');
    fireEvent.click(tileOf('Mo').getByTestId('confirm-yes'));
    expect(host.sent).toEqual([{ type: 'set_role', participant: 'm', role: 'host' }]);
    cleanup();
    renderIn(session(room('m', everyone)), <Participants />);
    const options = [...tileOf('Sam').getByRole('combobox').querySelectorAll('option')].map((o) => o.getAttribute('value'));
    expect(options).toEqual(['speaker', 'viewer']);
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

  it('puts a message the server refused back in the box, unless something new is being typed', async () => {
    const chat = session(room('h', everyone));
    renderIn(chat, <Chat />);
    const input = screen.getByLabelText('chat message') as HTMLInputElement;
    const send = async (text: string) => {
      fireEvent.change(input, { target: { value: text } });
      await act(async () => {
        fireEvent.submit(input.closest('form')!);
      });
    };
    await send('lost in transit');
    expect(input.value).toBe('');
    act(() => chat.refusals[0]());
    expect(input.value).toBe('lost in transit');

    await send('second');
    fireEvent.change(input, { target: { value: 'typing on' } });
    act(() => chat.refusals[1]());
    expect(input.value).toBe('typing on');
  });
});

describe('Controls', () => {
  it('mutes through the session', () => {
    const speaker = session(room('s', everyone));
    renderIn(speaker, <Controls onLeave={() => {}} />);
    fireEvent.click(screen.getByTestId('mute'));
    expect(speaker.actions.toggleMute).toHaveBeenCalledOnce();
  });

  it('lets a Viewer raise and lower the hand', () => {
    const state = room('v', everyone);
    const viewer = session(state);
    renderIn(viewer, <Controls onLeave={() => {}} />);
    fireEvent.click(screen.getByTestId('hand'));
    cleanup();
    const raised = session({ ...state, hands: ['v'] });
    renderIn(raised, <Controls onLeave={() => {}} />);
    expect(screen.getByTestId('hand').textContent).toBe('Lower hand');
    fireEvent.click(screen.getByTestId('hand'));
    expect([...viewer.sent, ...raised.sent]).toEqual([{ type: 'raise_hand' }, { type: 'lower_hand' }]);
  });

  it('shows no "Raise hand" to those who may already speak: Host, Moderator, Speaker', () => {
    for (const me of ['h', 'm', 's']) {
      renderIn(session(room(me, everyone)), <Controls onLeave={() => {}} />);
      expect(screen.queryByTestId('hand')).toBeNull();
      expect(screen.queryByText('Raise hand')).toBeNull();
      cleanup();
    }
  });

  it('keeps "Lowest delay" for the next join: on by default, off stored', async () => {
    vi.stubGlobal('AudioContext', class {});
    Object.defineProperty(navigator, 'mediaDevices', { value: { enumerateDevices: async () => [] }, configurable: true });
    try {
      renderIn(session(room('s', everyone)), <Controls onLeave={() => {}} />);
      fireEvent.click(screen.getByText('Audio settings'));
      const box = screen.getByLabelText(/Lowest delay/) as HTMLInputElement;
      expect(box.checked).toBe(true);
      fireEvent.click(box);
      expect(box.checked).toBe(false);
      expect(localStorage.getItem('voiceChat.lowestLatency')).toBe('off');
      fireEvent.click(box);
      expect(localStorage.getItem('voiceChat.lowestLatency')).toBeNull();
      await act(async () => {}); // the device list settles
    } finally {
      vi.unstubAllGlobals();
      localStorage.clear();
    }
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

describe('RoomAccess', () => {
  const bob = { ban_id: 'b1', name: 'Bob', node: 'bob.os', guest: false, banned_ms: 1 };
  const gus = { ban_id: 'b2', name: 'Gus', node: null, guest: true, banned_ms: 2 };

  it('is there for the Host and Moderators only', () => {
    for (const [me, shown] of [['h', true], ['m', true], ['s', false], ['v', false]] as const) {
      renderIn(session(room(me, everyone)), <RoomAccess />);
      expect(screen.queryByTestId('room-access') !== null).toBe(shown);
      cleanup();
    }
  });

  it('asks for the ban list when opened, shows each ban, and unbans then refreshes', () => {
    const mod = session(room('m', everyone));
    renderIn(mod, <RoomAccess />);
    fireEvent.click(screen.getByTestId('show-bans'));
    expect(mod.sent).toEqual([{ type: 'list_bans' }]);
    expect(within(screen.getByTestId('bans')).getByText('Loading…')).toBeTruthy();
    mod.update({ bans: [bob, gus] });
    const rows = screen.getAllByTestId('ban');
    expect(rows.map((r) => r.dataset.name)).toEqual(['Bob', 'Gus']);
    expect(rows[0].textContent).toContain('bob.os');
    expect(rows[1].textContent).toContain('guest');
    fireEvent.click(within(rows[0]).getByRole('button', { name: 'Unban' }));
    expect(mod.sent.slice(1)).toEqual([{ type: 'unban', ban_id: 'b1' }, { type: 'list_bans' }]);
    mod.update({ bans: [gus] });
    expect(screen.getAllByTestId('ban').map((r) => r.dataset.name)).toEqual(['Gus']);
    mod.update({ bans: [] });
    expect(screen.getByText('Nobody is banned from this room.')).toBeTruthy();
  });

  it('rotates the invite after a confirmation, then shows and copies the new link and the room address', async () => {
    window.our = { node: 'alice.os' } as typeof window.our;
    const copied: string[] = [];
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: async (text: string) => void copied.push(text) },
    });
    const host = session(room('h', everyone));
    renderIn(host, <RoomAccess />);
    fireEvent.click(screen.getByRole('button', { name: 'Rotate invite' }));
    fireEvent.click(screen.getByTestId('confirm-no'));
    expect(host.sent).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Rotate invite' }));
    fireEvent.click(screen.getByTestId('confirm-yes'));
    expect(host.sent).toEqual([{ type: 'rotate_invite' }]);
    expect(screen.queryByTestId('new-invite')).toBeNull();
    host.update({ invite: 'fresh-1' });
    const link = screen.getByTestId('new-invite-link').textContent!;
    expect(parseRoomTarget(link)).toEqual({ room: 'r1', host: 'alice.os', invite: 'fresh-1' });
    const address = screen.getByTestId('new-invite-address').textContent!;
    expect(address).toBe('r1@alice.os?invite=fresh-1');
    expect(parseRoomTarget(address)).toEqual({ room: 'r1', host: 'alice.os', invite: 'fresh-1' });
    await act(async () => {});
    expect(copied).toEqual([link]);
  });

  it('gives a Moderator of a room on another node the room address to share', () => {
    window.our = { node: 'bob.os' } as typeof window.our;
    const mod = session(room('m', everyone, { invite: 'tok-2' }));
    renderIn(mod, <RoomAccess />);
    expect(screen.queryByTestId('new-invite-link')).toBeNull();
    expect(screen.getByTestId('new-invite-address').textContent).toBe('r1@alice.os?invite=tok-2');
  });
});
