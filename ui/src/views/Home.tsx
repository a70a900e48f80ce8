import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { useLocation } from 'wouter';
import { api, DEFAULT_CAPACITY, inviteLink, LoginRequiredError, roomName, type AppInfo, type RoomSummary } from '../api/client';
import { LobbyConnection, type LobbySnapshot } from '../net/lobbyConnection';
import { lobbyRooms, someoneSpeaks } from '../net/lobby';
import { socketUrl } from '../net/socketUrl';
import { ROLES, type Role } from '../protocol/control';
import { parseRoomTarget, roomAddress, roomPath, RoomTargetError } from '../room/roomTarget';
import { formatInviteKey } from '../crypto/inviteKey';
import { generateRoomKey } from '../crypto/roomKey';
import { prefs } from '../room/prefs';
import { LoginRequired } from './Notices';
import { SavedStateNotice } from './SavedStateNotice';
import { showError } from './toast';

export function ourNode(): string | undefined {
  return window.our?.node;
}

/** The key of one of our node's end-to-end encrypted rooms, if this browser has it. */
export function ownRoomKey(roomId: string): string | undefined {
  return prefs.roomKey(`${roomId}@`);
}

/**
 * The invite token is fetched when asked for, so the room list never carries it around. An
 * end-to-end encrypted room's link carries its key in the fragment, when this browser has it.
 */
export async function copyInviteLink(room: { id: string; invite?: string | null }): Promise<void> {
  try {
    const invite = room.invite ?? (await api.getInvite(room.id));
    await copy(inviteLink(location.origin, { id: room.id, invite, key: ownRoomKey(room.id) }, ourNode()), 'Invite link');
  } catch (e) {
    showError(e, 'Could not get the invite link');
  }
}

/**
 * "room@node?invite=…": what a user of another node types or pastes into "Join a room" to get
 * in. The invite is in it, since a node that was never admitted is refused without it.
 */
export async function copyRoomAddress(room: { id: string; invite?: string | null }): Promise<void> {
  try {
    const invite = room.invite ?? (await api.getInvite(room.id));
    await copy(roomAddress({ room: room.id, host: ourNode() ?? '', invite, key: ownRoomKey(room.id) }), 'Room address (with invite)');
  } catch (e) {
    showError(e, 'Could not get the invite for the room address');
  }
}

export async function copy(text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast.success(`${what} copied`);
  } catch {
    // Clipboard needs a secure context and permission; show the text so it can be copied by hand.
    toast.info(what, { description: text, duration: 15000 });
  }
}

/**
 * The node's rooms live (`node.rooms` on the owner's socket, without joining a room), while
 * `enabled`; null until the socket says something.
 */
function useLobby(enabled: boolean): LobbySnapshot | null {
  const [snapshot, setSnapshot] = useState<LobbySnapshot | null>(null);
  useEffect(() => {
    if (!enabled || typeof WebSocket === 'undefined') return;
    const lobby = new LobbyConnection({ url: socketUrl(location, false) });
    const off = lobby.subscribe(() => setSnapshot(lobby.snapshot()));
    lobby.start();
    return () => {
      off();
      lobby.stop();
    };
  }, [enabled]);
  return snapshot;
}

/** One line of "Your rooms". */
interface RoomRow {
  room: RoomSummary;
  participants: number;
  guestsAllowed: boolean;
  e2ee: boolean;
  /** Names of who speaks now (live list only). */
  speakers: string[];
}

/** The live list once it has arrived (it stays while reconnecting), else the HTTP one. */
function roomRows(rooms: RoomSummary[] | null, lobby: LobbySnapshot | null): RoomRow[] | null {
  if (lobby && (lobby.lobby.synced || Object.keys(lobby.lobby.rooms).length > 0)) {
    return lobbyRooms(lobby.lobby).map((r) => ({
      room: { id: r.id, name: r.name, participants: r.participants, created_ms: r.created_ms },
      participants: r.participants,
      guestsAllowed: r.guests_allowed,
      e2ee: r.e2ee ?? false,
      speakers: someoneSpeaks(r) ? r.speaking.map((s) => s.name) : [],
    }));
  }
  return (
    rooms?.map((room) => ({
      room,
      participants: room.participants ?? 0,
      guestsAllowed: room.settings?.guests_allowed ?? false,
      e2ee: room.settings?.e2ee ?? false,
      speakers: [],
    })) ?? null
  );
}

export function Home() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [rooms, setRooms] = useState<RoomSummary[] | null>(null);
  const [needLogin, setNeedLogin] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const list = await api.listRooms();
      // Newest first; the node lists them in id order, which means nothing to a person.
      setRooms([...list].sort((a, b) => (b.created_ms ?? 0) - (a.created_ms ?? 0)));
    } catch (e) {
      if (e instanceof LoginRequiredError) setNeedLogin(true);
      else showError(e, 'Could not list rooms');
    }
  }, []);

  useEffect(() => {
    api
      .info()
      .then(setInfo)
      .catch((e) => (e instanceof LoginRequiredError ? setNeedLogin(true) : showError(e, 'Could not reach Voice Chat')));
    void refresh();
  }, [refresh]);

  const lobby = useLobby(info !== null && !needLogin);

  if (needLogin) return <LoginRequired />;

  return (
    <main className="home">
      <header className="home-header">
        <h1>Voice Chat</h1>
        <span className="muted">
          {ourNode() ?? 'your node'}
          {info ? ` · v${info.version} · protocol ${info.protocol_version}` : ''}
        </span>
      </header>
      <SavedStateNotice />
      <div className="home-grid">
        <CreateRoom onCreated={refresh} />
        <JoinRemote />
      </div>
      <RoomList rows={roomRows(rooms, lobby)} status={lobby?.status ?? null} onChanged={refresh} />
    </main>
  );
}

