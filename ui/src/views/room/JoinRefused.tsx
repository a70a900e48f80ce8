import { useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { useLocation } from 'wouter';
import type { ProtocolErrorMessage } from '../../protocol/control';
import { targetFromInvite } from '../../room/inviteInput';
import { joinFailureText } from '../../room/joinFailure';
import { RoomTargetError, roomPath, type RoomTarget } from '../../room/roomTarget';
import { ourNode } from '../Home';
import { Notice } from '../Notices';

/** A join refused for good: the reason, the next step, and nothing retrying behind it. */
export function JoinRefused({
  failure,
  target,
  onRetry,
}: {
  failure: ProtocolErrorMessage | null;
  target: RoomTarget;
  onRetry: () => void;
}) {
  const code = failure?.code ?? '';
  const text = joinFailureText(code);
  return (
    <Notice title={text.title} tone="error">
      <div data-testid="join-refused" data-code={code}>
        <p data-testid="next-step">{text.hint}</p>
        {text.pasteInvite && <PasteInvite target={target} />}
        {failure && (
          <p className="muted">
            {failure.message} (code: {failure.code})
          </p>
        )}
        {text.retry && (
          <button className="primary" onClick={onRetry}>
            Try again
          </button>
        )}
      </div>
    </Notice>
  );
}

export function PasteInvite({ target }: { target: RoomTarget }) {
  const [text, setText] = useState('');
  const [, navigate] = useLocation();
  function submit(e: FormEvent) {
    e.preventDefault();
    try {
      const before = window.location.hash;
      navigate(roomPath(targetFromInvite(text, target), ourNode()));
      // Same room and invite with a key now: only the fragment moved, which a push does not announce.
      if (window.location.hash !== before) window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) {
      toast.error(err instanceof RoomTargetError ? err.message : String(err));
    }
  }
  return (
    <form className="row" onSubmit={submit} data-testid="paste-invite">
      <input
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="https://…/room/…?invite=…"
        aria-label="invite link"
        autoFocus
      />
      <button className="primary">Join with this invite</button>
    </form>
  );
}
