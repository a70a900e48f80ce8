import { useState } from 'react';
import type { Participant, Role } from '../../protocol/control';
import {
  useAudioLevel,
  useIsSpeaking,
  useLocalAudio,
  useMe,
  useMutedForMe,
  useParticipant,
  useParticipants,
  useRoomActions,
  useRoomSelector,
} from '../../room/hooks';
import { canModerate } from '../../net/roomState';
import { Ask, ConfirmAction } from './ConfirmAction';

const ROLE_LABEL: Record<Role, string> = { host: 'Host', moderator: 'Moderator', speaker: 'Speaker', viewer: 'Viewer' };

export function Participants() {
  const participants = useParticipants();
  if (!participants) return null;
  return (
    <section className="participants" data-testid="participants">
      {participants.map((p) => (
        <ParticipantTile key={p.id} id={p.id} />
      ))}
    </section>
  );
}

/** One tile; it repaints for its own participant's changes and level, nobody else's. */
function ParticipantTile({ id }: { id: string }) {
  const p = useParticipant(id);
  const isMe = useRoomSelector((s) => s?.me === id);
  const remote = useRoomSelector((s) => !!s && s.participants.find((x) => x.id === id)?.node !== s.host);
  const handRaised = useRoomSelector((s) => !!s?.hands.includes(id));
  // The room's host node is not answering: what we show of others may be stale.
  const unreachable = useRoomSelector((s) => !!s && !s.hostReachable && s.me !== id);
  const speaking = useIsSpeaking(id);
  const loudness = useAudioLevel(id);
  const myRole = useMe()?.role;
  const mutedForMe = useMutedForMe(id);
  if (!p) return null;
  const moderate = !isMe && myRole !== undefined && canModerate(myRole, p.role);
  const ring = Math.min(1, Math.sqrt(loudness) * 2);
  return (
    <div
      className={`tile${speaking ? ' speaking' : ''}${p.reconnecting || unreachable ? ' reconnecting' : ''}`}
      style={{ ['--ring' as string]: ring }}
      data-testid="participant"
      data-name={p.name}
      data-role={p.role}
      data-speaking={speaking}
      data-muted={p.muted || p.self_muted}
      data-reconnecting={p.reconnecting}
      data-stream={p.stream}
      data-muted-for-me={mutedForMe === null ? 'false' : mutedForMe === 'muted' ? 'true' : 'pending'}
    >
      <div className="avatar">{p.name.slice(0, 1).toUpperCase()}</div>
      <div className="who">
        <strong>
          {p.name}
          {isMe ? ' (you)' : ''}
        </strong>
        <span className={`role role-${p.role}`}>{ROLE_LABEL[p.role]}</span>
        {remote && (
          <span className="tag" title={`via ${p.node}`}>
            ⇄ {p.node}
          </span>
        )}
        {p.guest && <span className="tag">guest</span>}
      </div>
      <div className="flags">
        {(p.muted || p.self_muted) && (
          <span className="tag warn" title={p.muted ? 'muted by a moderator' : 'muted themselves'}>
            {p.muted ? 'muted by moderator' : 'muted'}
          </span>
        )}
        {handRaised && <span className="tag hand">hand raised</span>}
        {p.reconnecting && <span className="tag warn">reconnecting…</span>}
        {mutedForMe !== null && (
          <span
            className="tag warn"
            data-testid="muted-for-you"
            title={mutedForMe === 'muted' ? 'you receive none of their audio' : 'asking the server to stop their audio'}
          >
            muted for you{mutedForMe === 'pending' ? '…' : ''}
          </span>
        )}
      </div>
      {!isMe && <MuteForMeButton participant={p} muted={mutedForMe !== null} />}
      {!isMe && <VolumeSlider stream={p.stream} />}
      {moderate && <ModeratorMenu participant={p} myRole={myRole!} />}
    </div>
  );
}

/** "Mute for me": the server stops sending us their audio; nobody else is affected. */
function MuteForMeButton({ participant: p, muted }: { participant: Participant; muted: boolean }) {
  const { setMutedForMe } = useRoomActions();
  return (
    <button
      data-testid="mute-for-me"
      aria-pressed={muted}
      title={muted ? `Hear ${p.name} again` : `Stop receiving ${p.name}'s audio (only for you)`}
      onClick={() => setMutedForMe(p.id, !muted)}
    >
      {muted ? 'Unmute for me' : 'Mute for me'}
    </button>
  );
}

function VolumeSlider({ stream }: { stream: number }) {
  const { engine } = useLocalAudio();
  const [volume, setVolume] = useState(100);
  if (!engine) return null;
  return (
    <label className="volume" title="volume for you only">
      <span className="muted">vol</span>
      <input
        type="range"
        min={0}
        max={200}
        value={volume}
        onChange={(e) => {
          const v = Number(e.target.value);
          setVolume(v);
          engine.playback.setVolume(stream, v / 100);
        }}
      />
    </label>
  );
}

function ModeratorMenu({ participant: p, myRole }: { participant: Participant; myRole: Role }) {
  const { send } = useRoomActions();
  // The ban list is shown (it was asked for): a ban from here refreshes it.
  const bansShown = useRoomSelector((s) => s?.bans !== undefined);
  // A Host may give any role, Host included (that hands the room over); a Moderator only
  // moves people between Speaker and Viewer (docs/protocol.md, permission matrix).
  const roles: Role[] = myRole === 'host' ? ['host', 'moderator', 'speaker', 'viewer'] : ['speaker', 'viewer'];
  // Handing Host over is asked in place (see ConfirmAction): the select waits for the answer.
  const [handingOver, setHandingOver] = useState(false);
  const setRole = (role: Role) => {
    if (role === 'host') setHandingOver(true);
    else send({ type: 'set_role', participant: p.id, role });
  };
  return (
    <div className="mod" data-testid="moderator-controls">
      <select aria-label={`role of ${p.name}`} value={p.role} onChange={(e) => setRole(e.target.value as Role)}>
        {roles.includes(p.role) ? null : <option value={p.role}>{ROLE_LABEL[p.role]}</option>}
        {roles.map((r) => (
          <option key={r} value={r}>
            {r === 'host' ? 'Host (hand over)' : ROLE_LABEL[r]}
          </option>
        ))}
      </select>
      <button onClick={() => send({ type: p.muted ? 'unmute' : 'mute', participant: p.id })}>{p.muted ? 'Unmute' : 'Mute'}</button>
      {handingOver && (
        <Ask
          question={`Make ${p.name} the Host? You become a Moderator.`}
          yes="Hand over"
          onYes={() => {
            setHandingOver(false);
            send({ type: 'set_role', participant: p.id, role: 'host' });
          }}
          onNo={() => setHandingOver(false)}
        />
      )}
      <ConfirmAction label="Kick" question={`Remove ${p.name} from the room?`} yes="Remove" onConfirm={() => send({ type: 'kick', participant: p.id })} />
      <ConfirmAction
        label="Ban"
        question={`Ban ${p.name}? They are removed and cannot rejoin this room until unbanned.`}
        yes="Ban them"
        onConfirm={() => {
          send({ type: 'ban', participant: p.id });
          if (bansShown) send({ type: 'list_bans' });
        }}
      />
    </div>
  );
}
