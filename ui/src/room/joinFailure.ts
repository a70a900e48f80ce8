// What to tell a person whose join was refused, by the engine's stable error code: the reason
// in words and the next step. A refusal ends the join (no reconnect loop); `retry` says whether
// offering "Try again" can help, `pasteInvite` whether the next step is an invite link.

export interface JoinFailureText {
  title: string;
  hint: string;
  /** Whether picking another name or trying again can help. */
  retry: boolean;
  /** The next step is an invite link from the host, pasted into the page. */
  pasteInvite?: boolean;
}

export function joinFailureText(code: string): JoinFailureText {
  switch (code) {
    case 'room_not_found':
      return {
        title: 'This room is not available',
        hint: 'It does not exist, or it was closed. Check the link with the host, or create a room of your own.',
        retry: false,
      };
    case 'bad_invite':
      return {
        title: 'This room needs an invite link',
        hint: 'Ask the host for an invite link and paste it here.',
        retry: false,
        pasteInvite: true,
      };
    case 'guests_not_allowed':
      return { title: 'This room does not admit guests', hint: 'Join from your own Hyperware node, or ask the host to allow guests.', retry: false };
    case 'room_full':
      return { title: 'The room is full', hint: 'Try again when someone leaves, or ask the host to raise its capacity.', retry: true };
    case 'banned':
      return {
        title: 'You are banned from this room',
        hint: 'A moderator removed you and keeps you out: you cannot rejoin. Ask the host if you think that is a mistake.',
        retry: false,
      };
    case 'name_taken':
      return { title: 'That name is taken in this room', hint: 'Pick another display name.', retry: true };
    case 'invalid_name':
      return { title: 'That display name cannot be used', hint: 'Use 1 to 32 characters, without control or text-direction characters.', retry: true };
    case 'host_unreachable':
      return {
        title: 'The node hosting this room does not answer',
        hint: 'It may be offline. Ask the host to check that their node is running, then try again.',
        retry: true,
      };
    case 'too_many_connections':
      return { title: 'The node is at its connection limit', hint: 'Too many people are connected to this node right now; try again shortly.', retry: true };
    case 'too_many_sessions':
      // The polling fallback (no socket possible) is full too.
      return {
        title: 'The node is at its connection limit',
        hint: 'Your browser cannot keep a live connection here, and the node has no room for another chat-only one; try again shortly.',
        retry: true,
      };
    case 'too_many_rooms':
      return { title: 'Too many rooms on this node', hint: 'This node already hosts or joins its maximum number of rooms.', retry: false };
    case 'join_timeout':
      return {
        title: 'The room did not answer',
        hint: 'Its node may be offline or slow, or it may need an invite link from the host.',
        retry: true,
      };
    case 'rate_limited':
      return { title: 'Too many attempts', hint: 'Wait a moment and try again.', retry: true };
    default:
      return { title: 'Could not join this room', hint: 'The room refused the connection.', retry: true };
  }
}
