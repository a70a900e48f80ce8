import { useState } from 'react';
import { useConnection, useLocalAudio, useRoomSelector } from '../../room/hooks';
import { showError } from '../toast';

export function Banners() {
  const { status, attempt, transport } = useConnection();
  const hostReachable = useRoomSelector((s) => s?.hostReachable ?? true);
  const { engine, audioError } = useLocalAudio();
  const [, force] = useState(0);
  return (
    <>
      {status === 'connecting' && attempt >= 3 && (
        <div className="banner warn" data-testid="cannot-connect">
          Still trying to reach the room (attempt {attempt}). If this goes on, check that your node is running and that
          you are logged in to it.
        </div>
      )}
      {transport === 'poll' && (
        <div className="banner warn" data-testid="chat-only">
          Listening is unavailable; chat only. Your browser cannot keep a live connection to the node right now
          (a proxy or the node's connection limit), so there is no audio; chat, hands and the participant list still
          work. Audio comes back by itself once a connection is possible.
        </div>
      )}
      {status === 'reconnecting' && (
        <div className="banner warn" data-testid="reconnecting">
          Connection lost — reconnecting (attempt {attempt})… The room will come back as it was.
        </div>
      )}
      {!hostReachable && (
        <div className="banner warn" data-testid="host-unreachable">
          The node hosting this room is not answering; waiting for it to come back…
        </div>
      )}
      {audioError && <div className="banner error">Audio problem: {audioError}</div>}
      {engine?.suspended && (
        <div className="banner">
          Your browser paused audio until you interact with the page.{' '}
          <button
            className="primary"
            onClick={() =>
              engine
                .resume()
                .then(() => force((n) => n + 1))
                .catch((e) => showError(e, 'Could not start audio'))
            }
          >
            Enable audio
          </button>
        </div>
      )}
    </>
  );
}
