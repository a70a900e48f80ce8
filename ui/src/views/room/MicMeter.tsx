import { useLocalAudio, useMicLevel } from '../../room/hooks';

/** The mic's level as captured, sent or not: a quick "can they hear me" check. */
export function MicMeter() {
  const { engine, micOpen, sending } = useLocalAudio();
  const linear = useMicLevel();
  if (!engine || !micOpen) return null;
  // Speech sits between about −50 and −10 dBov: show that range across the bar.
  const fill = Math.max(0, Math.min(1, (20 * Math.log10(Math.max(linear, 1e-6)) + 60) / 50));
  return (
    <div className={`mic-meter${sending ? '' : ' idle'}`} title="your microphone level" data-testid="mic-meter">
      <div style={{ width: `${fill * 100}%` }} />
    </div>
  );
}
