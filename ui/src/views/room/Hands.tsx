import { useHands, useMe, useParticipants, useRoomActions } from '../../room/hooks';

export function Hands() {
  const hands = useHands();
  const participants = useParticipants();
  const me = useMe();
  const { send } = useRoomActions();
  if (!hands || hands.length === 0) return null;
  const manage = me?.role === 'host' || me?.role === 'moderator';
  const name = (id: string) => participants?.find((p) => p.id === id)?.name ?? id;
  return (
    <section className="card hands" data-testid="hands">
      <h3>Raised hands</h3>
      <ol>
        {hands.map((id) => (
          <li key={id}>
            {name(id)}
            {manage && (
              <>
                <button className="primary" onClick={() => send({ type: 'accept_hand', participant: id })}>
                  Let speak
                </button>
                <button onClick={() => send({ type: 'dismiss_hand', participant: id })}>Dismiss</button>
              </>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
