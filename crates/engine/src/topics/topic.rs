//! The topics that exist, and their names.
//!
//! | topic | what |
//! |---|---|
//! | `node.rooms` | this node's room list |
//! | `room.<id>.chat` | a room's chat |
//! | `room.<id>.events` | a room's other logged events |
//! | `room.<id>.presence.typing` | a room's typing indicators |
//! | `room.<id>.presence.speaking` | a room's speaking indicators |
//! | `room.<id>.audio.<stream>` | one speaker's audio (`<stream>`: decimal u16, no leading zeros) |
//!
//! A [`Topic`] borrows its room id and never allocates: [`Topic::with_segments`] lends its
//! segments from the stack, which is how patterns are matched against it.

use std::fmt;

use super::is_literal_segment;

/// One topic of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoomTopic {
    Chat,
    Events,
    Typing,
    Speaking,
    Audio(u16),
}

/// A topic (see the module docs for the names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic<'a> {
    NodeRooms,
    Room(&'a str, RoomTopic),
}

/// Decimal digits of a u16 on the stack.
struct Digits {
    buf: [u8; 5],
    start: usize,
}

impl Digits {
    fn new(mut n: u16) -> Self {
        let mut buf = [0u8; 5];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self { buf, start: i }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits were written.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
}

/// A stream segment: the canonical decimal form of a u16 ("0", "7", "65535"; not "07", "+7").
pub fn parse_stream(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

impl<'a> Topic<'a> {
    /// Calls `f` with the topic's segments, built on the stack (no allocation).
    pub fn with_segments<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        match *self {
            Topic::NodeRooms => f(&["node", "rooms"]),
            Topic::Room(room, kind) => match kind {
                RoomTopic::Chat => f(&["room", room, "chat"]),
                RoomTopic::Events => f(&["room", room, "events"]),
                RoomTopic::Typing => f(&["room", room, "presence", "typing"]),
                RoomTopic::Speaking => f(&["room", room, "presence", "speaking"]),
                RoomTopic::Audio(stream) => {
                    let digits = Digits::new(stream);
                    f(&["room", room, "audio", digits.as_str()])
                }
            },
        }
    }

    /// The topic a name denotes, or None if no topic has that name.
    pub fn parse(name: &'a str) -> Option<Self> {
        if name.len() > super::MAX_NAME_LEN {
            return None;
        }
        let mut it = name.split('.');
        let first = it.next()?;
        let rest: [Option<&str>; 4] = [it.next(), it.next(), it.next(), it.next()];
        match (first, rest) {
            ("node", [Some("rooms"), None, ..]) => Some(Topic::NodeRooms),
            ("room", [Some(room), Some(a), b, None]) if is_literal_segment(room) => {
                let kind = match (a, b) {
                    ("chat", None) => RoomTopic::Chat,
                    ("events", None) => RoomTopic::Events,
                    ("presence", Some("typing")) => RoomTopic::Typing,
                    ("presence", Some("speaking")) => RoomTopic::Speaking,
                    ("audio", Some(s)) => RoomTopic::Audio(parse_stream(s)?),
                    _ => return None,
                };
                Some(Topic::Room(room, kind))
            }
            _ => None,
        }
    }

    /// The room this topic belongs to, if any.
    pub fn room(&self) -> Option<&'a str> {
        match *self {
            Topic::NodeRooms => None,
            Topic::Room(room, _) => Some(room),
        }
    }

    /// The text topics of a room (everything but audio), in a fixed order.
    pub fn room_text_topics(room: &'a str) -> [Topic<'a>; 4] {
        [
            Topic::Room(room, RoomTopic::Chat),
            Topic::Room(room, RoomTopic::Events),
            Topic::Room(room, RoomTopic::Typing),
            Topic::Room(room, RoomTopic::Speaking),
        ]
    }
}

impl fmt::Display for Topic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_segments(|segs| {
            for (i, s) in segs.iter().enumerate() {
                if i > 0 {
                    f.write_str(".")?;
                }
                f.write_str(s)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &str = "AbC-_09xyzAbC-_09xyz12";

    #[test]
    fn names_round_trip() {
        let all = [
            Topic::NodeRooms,
            Topic::Room(ROOM, RoomTopic::Chat),
            Topic::Room(ROOM, RoomTopic::Events),
            Topic::Room(ROOM, RoomTopic::Typing),
            Topic::Room(ROOM, RoomTopic::Speaking),
            Topic::Room(ROOM, RoomTopic::Audio(0)),
            Topic::Room(ROOM, RoomTopic::Audio(7)),
            Topic::Room(ROOM, RoomTopic::Audio(65535)),
        ];
        let names: Vec<String> = all.iter().map(|t| t.to_string()).collect();
        assert_eq!(names[0], "node.rooms");
        assert_eq!(names[3], format!("room.{ROOM}.presence.typing"));
        assert_eq!(names[7], format!("room.{ROOM}.audio.65535"));
        for (t, n) in all.iter().zip(&names) {
            assert_eq!(Topic::parse(n), Some(*t), "{n}");
        }
    }

    #[test]
    fn non_topics_do_not_parse() {
        for name in [
            "",
            "node",
            "node.rooms.x",
            "room",
            "room.r",
            "room.r.chat.x",
            "room..chat",
            "room.r.presence",
            "room.r.presence.other",
            "room.r.audio",
            "room.r.audio.07",
            "room.r.audio.65536",
            "room.r.audio.-1",
            "room.r.audio.+1",
            "room.r.audio.1.2",
            "room.r/x.chat",
            "room.*.chat",
            "room.r.chat.",
            ".node.rooms",
        ] {
            assert_eq!(Topic::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn stream_segments_are_canonical_u16() {
        assert_eq!(parse_stream("0"), Some(0));
        assert_eq!(parse_stream("65535"), Some(65535));
        assert_eq!(parse_stream("00"), None);
        assert_eq!(parse_stream("65536"), None);
        assert_eq!(parse_stream(""), None);
        assert_eq!(parse_stream("1a"), None);
    }
}
