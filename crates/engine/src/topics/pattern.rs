//! Subscription patterns: the grammar, matching against a topic, and reasoning about which
//! topics a pattern can reach (for refusals and for resolving audio once, not per frame).
//!
//! ```text
//! pattern  = segment *( "." segment )      ; at most MAX_SEGMENTS segments, MAX_NAME_LEN bytes
//! segment  = literal / "*" / "**"          ; "**" only as the last segment
//! literal  = 1*64( ALPHA / DIGIT / "-" / "_" )
//! ```
//!
//! - A literal matches that exact segment.
//! - `*` matches exactly one segment, whatever it is.
//! - `**` (last only) matches **one or more** segments, as NATS `>`: `room.<id>.**` matches
//!   every topic of the room but not a name `room.<id>` (no such topic exists), and `**` alone
//!   matches every topic.
//! - Wildcards are whole segments: `a*`, `*a`, `***` are refused, as are empty segments
//!   (`a..b`, a leading or trailing `.`), other characters, and `**` before the end.

use std::fmt;

use super::topic::{parse_stream, Topic};
use super::{is_literal_segment, MAX_NAME_LEN, MAX_SEGMENTS, MAX_SEGMENT_LEN};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    /// `*`
    One,
    /// trailing `**`
    Rest,
}

/// A valid pattern (see the module docs for the grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    segs: Vec<Seg>,
}

/// Why a pattern is refused (all reported to clients as `invalid_pattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternError {
    Empty,
    TooLong,
    TooManySegments,
    EmptySegment,
    SegmentTooLong,
    BadSegment,
    RestNotLast,
    /// Valid grammar, but no topic there can be has a name it matches.
    MatchesNoTopic,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatternError::Empty => "the pattern is empty",
            PatternError::TooLong => "the pattern is longer than 128 bytes",
            PatternError::TooManySegments => "the pattern has more than 8 segments",
            PatternError::EmptySegment => "the pattern has an empty segment",
            PatternError::SegmentTooLong => "a segment is longer than 64 bytes",
            PatternError::BadSegment => "a segment is not letters, digits, '-', '_', or a whole '*' or '**'",
            PatternError::RestNotLast => "'**' may only be the last segment",
            PatternError::MatchesNoTopic => "the pattern matches no topic name",
        })
    }
}

/// One segment of a family of topics: a fixed name, or any room id / any stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeSeg<'a> {
    Lit(&'a str),
    AnyRoom,
    AnyStream,
}

