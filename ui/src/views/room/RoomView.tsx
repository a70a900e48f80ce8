import { useEffect, useSyncExternalStore } from 'react';
import { toast } from 'sonner';
import { useLocation } from 'wouter';
import { roomName, type RoomSummary } from '../../api/client';
import { RoomProvider } from '../../room/RoomContext';
import type { RoomState } from '../../net/roomState';
import type { RoomTarget } from '../../room/roomTarget';
import { useRoomSession, type Reporter } from '../../room/useRoomSession';
import { copyInviteLink } from '../Home';
import { Notice } from '../Notices';
import { showError, showProtocolError } from '../toast';
import { Banners } from './Banners';
import { Chat } from './Chat';
import { E2eeBadge, E2eeBanners, MissingRoomKey } from './E2ee';
import { ConnectionBadge } from './ConnectionBadge';
import { Controls } from './Controls';
import { Hands } from './Hands';
import { HostPanel } from './HostPanel';
import { JoinRefused } from './JoinRefused';
import { Participants } from './Participants';
import { RoomAccess } from './RoomAccess';
import { RoomEnded } from './RoomEnded';

const REPORT: Reporter = { error: showError, protocolError: showProtocolError, warning: (text) => toast.warning(text) };

/** One joined room: owns the session and hands it to the parts through <RoomProvider>. */
export function RoomView({
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
  const { value, local, snapshot, keyProblem } = useRoomSession({ target, guest, name, storageKey, resumeFrom, report: REPORT });
  const e2ee = useSyncExternalStore(value.e2ee.subscribe, value.e2ee.snapshot);
  const missingKey = e2ee.kind === 'missing_key';
  useEffect(() => {
    // Without the key nothing here can be heard or read: leave rather than sit in the list.
    if (missingKey) value.actions.leave();
  }, [missingKey, value.actions]);
  const [, navigate] = useLocation();
  const { status, room: state } = snapshot;

  useEffect(() => {
    if (status === 'ended' || status === 'failed') onLeft();
  }, [status, onLeft]);

  const roomTitle = state?.settings.name;
  useEffect(() => {
    document.title = roomTitle ? `${roomTitle} · Voice Chat` : 'Voice Chat';
    return () => {
      document.title = 'Voice Chat';
    };
  }, [roomTitle]);

  if (status === 'failed') return <JoinRefused failure={snapshot.failure} target={target} onRetry={onRetry} />;
  if (e2ee.kind === 'missing_key') return <MissingRoomKey target={target} reason={keyProblem ?? undefined} />;
  if (state?.ended) return <RoomEnded ended={state.ended} />;
  if (status === 'ended') return <Notice title="You left the room" />;

  const leave = () => {
    value.actions.leave();
    onLeft();
    navigate('/');
  };

  return (
    <RoomProvider session={value} local={local}>
      <main className="room" data-testid="room" data-status={status}>
        <header className="room-header">
          <div>
            <h1>{state?.settings.name ?? (summary ? roomName(summary) : target.room)}</h1>
            <span className="muted">
              {state ? `hosted by ${state.host}` : 'connecting…'}
              {target.host ? ' · remote room' : ''}
            </span>
          </div>
          <E2eeBadge />
          <ConnectionBadge />
          {!guest && !target.host && summary && <button onClick={() => copyInviteLink(summary)}>Copy invite link</button>}
        </header>
        <Banners />
        <E2eeBanners />
        <div className="room-body">
          <div className="room-main">
            {state ? (
              <>
                <Participants />
                <RoomAccess />
              </>
            ) : (
              <p className="muted">Joining…</p>
            )}
          </div>
          <aside className="room-side">
            <Hands />
            <HostPanel />
            <Chat />
          </aside>
        </div>
        <Controls onLeave={leave} />
      </main>
    </RoomProvider>
  );
}
