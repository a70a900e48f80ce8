import { PROCESS_BASE } from '../api/base';

/** Owner sockets are authenticated by the node's cookie; guests use the unauthenticated path. */
export function socketUrl(location: Pick<Location, 'protocol' | 'host'>, guest: boolean): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${PROCESS_BASE}/${guest ? 'guest-ws' : 'ws'}`;
}

/**
 * Where the HTTP long-polling transport calls (docs/http-api.md, "Polling transport"): the
 * owner's authenticated API, or the guests' unauthenticated one. Same origin as the page.
 */
export function pollUrl(guest: boolean): string {
  return `${PROCESS_BASE}/${guest ? 'guest-api' : 'api'}`;
}
