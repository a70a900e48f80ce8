import type { RoomSession } from '../../room/useRoomSession';

export function Hands({ session }: { session: RoomSession }) {
  const { state, me } = session;
  if (!state || state.hands.length === 0) return null;
  const manage = me?.role === 'host' || me?.role === 'moderator';
  const name = (id: string) => state.participants.find((p) => p.id === id)?.name ?? id;
  return (
    <section className="card hands" data-testid="hands">
      <h3>Raised hands</h3>
      <ol>
        {state.hands.map((id) => (
          <li key={id}>
            {name(id)}
            {manage && (
              <>
                <button className="primary" onClick={() => session.send({ type: 'accept_hand', participant: id })}>
                  Let speak
                </button>
                <button onClick={() => session.send({ type: 'dismiss_hand', participant: id })}>Dismiss</button>
              </>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
