// What an end-to-end encrypted room shows: the lock and the safety code in the header, the note
// that names, roles and presence stay visible to the nodes, a banner when the key changed and
// was not shared with us, and the page for a link that came without its key.

import type { RoomTarget } from '../../room/roomTarget';
import { useE2ee } from '../../room/hooks';
import { Notice } from '../Notices';
import { PasteInvite } from './JoinRefused';

/** The lock and the safety code, for the header; nothing in a clear room. */
export function E2eeBadge() {
  const e2ee = useE2ee();
  if (e2ee.kind === 'off') return null;
  return (
    <div className="e2ee-badge" data-testid="e2ee-badge" data-kind={e2ee.kind}>
      <span title="Audio and chat are encrypted in the browsers; the nodes relay what they cannot read. Names, roles, who is speaking and when stay visible to the nodes.">
        🔒 End-to-end encrypted
      </span>
      {e2ee.kind === 'ok' && (
        <span className="safety-code" title="Compare this code with the others in the room (by voice or another channel): if everyone sees the same code, nobody is listening in between." data-testid="safety-code">
          Safety code <code>{e2ee.safetyCode}</code>
        </span>
      )}
      {e2ee.kind === 'waiting' && <span className="muted">waiting for the room's key from the host…</span>}
    </div>
  );
}

/** The key moved on without us: we can no longer hear or read the room. */
export function E2eeBanners() {
  const e2ee = useE2ee();
  if (e2ee.kind !== 'key_changed') return null;
  return (
    <div className="banner error" data-testid="e2ee-key-changed">
      The room's key changed and was not shared with you: you can no longer hear or read this room. Ask the host for a
      new invite link.
    </div>
  );
}

/** An end-to-end encrypted room opened from a link without its key (or with a damaged one). */
export function MissingRoomKey({ target, reason }: { target: RoomTarget; reason?: string }) {
  return (
    <Notice title="This room is end-to-end encrypted" tone="error">
      <div data-testid="e2ee-missing-key">
        <p>
          This room is end-to-end encrypted; ask for a full invite link. The link you opened has no key in it (the part
          after <code>#k=</code>), so this browser could not hear or read anything here.
        </p>
        {reason && <p className="muted">{reason}</p>}
        <PasteInvite target={target} />
      </div>
    </Notice>
  );
}