/// Every topic there can be, as families (the table in `topic.rs`).
pub const TOPIC_SHAPES: [&[ShapeSeg<'static>]; 6] = {
    use ShapeSeg::*;
    [
        &[Lit("node"), Lit("rooms")],
        &[Lit("room"), AnyRoom, Lit("chat")],
        &[Lit("room"), AnyRoom, Lit("events")],
        &[Lit("room"), AnyRoom, Lit("presence"), Lit("typing")],
        &[Lit("room"), AnyRoom, Lit("presence"), Lit("speaking")],
        &[Lit("room"), AnyRoom, Lit("audio"), AnyStream],
    ]
};

impl Pattern {
    /// Parses and validates a pattern.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if text.len() > MAX_NAME_LEN {
            return Err(PatternError::TooLong);
        }
        let count = text.split('.').count();
        if count > MAX_SEGMENTS {
            return Err(PatternError::TooManySegments);
        }
        let mut segs = Vec::with_capacity(count);
        for (i, s) in text.split('.').enumerate() {
            let seg = match s {
                "" => return Err(PatternError::EmptySegment),
                "*" => Seg::One,
                "**" if i + 1 == count => Seg::Rest,
                "**" => return Err(PatternError::RestNotLast),
                _ if s.len() > MAX_SEGMENT_LEN => return Err(PatternError::SegmentTooLong),
                _ if is_literal_segment(s) => Seg::Lit(s.to_owned()),
                _ => return Err(PatternError::BadSegment),
            };
            segs.push(seg);
        }
        Ok(Pattern { text: text.to_owned(), segs })
    }

    /// `room.<room>.**`, what joining a room subscribes to.
    pub fn whole_room(room: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(&format!("room.{room}.**"))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern matches a topic name given as segments.
    pub fn matches_segments(&self, topic: &[&str]) -> bool {
        for (i, seg) in self.segs.iter().enumerate() {
            match seg {
                Seg::Rest => return topic.len() > i,
                Seg::One => {
                    if i >= topic.len() {
                        return false;
                    }
                }
                Seg::Lit(lit) => {
                    if topic.get(i) != Some(&lit.as_str()) {
                        return false;
                    }
                }
            }
        }
        topic.len() == self.segs.len()
    }

    /// Whether the pattern matches a topic (no allocation).
    pub fn matches(&self, topic: &Topic<'_>) -> bool {
        topic.with_segments(|segs| self.matches_segments(segs))
    }

    /// Whether the pattern matches some topic of the family `shape`.
    pub fn intersects(&self, shape: &[ShapeSeg<'_>]) -> bool {
        self.walk(shape, |p, s| match (p, s) {
            (Seg::Lit(l), ShapeSeg::Lit(t)) => l == t,
            // Every literal segment is a possible room id.
            (Seg::Lit(_), ShapeSeg::AnyRoom) => true,
            (Seg::Lit(l), ShapeSeg::AnyStream) => parse_stream(l).is_some(),
            _ => true,
        })
    }

    /// Whether the pattern matches every topic of the family `shape`.
    pub fn covers(&self, shape: &[ShapeSeg<'_>]) -> bool {
        self.walk(shape, |p, s| match (p, s) {
            (Seg::Lit(l), ShapeSeg::Lit(t)) => l == t,
            (Seg::Lit(_), _) => false,
            _ => true,
        })
    }

    /// Matches segment by segment with `seg_ok` deciding a pattern segment against a shape
    /// segment; `**` takes the (non-empty) rest.
    fn walk(&self, shape: &[ShapeSeg<'_>], seg_ok: impl Fn(&Seg, &ShapeSeg<'_>) -> bool) -> bool {
        for (i, seg) in self.segs.iter().enumerate() {
            if matches!(seg, Seg::Rest) {
                return shape.len() > i;
            }
            match shape.get(i) {
                Some(s) if seg_ok(seg, s) => {}
                _ => return false,
            }
        }
        shape.len() == self.segs.len()
    }

    /// The literal stream this pattern names for `room`'s audio, if it matches exactly
    /// `room.<room>.audio.<n>` for one `n` (a pattern with a wildcard there covers every
    /// stream instead; see [`Pattern::covers`]).
    pub fn literal_stream(&self, room: &str) -> Option<u16> {
        match self.segs.as_slice() {
            [a, b, c, Seg::Lit(n)] => {
                let stream = parse_stream(n)?;
                let ok = |seg: &Seg, want: &str| match seg {
                    Seg::Lit(l) => l == want,
                    Seg::One => true,
                    Seg::Rest => false,
                };
                (ok(a, "room") && ok(b, room) && ok(c, "audio")).then_some(stream)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::RoomTopic;

    const R: &str = "r1";

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn valid_patterns() {
        for s in [
            "node.rooms",
            "**",
            "*",
            "*.*",
            "room.**",
            "room.*.chat",
            "room.AbC-_09xyzAbC-_09xyz12.presence.typing",
            "room.r1.audio.65535",
            "room.*.*.*",
            "a.b.c.d.e.f.g.h",
            "a.b.c.d.e.f.g.**",
        ] {
            assert_eq!(p(s).as_str(), s);
        }
        let long_seg = "x".repeat(64);
        assert!(Pattern::parse(&long_seg).is_ok());
        let long = format!("{}.{}", "a".repeat(63), "b".repeat(64));
        assert_eq!(long.len(), 128);
        assert!(Pattern::parse(&long).is_ok());
    }

    #[test]
    fn invalid_patterns_say_why() {
        use PatternError::*;
        let cases: &[(&str, PatternError)] = &[
            ("", Empty),
            (".", EmptySegment),
            ("room..chat", EmptySegment),
            (".room", EmptySegment),
            ("room.", EmptySegment),
            ("**.chat", RestNotLast),
            ("room.**.chat", RestNotLast),
            ("room.r*", BadSegment),
            ("room.*r", BadSegment),
            ("room.***", BadSegment),
            ("room.>", BadSegment),
            ("room.#", BadSegment),
            ("room.+", BadSegment),
            ("room.r 1", BadSegment),
            ("room.r/1", BadSegment),
            ("room.é", BadSegment),
            ("a.b.c.d.e.f.g.h.i", TooManySegments),
        ];
        for (s, want) in cases {
            assert_eq!(Pattern::parse(s), Err(*want), "{s:?}");
        }
        assert_eq!(Pattern::parse(&"x".repeat(65)), Err(SegmentTooLong));
        assert_eq!(Pattern::parse(&"x".repeat(129)), Err(TooLong));
        assert_eq!(Pattern::parse(&format!("{}.{}", "a".repeat(64), "b".repeat(64))), Err(TooLong));
    }

    #[test]
    fn star_is_one_segment_and_double_star_one_or_more() {
        let chat = Topic::Room(R, RoomTopic::Chat);
        let typing = Topic::Room(R, RoomTopic::Typing);
        let audio = Topic::Room(R, RoomTopic::Audio(3));

        assert!(p("room.*.chat").matches(&chat));
        assert!(!p("room.*").matches(&chat));
        assert!(!p("room.*.*").matches(&typing));
        assert!(p("room.*.*.*").matches(&typing));
        assert!(p("room.*.presence.*").matches(&typing));
        assert!(!p("room.*.presence.*").matches(&chat));

        assert!(p("room.**").matches(&chat));
        assert!(p("room.**").matches(&typing));
        assert!(p("room.r1.**").matches(&audio));
        assert!(p("room.r1.presence.**").matches(&typing));
        assert!(!p("room.r2.**").matches(&chat));
        // One or more: the rest must not be empty.
        assert!(!p("room.r1.chat.**").matches(&chat));
        assert!(!p("node.rooms.**").matches(&Topic::NodeRooms));
        assert!(p("node.**").matches(&Topic::NodeRooms));
        assert!(p("**").matches(&Topic::NodeRooms));
        assert!(p("**").matches(&audio));
        assert!(!p("*").matches(&Topic::NodeRooms));
        assert!(p("*.*").matches(&Topic::NodeRooms));

        assert!(p("room.r1.audio.3").matches(&audio));
        assert!(!p("room.r1.audio.4").matches(&audio));
        assert!(!p("room.r1.audio.03").matches(&audio));
    }

    #[test]
    fn shapes() {
        use ShapeSeg::*;
        let audio_of_r1 = [Lit("room"), Lit(R), Lit("audio"), AnyStream];
        assert!(p("room.r1.audio.*").covers(&audio_of_r1));
        assert!(p("room.*.**").covers(&audio_of_r1));
        assert!(p("**").covers(&audio_of_r1));
        assert!(!p("room.r1.audio.5").covers(&audio_of_r1));
        assert!(p("room.r1.audio.5").intersects(&audio_of_r1));
        assert!(!p("room.r1.audio.x").intersects(&audio_of_r1));
        assert!(!p("room.r2.**").intersects(&audio_of_r1));
        assert!(!p("room.r1.**").covers(&[Lit("room"), AnyRoom, Lit("chat")]));
        assert!(p("room.r1.**").intersects(&[Lit("room"), AnyRoom, Lit("chat")]));

        let known = |s: &str| TOPIC_SHAPES.iter().any(|shape| p(s).intersects(shape));
        assert!(known("**"));
        assert!(known("node.*"));
        assert!(known("room.x.audio.0"));
        assert!(!known("room.x.audio.00"));
        assert!(!known("nodes.rooms"));
        assert!(!known("room.x.video.*"));
        assert!(!known("room.x.chat.*"));
        assert!(!known("*"));
    }

    #[test]
    fn literal_stream() {
        assert_eq!(p("room.r1.audio.9").literal_stream(R), Some(9));
        assert_eq!(p("room.*.audio.9").literal_stream(R), Some(9));
        assert_eq!(p("*.*.*.9").literal_stream(R), Some(9));
        assert_eq!(p("room.r2.audio.9").literal_stream(R), None);
        assert_eq!(p("room.r1.audio.*").literal_stream(R), None);
        assert_eq!(p("room.r1.chat.9").literal_stream(R), None);
    }
}
