import { levelToLinear } from '../../audio/level';
import type { RoomSession } from '../../room/useRoomSession';
import { useTicker } from '../useTicker';

/** The mic's level as captured, sent or not: a quick "can they hear me" check. */
export function MicMeter({ session }: { session: RoomSession }) {
  useTicker(100);
  const engine = session.engine;
  if (!engine || !session.micOpen) return null;
  const linear = levelToLinear(engine.micLevel);
  // Speech sits between about −50 and −10 dBov: show that range across the bar.
  const fill = Math.max(0, Math.min(1, (20 * Math.log10(Math.max(linear, 1e-6)) + 60) / 50));
  return (
    <div className={`mic-meter${session.sending ? '' : ' idle'}`} title="your microphone level" data-testid="mic-meter">
      <div style={{ width: `${fill * 100}%` }} />
    </div>
  );
}