function CreateRoom({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [guests, setGuests] = useState(false);
  // On by default: the nodes then relay audio and chat they cannot read (docs/security.md).
  const [e2ee, setE2ee] = useState(true);
  const [role, setRole] = useState<Role>('speaker');
  const [busy, setBusy] = useState(false);
  const [, navigate] = useLocation();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      toast.error('Give the room a name.');
      return;
    }
    setBusy(true);
    try {
      const room = await api.createRoom({
        name: name.trim(),
        capacity: DEFAULT_CAPACITY,
        default_role: role,
        guests_allowed: guests,
        guests_may_speak: false,
        e2ee,
      });
      // The key is made here and never sent: it lives in this browser and in the links it gives.
      if (e2ee) prefs.setRoomKey(`${room.id}@`, formatInviteKey(generateRoomKey(0)), 'always');
      toast.success(`Room “${name.trim()}” created`);
      setName('');
      onCreated();
      navigate(`/room/${encodeURIComponent(room.id)}`);
    } catch (err) {
      showError(err, 'Could not create the room');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={submit} data-testid="create-room">
      <h2>New room</h2>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} maxLength={80} placeholder="Team stand-up" />
      </label>
      <label className="row">
        <input type="checkbox" checked={guests} onChange={(e) => setGuests(e.target.checked)} />
        Guests with the invite link may join (no node needed)
      </label>
      <label className="row">
        <input type="checkbox" checked={e2ee} onChange={(e) => setE2ee(e.target.checked)} data-testid="create-e2ee" />
        End-to-end encrypted: the nodes relay audio and chat they cannot read (the key travels in the invite link)
      </label>
      <label>
        People join as
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.filter((r) => r !== 'host').map((r) => (
            <option key={r} value={r}>
              {r[0].toUpperCase() + r.slice(1)}
            </option>
          ))}
        </select>
      </label>
      <button className="primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create room'}
      </button>
    </form>
  );
}

function JoinRemote() {
  const [text, setText] = useState('');
  const [, navigate] = useLocation();

  function submit(e: FormEvent) {
    e.preventDefault();
    try {
      navigate(roomPath(parseRoomTarget(text), ourNode()));
    } catch (err) {
      if (err instanceof RoomTargetError) toast.error(err.message);
      else showError(err);
    }
  }

  return (
    <form className="card" onSubmit={submit} data-testid="join-remote">
      <h2>Join a room</h2>
      <label>
        Room on another node, or an invite link
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder="room-id@alice.os" />
      </label>
      <button className="primary">Join</button>
    </form>
  );
}

function RoomList({ rows, status, onChanged }: { rows: RoomRow[] | null; status: LobbySnapshot['status'] | null; onChanged: () => void }) {
  const [, navigate] = useLocation();

  async function close(room: RoomSummary) {
    if (!confirm(`Close “${roomName(room)}” for everyone?`)) return;
    try {
      await api.closeRoom(room.id);
      toast.success(`Closed “${roomName(room)}”`);
      onChanged();
    } catch (e) {
      showError(e, 'Could not close the room');
    }
  }

  return (
    <section className="card" data-testid="room-list">
      <h2>
        Your rooms{' '}
        <span className="muted lobby-status" data-testid="lobby-status" data-status={status ?? 'off'}>
          {status === 'live' ? '· live' : status === 'reconnecting' ? '· reconnecting…' : ''}
        </span>
      </h2>
      {rows === null ? (
        <p className="muted">Loading…</p>
      ) : rows.length === 0 ? (
        <p className="muted">No rooms yet. Create one above.</p>
      ) : (
        <ul className="rooms">
          {rows.map(({ room, participants, guestsAllowed, e2ee, speakers }) => (
            <li
              key={room.id}
              className={speakers.length > 0 ? 'lobby-room speaking' : 'lobby-room'}
              data-testid="lobby-room"
              data-room={room.id}
              data-participants={participants}
              data-speaking={speakers.length > 0}
            >
              <div>
                <span
                  className="lobby-ring"
                  aria-label={speakers.length > 0 ? `Speaking: ${speakers.join(', ')}` : 'Nobody speaking'}
                  title={speakers.length > 0 ? `Speaking: ${speakers.join(', ')}` : undefined}
                />
                <strong>{roomName(room)}</strong>
                <span className="muted">
                  {' '}
                  · <span data-testid="lobby-count">{participants}</span> in the room
                  {guestsAllowed ? ' · guests allowed' : ''}
                  {e2ee && (
                    <span data-testid="lobby-e2ee" title={ownRoomKey(room.id) ? 'End-to-end encrypted' : 'End-to-end encrypted; this browser does not have its key, so its links have none'}>
                      {' · 🔒 end-to-end encrypted'}
                      {!ownRoomKey(room.id) && ' (no key in this browser)'}
                    </span>
                  )}
                </span>
              </div>
              <div className="actions">
                <button className="primary" onClick={() => navigate(`/room/${encodeURIComponent(room.id)}`)}>
                  Open
                </button>
                <button onClick={() => copyInviteLink(room)}>Copy invite link</button>
                <button
                  title="Make a new invite link; the old one stops working"
                  onClick={async () => {
                    if (!confirm('Make a new invite link? The current link stops working.')) return;
                    try {
                      const invite = await api.rotateInvite(room.id);
                      await copyInviteLink({ id: room.id, invite });
                    } catch (e) {
                      showError(e, 'Could not make a new invite link');
                    }
                  }}
                >
                  New invite link
                </button>
                <button title="room@node with the invite, for a user of another node" onClick={() => copyRoomAddress(room)}>
                  Copy room@node
                </button>
                <button className="danger" onClick={() => close(room)}>
                  Close
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
