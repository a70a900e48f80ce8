import { useState } from 'react';
import { levelToLinear } from '../../audio/level';
import type { Participant, Role } from '../../protocol/control';
import { canModerate } from '../../room/roomState';
import type { RoomSession } from '../../room/useRoomSession';
import { useTicker } from '../useTicker';

const ROLE_LABEL: Record<Role, string> = { host: 'Host', moderator: 'Moderator', speaker: 'Speaker', viewer: 'Viewer' };
const SPEAKING = 0.02; // linear loudness ≈ −34 dBov

export function Participants({ session }: { session: RoomSession }) {
  useTicker(100);
  const { state, me, engine } = session;
  if (!state) return null;
  const loudness = (p: Participant): number => {
    if (p.id === state.me) return session.sending && engine ? levelToLinear(engine.micLevel) : 0;
    const local = engine ? engine.playback.loudness(p.stream) : 0;
    return Math.max(local, state.speaking[p.id] ? SPEAKING * 2 : 0);
  };
  return (
    <section className="participants" data-testid="participants">
      {state.participants.map((p) => (
        <ParticipantTile
          key={p.id}
          participant={p}
          isMe={p.id === state.me}
          remote={p.node !== state.host}
          handRaised={state.hands.includes(p.id)}
          unreachable={!state.hostReachable && p.id !== state.me}
          loudness={loudness(p)}
          myRole={me?.role}
          session={session}
        />
      ))}
    </section>
  );
}

function ParticipantTile({
  participant: p,
  isMe,
  remote,
  handRaised,
  unreachable,
  loudness,
  myRole,
  session,
}: {
  participant: Participant;
  isMe: boolean;
  remote: boolean;
  handRaised: boolean;
  /** The room's host node is not answering: what we show of others may be stale. */
  unreachable: boolean;
  loudness: number;
  myRole?: Role;
  session: RoomSession;
}) {
  const [volume, setVolume] = useState(100);
  const speaking = loudness > SPEAKING && !p.muted;
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
      </div>
      {!isMe && session.engine && (
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
              session.engine?.playback.setVolume(p.stream, v / 100);
            }}
          />
        </label>
      )}
      {moderate && <ModeratorMenu participant={p} myRole={myRole!} session={session} />}
    </div>
  );
}

function ModeratorMenu({ participant: p, myRole, session }: { participant: Participant; myRole: Role; session: RoomSession }) {
  const roles: Role[] = myRole === 'host' ? ['moderator', 'speaker', 'viewer'] : ['speaker', 'viewer'];
  return (
    <div className="mod" data-testid="moderator-controls">
      <select
        aria-label={`role of ${p.name}`}
        value={p.role}
        onChange={(e) => session.send({ type: 'set_role', participant: p.id, role: e.target.value as Role })}
      >
        {roles.includes(p.role) ? null : <option value={p.role}>{ROLE_LABEL[p.role]}</option>}
        {roles.map((r) => (
          <option key={r} value={r}>
            {ROLE_LABEL[r]}
          </option>
        ))}
      </select>
      <button onClick={() => session.send({ type: p.muted ? 'unmute' : 'mute', participant: p.id })}>
        {p.muted ? 'Unmute' : 'Mute'}
      </button>
      <button
        className="danger"
        onClick={() => {
          if (confirm(`Remove ${p.name} from the room?`)) session.send({ type: 'kick', participant: p.id });
        }}
      >
        Kick
      </button>
    </div>
  );
}
