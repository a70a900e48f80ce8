import { useEffect, useState } from 'react';
import { api, ApiError, roomName, type RoomSummary } from '../../api/client';
import { prefs } from '../../room/prefs';
import { restoreRoomState } from '../../net/roomState';
import type { RoomTarget } from '../../room/roomTarget';
import { ourNode } from '../Home';
import { Notice } from '../Notices';
import { showError } from '../toast';
import { JoinForm } from './JoinForm';
import { RoomView } from './RoomView';

/** Asks for a display name (unless this tab is already in the room), then joins. */
export function RoomGate({ target, guest }: { target: RoomTarget; guest: boolean }) {
  const key = `${target.room}@${target.host ?? ''}`;
  const [name, setName] = useState<string | null>(() =>
    prefs.joinedRoom(key) ? (prefs.displayName() ?? ourNode() ?? 'Guest') : null,
  );
  // A reload of a room this tab was in resumes it as it was (same participant, missed events).
  const [resumeFrom, setResumeFrom] = useState(() => (prefs.joinedRoom(key) ? restoreRoomState(prefs.savedRoom(key)) : null));
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
        title={summary ? roomName(summary) : target.host ? `${target.room} on ${target.host}` : 'Join the room'}
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
