//! Who may see which topic. Decided per topic, whatever pattern reached it: a guest's `**`
//! matches every topic there is, and delivers only those of its own room.
//!
//! | topic | who may see it |
//! |---|---|
//! | `room.<id>.*`, `room.<id>.presence.*`, `room.<id>.audio.*` | a participant of that room (this connection joined it) |
//! | `room.<id>.presence.typing`, `room.<id>.presence.speaking` | also the node owner's connection, without joining |
//! | `node.rooms` | the node owner's connection |

use super::pattern::{Pattern, ShapeSeg};
use super::topic::{RoomTopic, Topic};

/// Who a connection is, as far as topics go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Viewer<'a> {
    /// The node owner's (authenticated) connection.
    pub owner: bool,
    /// The room this connection is a participant of, if any.
    pub room: Option<&'a str>,
}

/// Whether `viewer` may receive `topic`.
pub fn may_see(viewer: Viewer<'_>, topic: &Topic<'_>) -> bool {
    match *topic {
        Topic::NodeRooms => viewer.owner,
        Topic::Room(room, kind) => {
            viewer.room == Some(room) || (viewer.owner && matches!(kind, RoomTopic::Typing | RoomTopic::Speaking))
        }
    }
}

/// Whether `pattern` can match some topic `viewer` may see (now or once it exists).
pub fn may_reach(viewer: Viewer<'_>, pattern: &Pattern) -> bool {
    use ShapeSeg::*;
    if viewer.owner {
        let shapes: [&[ShapeSeg<'_>]; 3] = [
            &[Lit("node"), Lit("rooms")],
            &[Lit("room"), AnyRoom, Lit("presence"), Lit("typing")],
            &[Lit("room"), AnyRoom, Lit("presence"), Lit("speaking")],
        ];
        if shapes.iter().any(|s| pattern.intersects(s)) {
            return true;
        }
    }
    if let Some(r) = viewer.room {
        let shapes: [&[ShapeSeg<'_>]; 5] = [
            &[Lit("room"), Lit(r), Lit("chat")],
            &[Lit("room"), Lit(r), Lit("events")],
            &[Lit("room"), Lit(r), Lit("presence"), Lit("typing")],
            &[Lit("room"), Lit(r), Lit("presence"), Lit("speaking")],
            &[Lit("room"), Lit(r), Lit("audio"), AnyStream],
        ];
        if shapes.iter().any(|s| pattern.intersects(s)) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUEST_IN_A: Viewer<'static> = Viewer { owner: false, room: Some("a") };
    const OWNER: Viewer<'static> = Viewer { owner: true, room: None };
    const NOBODY: Viewer<'static> = Viewer { owner: false, room: None };

    #[test]
    fn participants_see_their_room_only() {
        for kind in [RoomTopic::Chat, RoomTopic::Events, RoomTopic::Typing, RoomTopic::Speaking, RoomTopic::Audio(4)] {
            assert!(may_see(GUEST_IN_A, &Topic::Room("a", kind)));
            assert!(!may_see(GUEST_IN_A, &Topic::Room("b", kind)));
            assert!(!may_see(NOBODY, &Topic::Room("a", kind)));
        }
        assert!(!may_see(GUEST_IN_A, &Topic::NodeRooms));
    }

    #[test]
    fn the_owner_sees_node_rooms_and_any_presence_without_joining() {
        assert!(may_see(OWNER, &Topic::NodeRooms));
        assert!(may_see(OWNER, &Topic::Room("b", RoomTopic::Typing)));
        assert!(may_see(OWNER, &Topic::Room("b", RoomTopic::Speaking)));
        assert!(!may_see(OWNER, &Topic::Room("b", RoomTopic::Chat)));
        assert!(!may_see(OWNER, &Topic::Room("b", RoomTopic::Events)));
        assert!(!may_see(OWNER, &Topic::Room("b", RoomTopic::Audio(0))));
        let joined = Viewer { owner: true, room: Some("b") };
        assert!(may_see(joined, &Topic::Room("b", RoomTopic::Audio(0))));
        assert!(!may_see(joined, &Topic::Room("c", RoomTopic::Chat)));
    }

    #[test]
    fn reach() {
        let p = |s: &str| Pattern::parse(s).unwrap();
        assert!(may_reach(GUEST_IN_A, &p("**")));
        assert!(may_reach(GUEST_IN_A, &p("room.*.chat")));
        assert!(may_reach(GUEST_IN_A, &p("room.a.audio.12")));
        assert!(!may_reach(GUEST_IN_A, &p("room.b.**")));
        assert!(!may_reach(GUEST_IN_A, &p("node.rooms")));
        assert!(!may_reach(GUEST_IN_A, &p("node.*")));
        assert!(!may_reach(NOBODY, &p("**")));
        assert!(may_reach(OWNER, &p("node.rooms")));
        assert!(may_reach(OWNER, &p("room.b.presence.*")));
        assert!(may_reach(OWNER, &p("room.b.**")));
        assert!(!may_reach(OWNER, &p("room.b.chat")));
        assert!(!may_reach(OWNER, &p("room.*.audio.*")));
    }
}
