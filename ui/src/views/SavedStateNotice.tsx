// The owner's notice that the node's saved rooms could not be read (docs/http-api.md, "Saved
// state"): where the bytes were kept, and the one way out, starting fresh.
import { useCallback, useEffect, useState } from 'react';
import { call, parseResponse } from '../api/client';
import { PROCESS_BASE } from '../api/base';

export interface KeptState {
  reason: string;
  kept_in: string | null;
  kept_at_ms: number;
  size: number;
}

/** `GET /api/saved-state`. */
export interface SavedStateStatus {
  format: number;
  loaded_from: number | null;
  unreadable: KeptState | null;
  unsaved_changes: boolean;
}

export async function fetchSavedState(): Promise<SavedStateStatus> {
  const response = await fetch(`${PROCESS_BASE}/api/saved-state`, { credentials: 'same-origin' });
  return (await parseResponse(response)) as SavedStateStatus;
}

/** Starts fresh: the kept copy stays, the rooms there are now are saved from here on. */
export function discardUnreadableState(keptIn: string | null): Promise<null> {
  return call<null>('DiscardUnreadableState', keptIn ?? '');
}

export function SavedStateNotice() {
  const [status, setStatus] = useState<SavedStateStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    fetchSavedState()
      .then(setStatus)
      // The rest of the page reports an unreachable node; this notice only adds to it.
      .catch(() => setStatus(null));
  }, []);
  useEffect(load, [load]);

  const discard = async (keptIn: string | null) => {
    try {
      await discardUnreadableState(keptIn);
      setError(null);
      load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  if (!status?.unreadable) return null;
  return <SavedStateNoticeView kept={status.unreadable} unsaved={status.unsaved_changes} error={error} onDiscard={discard} />;
}

export function SavedStateNoticeView({
  kept,
  unsaved,
  error,
  onDiscard,
}: {
  kept: KeptState;
  unsaved: boolean;
  error: string | null;
  onDiscard: (keptIn: string | null) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const where = kept.kept_in ?? "your node's saved state (a copy could not be written; see the node's terminal)";
  return (
    <section className="card saved-state-notice" role="alert" data-testid="saved-state-notice">
      <h2>
        Saved rooms could not be read; they were kept in <code data-testid="kept-in">{where}</code>
      </h2>
      <p className="muted">
        {kept.reason} ({kept.size} bytes, {new Date(kept.kept_at_ms).toLocaleString()}).
      </p>
      <p>
        Nothing is saved over them until you decide: rooms you create or change now last only until Voice Chat restarts
        {unsaved ? ' (there are such changes now)' : ''}. A later version of Voice Chat may be able to read them.
      </p>
      {confirming ? (
        <p>
          <button type="button" className="button danger" onClick={() => onDiscard(kept.kept_in)}>
            Yes, start fresh
          </button>{' '}
          <button type="button" className="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </p>
      ) : (
        <p>
          <button type="button" className="button" onClick={() => setConfirming(true)}>
            Start fresh…
          </button>{' '}
          <span className="muted">the kept copy stays where it is</span>
        </p>
      )}
      {error ? <p className="error">{error}</p> : null}
    </section>
  );
}
