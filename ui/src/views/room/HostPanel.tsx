import { ConfirmAction } from './ConfirmAction';
import { useMe, useRoomActions, useSettings } from '../../room/hooks';

export function HostPanel() {
  const me = useMe();
  const s = useSettings();
  const { send } = useRoomActions();
  if (!s || !me || (me.role !== 'host' && me.role !== 'moderator')) return null;
  const host = me.role === 'host';
  return (
    <section className="card host-panel" data-testid="host-panel">
      <h3>Room controls</h3>
      <div className="actions">
        <button onClick={() => send({ type: 'mute_all' })}>Mute all</button>
        <button onClick={() => send({ type: 'clear_chat' })}>Clear chat</button>
        {host && (
          <ConfirmAction label="Close room" question="Close the room for everyone?" yes="Close it" onConfirm={() => send({ type: 'close_room' })} />
        )}
      </div>
      <details className="settings">
        <summary>Room settings</summary>
        <label className="row">
          <input
            type="checkbox"
            checked={s.guests_allowed}
            onChange={(e) => send({ type: 'update_settings', settings: { guests_allowed: e.target.checked } })}
          />
          Guests may join with the invite link
        </label>
        <label className="row">
          <input
            type="checkbox"
            checked={s.guests_may_speak}
            onChange={(e) => send({ type: 'update_settings', settings: { guests_may_speak: e.target.checked } })}
          />
          Guests may speak
        </label>
        <label>
          New people join as
          <select
            value={s.default_role}
            onChange={(e) =>
              send({ type: 'update_settings', settings: { default_role: e.target.value as 'speaker' | 'viewer' } })
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
