import { useEffect, useState } from 'react';
import { toast } from 'sonner';
import { AudioEngine } from '../../audio/engine';
import { listDevices } from '../../audio/capture';
import { useLocalAudio, useMe, useRoomActions, useRoomSelector } from '../../room/hooks';
import { prefs } from '../../room/prefs';
import { MicMeter } from './MicMeter';
import { showError } from '../toast';

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

export function Controls({ onLeave }: { onLeave: () => void }) {
  const me = useMe();
  const handRaised = useRoomSelector((s) => !!s && s.hands.includes(s.me));
  const { selfMuted, pttMode, pttDown, sending, listening = true } = useLocalAudio();
  const { send, toggleMute, setPttMode, setPttDown } = useRoomActions();

  // Push-to-talk on the space bar, except while typing.
  useEffect(() => {
    if (!pttMode) return;
    const down = (e: KeyboardEvent) => {
      if (e.code === 'Space' && !isTyping(e.target)) {
        e.preventDefault();
        setPttDown(true);
      }
    };
    const up = (e: KeyboardEvent) => {
      if (e.code === 'Space') setPttDown(false);
    };
    const blur = () => setPttDown(false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [pttMode, setPttDown]);

  if (!me) return null;
  // Over HTTP polling there is no audio to send: the mic controls go until a socket is back.
  const canSpeak = me.role !== 'viewer' && listening;
  return (
    <footer className="controls" data-testid="controls">
      {canSpeak && (
        <button
          className={selfMuted ? 'danger' : ''}
          onClick={toggleMute}
          data-testid="mute"
          aria-pressed={selfMuted}
        >
          {selfMuted ? 'Unmute' : 'Mute'}
        </button>
      )}
      {canSpeak && <MicMeter />}
      {canSpeak && (
        <label className="row">
          <input type="checkbox" checked={pttMode} onChange={(e) => setPttMode(e.target.checked)} />
          Push to talk
        </label>
      )}
      {canSpeak && pttMode && (
        <button
          className={pttDown ? 'primary' : ''}
          onPointerDown={() => setPttDown(true)}
          onPointerUp={() => setPttDown(false)}
          onPointerLeave={() => setPttDown(false)}
          data-testid="ptt"
        >
          {pttDown ? 'Talking…' : 'Hold to talk (or Space)'}
        </button>
      )}
      {(me.role === 'viewer' || handRaised) && (
        // Only a Viewer raises a hand (to ask to speak); anyone else already may.
        <button onClick={() => send({ type: handRaised ? 'lower_hand' : 'raise_hand' })} data-testid="hand">
          {handRaised ? 'Lower hand' : 'Raise hand'}
        </button>
      )}
      {me.muted && <span className="tag warn">A moderator muted you</span>}
      {canSpeak && sending && <span className="tag live">● live</span>}
      <Devices />
      <button className="danger" onClick={onLeave} data-testid="leave">
        Leave
      </button>
    </footer>
  );
}

function Devices() {
  const { engine, micOpen } = useLocalAudio();
  const { switchInput } = useRoomActions();
  const [open, setOpen] = useState(false);
  const [inputs, setInputs] = useState<MediaDeviceInfo[]>([]);
  const [outputs, setOutputs] = useState<MediaDeviceInfo[]>([]);
  const [processing, setProcessing] = useState(prefs.voiceProcessing());
  const [lowestLatency, setLowestLatency] = useState(prefs.lowestLatency());

  useEffect(() => {
    if (!open) return;
    listDevices()
      .then((d) => {
        setInputs(d.inputs);
        setOutputs(d.outputs);
      })
      .catch((e) => showError(e, 'Could not list audio devices'));
  }, [open, micOpen]);

  if (!open) return <button onClick={() => setOpen(true)}>Audio settings</button>;
  return (
    <div className="devices card">
      <label>
        Microphone
        <select defaultValue={prefs.inputDevice() ?? ''} onChange={(e) => void switchInput(e.target.value)}>
          <option value="">System default</option>
          {inputs.map((d) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label || 'Microphone'}
            </option>
          ))}
        </select>
      </label>
      {AudioEngine.canChooseOutput() ? (
        <label>
          Speakers
          <select
            defaultValue={prefs.outputDevice() ?? ''}
            onChange={async (e) => {
              prefs.setOutputDevice(e.target.value);
              try {
                await engine?.setOutputDevice(e.target.value);
              } catch (err) {
                showError(err, 'Could not switch speakers');
              }
            }}
          >
            <option value="">System default</option>
            {outputs.map((d) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || 'Speakers'}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <p className="muted">This browser plays through the system's default output.</p>
      )}
      <label className="row">
        <input
          type="checkbox"
          checked={processing}
          onChange={(e) => {
            prefs.setVoiceProcessing(e.target.checked);
            setProcessing(e.target.checked);
            toast.info('Applies to the microphone from the next switch or rejoin.');
          }}
        />
        Voice processing (echo cancellation, noise suppression, auto gain)
      </label>
      <label className="row">
        <input
          type="checkbox"
          checked={lowestLatency}
          onChange={(e) => {
            prefs.setLowestLatency(e.target.checked);
            setLowestLatency(e.target.checked);
            toast.info('Applies when you next join or reload the room.');
          }}
        />
        Lowest delay (the smallest audio buffer; turn off if the sound crackles)
      </label>
      <button onClick={() => setOpen(false)}>Done</button>
    </div>
  );
}
