import { useEffect, useState } from 'react';
import { toast } from 'sonner';
import { AudioEngine } from '../../audio/engine';
import { listDevices } from '../../audio/capture';
import type { RoomSession } from '../../room/useRoomSession';
import { prefs } from '../storage';
import { MicMeter } from './MicMeter';
import { showError } from '../toast';

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

export function Controls({ session, onLeave }: { session: RoomSession; onLeave: () => void }) {
  const { state, me, pttMode, setPttDown } = session;
  const handRaised = !!state && !!me && state.hands.includes(me.id);

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
  const canSpeak = me.role !== 'viewer';
  return (
    <footer className="controls" data-testid="controls">
      {canSpeak && (
        <button
          className={session.selfMuted ? 'danger' : ''}
          onClick={session.toggleMute}
          data-testid="mute"
          aria-pressed={session.selfMuted}
        >
          {session.selfMuted ? 'Unmute' : 'Mute'}
        </button>
      )}
      {canSpeak && <MicMeter session={session} />}
      {canSpeak && (
        <label className="row">
          <input type="checkbox" checked={pttMode} onChange={(e) => session.setPttMode(e.target.checked)} />
          Push to talk
        </label>
      )}
      {canSpeak && pttMode && (
        <button
          className={session.pttDown ? 'primary' : ''}
          onPointerDown={() => setPttDown(true)}
          onPointerUp={() => setPttDown(false)}
          onPointerLeave={() => setPttDown(false)}
          data-testid="ptt"
        >
          {session.pttDown ? 'Talking…' : 'Hold to talk (or Space)'}
        </button>
      )}
      <button onClick={() => session.send({ type: handRaised ? 'lower_hand' : 'raise_hand' })} data-testid="hand">
        {handRaised ? 'Lower hand' : 'Raise hand'}
      </button>
      {me.muted && <span className="tag warn">A moderator muted you</span>}
      {canSpeak && session.sending && <span className="tag live">● live</span>}
      <Devices session={session} />
      <button className="danger" onClick={onLeave} data-testid="leave">
        Leave
      </button>
    </footer>
  );
}

function Devices({ session }: { session: RoomSession }) {
  const [open, setOpen] = useState(false);
  const [inputs, setInputs] = useState<MediaDeviceInfo[]>([]);
  const [outputs, setOutputs] = useState<MediaDeviceInfo[]>([]);
  const [processing, setProcessing] = useState(prefs.voiceProcessing());

  useEffect(() => {
    if (!open) return;
    listDevices()
      .then((d) => {
        setInputs(d.inputs);
        setOutputs(d.outputs);
      })
      .catch((e) => showError(e, 'Could not list audio devices'));
  }, [open, session.micOpen]);

  if (!open) return <button onClick={() => setOpen(true)}>Audio settings</button>;
  return (
    <div className="devices card">
      <label>
        Microphone
        <select defaultValue={prefs.inputDevice() ?? ''} onChange={(e) => void session.switchInput(e.target.value)}>
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
                await session.engine?.setOutputDevice(e.target.value);
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
      <button onClick={() => setOpen(false)}>Done</button>
    </div>
  );
}

export function HostPanel({ session }: { session: RoomSession }) {
  const { state, me } = session;
  if (!state || !me || (me.role !== 'host' && me.role !== 'moderator')) return null;
  const host = me.role === 'host';
  const s = state.settings;
  return (
    <section className="card host-panel" data-testid="host-panel">
      <h3>Room controls</h3>
      <div className="actions">
        <button onClick={() => session.send({ type: 'mute_all' })}>Mute all</button>
        <button onClick={() => session.send({ type: 'clear_chat' })}>Clear chat</button>
        {host && (
          <button
            className="danger"
            onClick={() => {
              if (confirm('Close the room for everyone?')) session.send({ type: 'close_room' });
            }}
          >
            Close room
          </button>
        )}
      </div>
      <details className="settings">
        <summary>Room settings</summary>
        <label className="row">
          <input
            type="checkbox"
            checked={s.guests_allowed}
            onChange={(e) => session.send({ type: 'update_settings', settings: { guests_allowed: e.target.checked } })}
          />
          Guests may join with the invite link
        </label>
        <label className="row">
          <input
            type="checkbox"
            checked={s.guests_may_speak}
            onChange={(e) => session.send({ type: 'update_settings', settings: { guests_may_speak: e.target.checked } })}
          />
          Guests may speak
        </label>
        <label>
          New people join as
          <select
            value={s.default_role}
            onChange={(e) =>
              session.send({ type: 'update_settings', settings: { default_role: e.target.value as 'speaker' | 'viewer' } })
            }
          >
            <option value="speaker">Speaker</option>
            <option value="viewer">Viewer</option>
          </select>
        </label>
      </details>
    </section>
  );
}
