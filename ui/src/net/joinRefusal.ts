// The error codes with which a join is refused (docs/protocol.md, "Error codes"). A join on
// this node is answered with our `ref: "join"`; one proxied to the host node comes back from
// that node without it, so the code is what tells a refused join from a failed command.
// `banned` (the room keeps this node or guest out) is final like the others.

const JOIN_REFUSALS: ReadonlySet<string> = new Set([
  'room_not_found',
  'room_full',
  'too_many_rooms',
  'guests_not_allowed',
  'bad_invite',
  'banned',
  'invalid_name',
  'name_taken',
  'host_unreachable',
  'too_many_connections',
]);

export function isJoinRefusal(code: string): boolean {
  return JOIN_REFUSALS.has(code);
}
