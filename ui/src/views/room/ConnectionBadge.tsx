import { lossFraction } from '../../net/linkStats';
import { useConnection, useLocalAudio } from '../../room/hooks';

function kbps(bits: number): string {
  return `${(bits / 1000).toFixed(0)} kbps`;
}

/** Repaints with the connection's snapshot, which moves on every heartbeat and pong. */
export function ConnectionBadge() {
  const snapshot = useConnection();
  const { engine } = useLocalAudio();
  const speakers = engine ? Object.values(engine.playback.stats().speakers) : [];
  const played = speakers.reduce((s, x) => s + x.played, 0);
  // Only holes between arrived frames count: running dry at the end of a sentence is not loss.
  const lost = speakers.reduce((s, x) => s + x.lost, 0);
  const jitter = speakers.length ? Math.max(...speakers.map((x) => x.jitterMs)) : 0;
  const playout = engine ? engine.playback.playoutDelayMs() : null;
  const loss = lossFraction(played, lost);
  const rtt = snapshot.rttMs;
  const quality =
    snapshot.status !== 'live' ? 'bad' : rtt === null ? 'unknown' : rtt > 300 || loss > 0.05 ? 'poor' : 'good';
  const label =
    snapshot.status === 'live'
      ? 'Connected'
      : snapshot.status === 'reconnecting'
        ? `Reconnecting (try ${snapshot.attempt})`
        : snapshot.status === 'connecting'
          ? 'Connecting'
          : 'Disconnected';
  return (
    <div className={`badge conn-${quality}`} data-testid="connection-badge" data-status={snapshot.status}>
      <span className="dot" />
      <span>{label}</span>
      <span className="stat" title="round-trip time to your node">
        RTT {rtt === null ? '–' : `${Math.round(rtt)} ms`}
      </span>
      <span className="stat" title="largest interarrival jitter among speakers">
        jitter {jitter.toFixed(0)} ms
      </span>
      <span className="stat" title="how long received audio waits before it plays (largest among speakers)" data-testid="playout-delay">
        playout {playout === null ? '–' : `${Math.round(playout)} ms`}
      </span>
      <span className="stat" title="frames missing between frames that arrived">
        loss {(loss * 100).toFixed(1)}%
      </span>
      <span className="stat" title="audio bitrate in / out">
        ↓{kbps(snapshot.inBitsPerSecond)} ↑{kbps(snapshot.outBitsPerSecond)}
      </span>
    </div>
  );
}
