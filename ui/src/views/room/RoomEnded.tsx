import type { Ended } from '../../net/roomState';
import { Notice } from '../Notices';

export function RoomEnded({ ended }: { ended: Ended }) {
  return (
    <Notice title={ended.why === 'closed' ? 'The room was closed' : ended.why === 'kicked' ? 'You were removed' : 'You left the room'}>
      <p>
        {ended.why === 'closed'
          ? 'The host closed this room. Everyone has been disconnected.'
          : ended.why === 'kicked'
            ? 'A moderator removed you from this room.'
            : `You are no longer in the room (${ended.reason}).`}
      </p>
    </Notice>
  );
}
