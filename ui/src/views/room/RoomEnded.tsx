import type { Ended } from '../../net/roomState';
import { Notice } from '../Notices';

const REMOVED_TITLE = 'You were removed from this room';

/** The page left when the room ended for us; nothing reconnects behind it. */
export function RoomEnded({ ended }: { ended: Ended }) {
  switch (ended.why) {
    case 'closed':
      return (
        <Notice title="The room was closed">
          <p data-testid="ended" data-why="closed">
            The host closed this room. Everyone has been disconnected.
          </p>
        </Notice>
      );
    case 'kicked':
      return (
        <Notice title={REMOVED_TITLE}>
          <p data-testid="ended" data-why="kicked">
            A moderator removed you from this room.
          </p>
        </Notice>
      );
    case 'banned':
      return (
        <Notice title={REMOVED_TITLE} tone="error">
          <p data-testid="ended" data-why="banned">
            A moderator banned you: you cannot rejoin this room.
          </p>
        </Notice>
      );
    case 'removed':
      return (
        <Notice title="You left the room">
          <p data-testid="ended" data-why="removed">
            You are no longer in the room ({ended.reason}).
          </p>
        </Notice>
      );
  }
}
