import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { useLocation, useSearch } from 'wouter';
import { api, ApiError, LoginRequiredError, roomName, type RoomSummary } from '../api/client';
import { joinFailureText } from '../room/joinFailure';
import { restoreRoomState, type RoomState } from '../room/roomState';
import { parseRoomTarget, RoomTargetError, type RoomTarget } from '../room/roomTarget';
import { useRoomSession, type RoomSession } from '../room/useRoomSession';
import { copyInviteLink, ourNode } from './Home';
import { LoginRequired, Notice } from './Notices';
import { Chat } from './room/Chat';
import { ConnectionBadge } from './room/ConnectionBadge';
import { Controls, HostPanel } from './room/Controls';
import { Hands } from './room/Hands';
import { Participants } from './room/Participants';
import { prefs } from './storage';
import { showError } from './toast';

type Access = 'checking' | 'owner' | 'guest' | 'login';

export function RoomPage({ roomRef }: { roomRef: string }) {
  const search = useSearch();
  const invite = new URLSearchParams(search).get('invite') ?? undefined;
  const parsed = useMemo((): RoomTarget | RoomTargetError => {
    try {
      const target = parseRoomTarget(roomRef);
      if (target.host === ourNode()) delete target.host;
      return invite ? { ...target, invite } : target;
    } catch (e) {
      return e instanceof RoomTargetError ? e : new RoomTargetError(String(e));
    }
  }, [roomRef, invite]);
  const [access, setAccess] = useState<Access>('checking');

  useEffect(() => {
    api
      .info()
      .then(() => setAccess('owner'))
      .catch((e) => {
        if (e instanceof LoginRequiredError) setAccess(invite ? 'guest' : 'login');
        // Any other failure: try the socket anyway; it reports its own errors.
        else setAccess('owner');
      });
  }, [invite]);

  if (parsed instanceof RoomTargetError) {
    return (
      <Notice title="That is not a room address" tone="error">
        <p>{parsed.message}</p>
      </Notice>
    );
  }
  if (access === 'checking') return <main className="notice muted">Loading…</main>;
  if (access === 'login') return <LoginRequired />;
  return <RoomGate target={parsed} guest={access === 'guest'} />;
}

function RoomGate({ target, guest }: { target: RoomTarget; guest: boolean }) {
  const key = `${target.room}@${target.host ?? ''}`;
  const [name, setName] = useState<string | null>(() =>
    prefs.joinedRoom(key) ? (prefs.displayName() ?? ourNode() ?? 'Guest') : null,
  );
  // A reload of a room this tab was in resumes it as it was (same participant, missed events).
  const [resumeFrom, setResumeFrom] = useState(() =>
    prefs.joinedRoom(key) ? restoreRoomState(prefs.savedRoom(key)) : null,
  );
  const [summary, setSummary] = useState<RoomSummary | null>(null);
  const [missing, setMissing] = useState<ApiError | null>(null);

  useEffect(() => {
    // Only our own rooms can be looked up over HTTP; remote and guest joins learn at the socket.
    if (guest || target.host) return;
    api
      .getRoom(target.room)
      .then(setSummary)
      .catch((e) => (e instanceof ApiError && e.code !== 'network' && e.code !== 'timeout' ? setMissing(e) : showError(e)));
  }, [guest, target.room, target.host]);

  if (missing) {
    return (
      <Notice title="This room is not available" tone="error">
        <p>It does not exist, or it was closed.</p>
        <p className="muted">
          {missing.message} (code: {missing.code})
        </p>
      </Notice>
    );
  }

  if (name === null) {
    return (
      <JoinForm
        title={summary ? roomName(summary) : (target.host ? `${target.room} on ${target.host}` : 'Join the room')}
        guest={guest}
        onJoin={(n) => {
          setResumeFrom(null);
          prefs.setDisplayName(n);
          prefs.setJoinedRoom(key, true);
          setName(n);
        }}
      />
    );
  }
  return (
    <RoomView
      target={target}
      guest={guest}
      name={name}
      storageKey={key}
      resumeFrom={resumeFrom}
      summary={summary}
      onLeft={() => prefs.setJoinedRoom(key, false)}
      onRetry={() => setName(null)}
    />
  );
}

function JoinForm({ title, guest, onJoin }: { title: string; guest: boolean; onJoin: (name: string) => void }) {
  const [name, setName] = useState(prefs.displayName() ?? (guest ? '' : (ourNode() ?? '')));
  function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      toast.error('Enter the name others will see.');
      return;
    }
    onJoin(trimmed);
  }
  return (
    <main className="notice">
      <form className="card join" onSubmit={submit} data-testid="join-form">
        <h1>{title}</h1>
        {guest && <p className="muted">You are joining as a guest with an invite link.</p>}
        <label>
          Your name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={40} autoFocus />
        </label>
        <button className="primary" data-testid="join">
          Join
        </button>
      </form>
    </main>
  );
}

