//! Topic subscriptions, sans-IO: what a connection asked to receive, and what it may receive.
//!
//! - [`topic`]: the topics that exist, as dot-separated names (`room.<id>.chat`, `node.rooms`, …).
//! - [`pattern`]: subscription patterns over those names, with `*` (exactly one segment) and a
//!   trailing `**` (one or more segments), and their validation.
//! - [`access`]: who may see which topic, decided per topic (never per pattern).
//! - [`subscriptions`]: one connection's set of wanted topics (subscribe adds what a pattern
//!   matches, unsubscribe removes it; at most [`MAX_SUBSCRIPTIONS`] rules), `wants` /
//!   `delivers` for a topic, and the audio filter resolved from the rules when they change, so
//!   a relay can ask one allocation-free question per frame.
//!
//! Nothing here knows about sockets or rooms' state: the engine says who a connection is
//! ([`Viewer`]) and which topics exist now, and gets answers. What the engine wires of it is in
//! `crate::subscribers` (docs/protocol.md, "Subscriptions").

pub mod access;
pub mod pattern;
pub mod subscriptions;
pub mod topic;

pub use access::{may_see, Viewer};
pub use pattern::Pattern;
pub use subscriptions::{AudioFilter, Subscriptions, TopicError};
pub use topic::{RoomTopic, Topic};

/// Longest topic name or pattern, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Most segments in a topic name or pattern.
pub const MAX_SEGMENTS: usize = 8;
/// Longest segment, in bytes (room ids are 22).
pub const MAX_SEGMENT_LEN: usize = 64;
/// Most subscription rules one connection may hold (a join's `room.<id>.**` counts as one).
pub const MAX_SUBSCRIPTIONS: usize = 32;

/// A character allowed in a literal segment: the URL-safe base64 alphabet of ids
/// (`crate::ids`), so every room id is a segment: `A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_`.
#[inline]
pub fn is_segment_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// A literal segment: 1..=[`MAX_SEGMENT_LEN`] allowed characters.
pub fn is_literal_segment(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_SEGMENT_LEN && s.bytes().all(is_segment_char)
}
