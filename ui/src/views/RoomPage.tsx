import { useEffect, useMemo, useState } from 'react';
import { useSearch } from 'wouter';
import { api, LoginRequiredError } from '../api/client';
import { keyFromFragment, parseRoomTarget, RoomTargetError, type RoomTarget } from '../room/roomTarget';
import { ourNode } from './Home';
import { LoginRequired, Notice } from './Notices';
import { RoomGate } from './room/RoomGate';

type Access = 'checking' | 'owner' | 'guest' | 'login';

/**
 * The /room/<id>[@node][?invite=…][#k=…] route: which room (and the key of an end-to-end
 * encrypted one, from the fragment the node never sees), and whether we are its node's owner or
 * a guest.
 */
export function RoomPage({ roomRef }: { roomRef: string }) {
  const search = useSearch();
  const invite = new URLSearchParams(search).get('invite') ?? undefined;
  // The page rewrites its own fragment (replaceState) when the room's key rotates, which fires
  // nothing; a fragment the person changes (a full link pasted over a link without the key)
  // fires hashchange and rejoins with the key.
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onHash = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const fragment = useMemo(() => window.location.hash, [roomRef, search, hash]);
  const parsed = useMemo((): RoomTarget | RoomTargetError => {
    try {
      const target = parseRoomTarget(roomRef);
      if (target.host === ourNode()) delete target.host;
      const key = keyFromFragment(fragment);
      return { ...target, ...(invite ? { invite } : {}), ...(key ? { key } : {}) };
    } catch (e) {
      return e instanceof RoomTargetError ? e : new RoomTargetError(String(e));
    }
  }, [roomRef, invite, fragment]);
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