function RoomView({
  target,
  guest,
  name,
  storageKey,
  resumeFrom,
  summary,
  onLeft,
  onRetry,
}: {
  target: RoomTarget;
  guest: boolean;
  name: string;
  storageKey: string;
  resumeFrom: RoomState | null;
  summary: RoomSummary | null;
  onLeft: () => void;
  onRetry: () => void;
}) {
  const session = useRoomSession({ target, guest, name, storageKey, resumeFrom });
  const [, navigate] = useLocation();
  const { snapshot, state } = session;

  useEffect(() => {
    if (snapshot.status === 'ended' || snapshot.status === 'failed') onLeft();
  }, [snapshot.status, onLeft]);

  const roomTitle = state?.settings.name;
  useEffect(() => {
    document.title = roomTitle ? `${roomTitle} · Voice Chat` : 'Voice Chat';
    return () => {
      document.title = 'Voice Chat';
    };
  }, [roomTitle]);

  if (snapshot.status === 'failed') {
    const f = snapshot.failure;
    const text = joinFailureText(f?.code ?? '');
    return (
      <Notice title={text.title} tone="error">
        <p>{text.hint}</p>
        {f && (
          <p className="muted">
            {f.message} (code: {f.code})
          </p>
        )}
        {text.retry && (
          <button className="primary" onClick={onRetry}>
            Try again
          </button>
        )}
      </Notice>
    );
  }
  if (state?.ended) {
    const e = state.ended;
    return (
      <Notice title={e.why === 'closed' ? 'The room was closed' : e.why === 'kicked' ? 'You were removed' : 'You left the room'}>
        <p>
          {e.why === 'closed'
            ? 'The host closed this room. Everyone has been disconnected.'
            : e.why === 'kicked'
              ? 'A moderator removed you from this room.'
              : `You are no longer in the room (${e.reason}).`}
        </p>
      </Notice>
    );
  }
  if (snapshot.status === 'ended') return <Notice title="You left the room" />;

  const leave = () => {
    session.leave();
    onLeft();
    navigate('/');
  };

  return (
    <main className="room" data-testid="room" data-status={snapshot.status}>
      <header className="room-header">
        <div>
          <h1>{state?.settings.name ?? (summary ? roomName(summary) : target.room)}</h1>
          <span className="muted">
            {state ? `hosted by ${state.host}` : 'connecting…'}
            {target.host ? ' · remote room' : ''}
          </span>
        </div>
        <ConnectionBadge session={session} />
        {!guest && !target.host && summary && (
          <button onClick={() => copyInviteLink(summary)}>Copy invite link</button>
        )}
      </header>
      <Banners session={session} />
      <div className="room-body">
        <div className="room-main">
          {state ? <Participants session={session} /> : <p className="muted">Joining…</p>}
        </div>
        <aside className="room-side">
          <Hands session={session} />
          <HostPanel session={session} />
          <Chat session={session} />
        </aside>
      </div>
      <Controls session={session} onLeave={leave} />
    </main>
  );
}

function Banners({ session }: { session: RoomSession }) {
  const { snapshot, state, engine, audioError } = session;
  const [, force] = useState(0);
  return (
    <>
      {snapshot.status === 'connecting' && snapshot.attempt >= 3 && (
        <div className="banner warn" data-testid="cannot-connect">
          Still trying to reach the room (attempt {snapshot.attempt}). If this goes on, check that your node is
          running and that you are logged in to it.
        </div>
      )}
      {snapshot.status === 'reconnecting' && (
        <div className="banner warn" data-testid="reconnecting">
          Connection lost — reconnecting (attempt {snapshot.attempt})… The room will come back as it was.
        </div>
      )}
      {state && !state.hostReachable && (
        <div className="banner warn" data-testid="host-unreachable">
          The node hosting this room is not answering; waiting for it to come back…
        </div>
      )}
      {audioError && <div className="banner error">Audio problem: {audioError}</div>}
      {engine?.suspended && (
        <div className="banner">
          Your browser paused audio until you interact with the page.{' '}
          <button
            className="primary"
            onClick={() =>
              engine
                .resume()
                .then(() => force((n) => n + 1))
                .catch((e) => showError(e, 'Could not start audio'))
            }
          >
            Enable audio
          </button>
        </div>
      )}
    </>
  );
}
