// Who may come in, for the Host and Moderators: a new invite (the old one stops working) and
// the room's ban list with "Unban". Both answers come back to this socket only (`invite`,
// `bans`) and land in the room state.

import { useEffect, useRef, useState } from 'react';
import { inviteLink } from '../../api/client';
import type { Ban } from '../../protocol/control';
import { useMe, useRoomActions, useRoomKeyText, useRoomSelector } from '../../room/hooks';
import { roomAddress } from '../../room/roomTarget';
import { copy, ourNode } from '../Home';
import { ConfirmAction } from './ConfirmAction';

export function RoomAccess() {
  const me = useMe();
  if (!me || (me.role !== 'host' && me.role !== 'moderator')) return null;
  return (
    <section className="card room-access" data-testid="room-access">
      <h3>Who may come in</h3>
      <RotateInvite />
      <BannedList />
    </section>
  );
}

function RotateInvite() {
  const { send } = useRoomActions();
  const room = useRoomSelector((s) => s?.room);
  const host = useRoomSelector((s) => s?.host);
  const invite = useRoomSelector((s) => s?.invite);
  // In an end-to-end encrypted room the links carry the current key in their fragment.
  const key = useRoomKeyText();
  // The answer to our own click is copied as it arrives; one seen on mount is only shown.
  const asked = useRef(false);
  const local = host !== undefined && host === ourNode();
  const link = room && invite && local ? inviteLink(location.origin, { id: room, invite, key }, host) : null;
  const address = room && host && invite ? roomAddress({ room, host, invite, key }) : null;

  useEffect(() => {
    if (!asked.current || !invite) return;
    asked.current = false;
    if (link) void copy(link, 'New invite link');
    else if (address) void copy(address, 'New room address');
  }, [invite, link, address]);

  return (
    <div className="rotate-invite">
      <ConfirmAction
        label="Rotate invite"
        className=""
        title="Make a new invite; the old one stops working (people inside stay)"
        question="Make a new invite? The current invite link stops working; people inside stay."
        yes="Make a new invite"
        onConfirm={() => {
          if (send({ type: 'rotate_invite' }) !== null) asked.current = true;
        }}
      />
      {invite && (
        <div className="new-invite" data-testid="new-invite">
          {link && (
            <p>
              Invite link: <code data-testid="new-invite-link">{link}</code> <button onClick={() => void copy(link, 'Invite link')}>Copy</button>
            </p>
          )}
          {address && (
            <p>
              For another node: <code data-testid="new-invite-address">{address}</code>{' '}
              <button onClick={() => void copy(address, 'Room address')}>Copy</button>
            </p>
          )}
        </div>
      )}
    </div>
  );
}

function BannedList() {
  const { send } = useRoomActions();
  const bans = useRoomSelector((s) => s?.bans);
  const [open, setOpen] = useState(false);
  if (!open) {
    return (
      <button
        data-testid="show-bans"
        onClick={() => {
          setOpen(true);
          send({ type: 'list_bans' });
        }}
      >
        Banned…
      </button>
    );
  }
  return (
    <div className="bans" data-testid="bans">
      <h4>Banned</h4>
      {bans === undefined && <p className="muted">Loading…</p>}
      {bans && bans.length === 0 && <p className="muted">Nobody is banned from this room.</p>}
      {bans && bans.length > 0 && (
        <ul>
          {bans.map((b) => (
            <BanRow key={b.ban_id} ban={b} />
          ))}
        </ul>
      )}
      <div className="actions">
        <button onClick={() => send({ type: 'list_bans' })}>Refresh</button>
        <button onClick={() => setOpen(false)}>Hide</button>
      </div>
    </div>
  );
}

function BanRow({ ban }: { ban: Ban }) {
  const { send } = useRoomActions();
  return (
    <li data-testid="ban" data-name={ban.name}>
      <strong>{ban.name}</strong>{' '}
      <span className="muted">{ban.node ? `⇄ ${ban.node}` : ban.guest ? 'guest' : ''}</span>{' '}
      <button
        onClick={() => {
          if (send({ type: 'unban', ban_id: ban.ban_id }) !== null) send({ type: 'list_bans' });
        }}
      >
        Unban
      </button>
    </li>
  );
}
