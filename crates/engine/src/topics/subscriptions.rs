//! One connection's subscriptions: a set of at most [`MAX_SUBSCRIPTIONS`] patterns.
//!
//! A topic is delivered to a connection when one of its patterns matches it **and** the
//! connection may see it ([`may_see`], decided per topic). Subscribing is refused, with a
//! stable code, in this order:
//! 1. `invalid_pattern`: bad grammar, or a pattern no topic name can match;
//! 2. `forbidden`: every topic it can match is one this connection may not see;
//! 3. `too_many_subscriptions`: it holds [`MAX_SUBSCRIPTIONS`] other patterns already.
//!
//! Subscribing to a pattern held already changes nothing and succeeds; unsubscribing from a
//! pattern not held changes nothing and succeeds (only its grammar is checked).
//!
//! Audio is not filtered pattern by pattern per frame: [`AudioFilter::resolve`] turns the
//! patterns into "every stream" or a sorted list of streams when the subscriptions (or the
//! connection's room) change, and [`AudioFilter::wants`] answers per frame without allocating.

use std::fmt;

use super::access::{may_reach, may_see, Viewer};
use super::pattern::{Pattern, PatternError, ShapeSeg, TOPIC_SHAPES};
use super::topic::{RoomTopic, Topic};
use super::MAX_SUBSCRIPTIONS;

/// A refused subscribe or unsubscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicError {
    InvalidPattern(PatternError),
    TooManySubscriptions,
    Forbidden,
}

impl TopicError {
    /// The stable code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            TopicError::InvalidPattern(_) => "invalid_pattern",
            TopicError::TooManySubscriptions => "too_many_subscriptions",
            TopicError::Forbidden => "forbidden",
        }
    }
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::InvalidPattern(e) => write!(f, "invalid pattern: {e}"),
            TopicError::TooManySubscriptions => write!(f, "at most {MAX_SUBSCRIPTIONS} subscriptions per connection"),
            TopicError::Forbidden => f.write_str("this connection may not see any topic the pattern matches"),
        }
    }
}

impl From<PatternError> for TopicError {
    fn from(e: PatternError) -> Self {
        TopicError::InvalidPattern(e)
    }
}

/// A connection's patterns, in the order subscribed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    patterns: Vec<Pattern>,
}

impl Subscriptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses, checks and adds a pattern (see the module docs for the refusals).
    pub fn subscribe(&mut self, text: &str, viewer: Viewer<'_>) -> Result<&Pattern, TopicError> {
        self.add(Pattern::parse(text)?, viewer)
    }

    /// As [`Subscriptions::subscribe`], for a pattern parsed already.
    pub fn add(&mut self, pattern: Pattern, viewer: Viewer<'_>) -> Result<&Pattern, TopicError> {
        if !TOPIC_SHAPES.iter().any(|shape| pattern.intersects(shape)) {
            return Err(PatternError::MatchesNoTopic.into());
        }
        if !may_reach(viewer, &pattern) {
            return Err(TopicError::Forbidden);
        }
        let at = match self.patterns.iter().position(|p| p == &pattern) {
            Some(at) => at,
            None if self.patterns.len() >= MAX_SUBSCRIPTIONS => return Err(TopicError::TooManySubscriptions),
            None => {
                self.patterns.push(pattern);
                self.patterns.len() - 1
            }
        };
        Ok(&self.patterns[at])
    }

    /// Adds a pattern the engine subscribes on the connection's behalf (a join's
    /// `room.<id>.**`): no checks, and not refused at the limit (the connection may then hold
    /// one more than [`MAX_SUBSCRIPTIONS`]; its own subscribes are refused until it is back
    /// under).
    pub fn add_own(&mut self, pattern: Pattern) {
        if !self.patterns.contains(&pattern) {
            self.patterns.push(pattern);
        }
    }

    /// Drops the patterns that can no longer reach any topic `viewer` may see (after it left
    /// its room), so they neither linger nor count against the limit.
    pub fn retain_reachable(&mut self, viewer: Viewer<'_>) {
        self.patterns.retain(|p| may_reach(viewer, p));
    }

    /// Removes a pattern; Ok(false) if it was not held.
    pub fn unsubscribe(&mut self, text: &str) -> Result<bool, TopicError> {
        let pattern = Pattern::parse(text)?;
        let before = self.patterns.len();
        self.patterns.retain(|p| p != &pattern);
        Ok(self.patterns.len() != before)
    }

    /// Forgets every pattern.
    pub fn clear(&mut self) {
        self.patterns.clear();
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.patterns.iter()
    }

    /// Whether one of the patterns matches `topic` (permission aside).
    pub fn wants(&self, topic: &Topic<'_>) -> bool {
        topic.with_segments(|segs| self.patterns.iter().any(|p| p.matches_segments(segs)))
    }

    /// Whether `topic` goes to this connection: subscribed and permitted.
    pub fn delivers(&self, viewer: Viewer<'_>, topic: &Topic<'_>) -> bool {
        may_see(viewer, topic) && self.wants(topic)
    }

    /// The names of the topics among `existing` that `pattern` matches and `viewer` may see,
    /// in the order given: what a `subscribed` confirmation lists.
    pub fn matched<'t>(pattern: &Pattern, viewer: Viewer<'_>, existing: impl IntoIterator<Item = Topic<'t>>) -> Vec<String> {
        existing.into_iter().filter(|t| may_see(viewer, t) && pattern.matches(t)).map(|t| t.to_string()).collect()
    }
}

/// Which audio streams of one room a connection wants, resolved from its patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioFilter {
    /// Every stream of the room, including streams that appear later.
    All,
    /// Only these streams (sorted, no repeats; empty = none).
    Only(Vec<u16>),
}

impl Default for AudioFilter {
    fn default() -> Self {
        AudioFilter::Only(Vec::new())
    }
}

impl AudioFilter {
    /// Resolves `subs` for the audio of `room` as seen by `viewer`. Depends only on the
    /// patterns and on the viewer, not on which streams exist: a pattern with a wildcard where
    /// the stream goes covers every stream, one with a literal names exactly that stream. So
    /// it is computed again when the subscriptions or the connection's room change, never
    /// per frame nor when someone joins.
    pub fn resolve(subs: &Subscriptions, viewer: Viewer<'_>, room: &str) -> AudioFilter {
        // Audio permission is per room: the same for every stream.
        if !may_see(viewer, &Topic::Room(room, RoomTopic::Audio(0))) {
            return AudioFilter::Only(Vec::new());
        }
        let every_stream = [ShapeSeg::Lit("room"), ShapeSeg::Lit(room), ShapeSeg::Lit("audio"), ShapeSeg::AnyStream];
        if subs.patterns.iter().any(|p| p.covers(&every_stream)) {
            return AudioFilter::All;
        }
        let mut streams: Vec<u16> = subs.patterns.iter().filter_map(|p| p.literal_stream(room)).collect();
        streams.sort_unstable();
        streams.dedup();
        AudioFilter::Only(streams)
    }

    /// Whether frames of `stream` go to this connection (no allocation).
    #[inline]
    pub fn wants(&self, stream: u16) -> bool {
        match self {
            AudioFilter::All => true,
            AudioFilter::Only(streams) => streams.binary_search(&stream).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "roomA";
    const B: &str = "roomB";
    const GUEST_IN_A: Viewer<'static> = Viewer { owner: false, room: Some(A) };
    const OWNER: Viewer<'static> = Viewer { owner: true, room: None };

    fn universe() -> Vec<Topic<'static>> {
        let mut all = vec![Topic::NodeRooms];
        for room in [A, B] {
            all.extend(Topic::room_text_topics(room));
            all.extend([1u16, 2, 300].map(|s| Topic::Room(room, RoomTopic::Audio(s))));
        }
        all
    }

    fn delivered(subs: &Subscriptions, viewer: Viewer<'_>) -> Vec<String> {
        universe().iter().filter(|t| subs.delivers(viewer, t)).map(|t| t.to_string()).collect()
    }

    #[test]
    fn a_guests_double_star_reaches_only_its_room() {
        let mut subs = Subscriptions::new();
        subs.subscribe("**", GUEST_IN_A).unwrap();
        let got = delivered(&subs, GUEST_IN_A);
        assert_eq!(got.len(), 7, "{got:?}");
        assert!(got.iter().all(|t| t.starts_with("room.roomA.")), "{got:?}");

        let mut subs = Subscriptions::new();
        subs.subscribe("room.**", GUEST_IN_A).unwrap();
        assert_eq!(delivered(&subs, GUEST_IN_A).len(), 7);
        assert!(!subs.delivers(GUEST_IN_A, &Topic::NodeRooms));
        assert!(subs.wants(&Topic::Room(B, RoomTopic::Chat)), "matched, yet not delivered");
        assert!(!subs.delivers(GUEST_IN_A, &Topic::Room(B, RoomTopic::Chat)));
    }

    #[test]
    fn refusal_codes() {
        let mut subs = Subscriptions::new();
        let err = |r: Result<&Pattern, TopicError>| r.unwrap_err();
        assert_eq!(err(subs.subscribe("room..chat", GUEST_IN_A)).code(), "invalid_pattern");
        assert_eq!(err(subs.subscribe("room.**.chat", GUEST_IN_A)).code(), "invalid_pattern");
        assert_eq!(err(subs.subscribe("room.roomA.video", GUEST_IN_A)).code(), "invalid_pattern");
        assert_eq!(err(subs.subscribe("room.roomB.**", GUEST_IN_A)).code(), "forbidden");
        assert_eq!(err(subs.subscribe("node.rooms", GUEST_IN_A)).code(), "forbidden");
        assert_eq!(err(subs.subscribe("room.roomB.chat", OWNER)).code(), "forbidden");
        assert_eq!(err(subs.subscribe("room.roomA.presence.typing", Viewer::default())).code(), "forbidden");
        assert!(subs.is_empty(), "refusals change nothing");
        assert_eq!(subs.unsubscribe("a..b"), Err(TopicError::InvalidPattern(PatternError::EmptySegment)));
    }

    #[test]
    fn the_owner_gets_node_rooms_and_presence_without_joining() {
        let mut subs = Subscriptions::new();
        subs.subscribe("node.rooms", OWNER).unwrap();
        subs.subscribe("room.*.presence.**", OWNER).unwrap();
        let got = delivered(&subs, OWNER);
        assert_eq!(
            got,
            ["node.rooms", "room.roomA.presence.typing", "room.roomA.presence.speaking", "room.roomB.presence.typing", "room.roomB.presence.speaking"]
        );
        // `**` is allowed for the owner, and still never delivers a room's chat unjoined.
        subs.subscribe("**", OWNER).unwrap();
        assert_eq!(delivered(&subs, OWNER).len(), 5);
    }

    #[test]
    fn at_most_32_and_duplicates_count_once() {
        let mut subs = Subscriptions::new();
        for s in 0..32 {
            subs.subscribe(&format!("room.roomA.audio.{s}"), GUEST_IN_A).unwrap();
        }
        subs.subscribe("room.roomA.audio.0", GUEST_IN_A).expect("held already: no new slot");
        assert_eq!(subs.len(), 32);
        assert_eq!(subs.subscribe("room.roomA.chat", GUEST_IN_A).unwrap_err(), TopicError::TooManySubscriptions);
        // Validity and permission are checked first.
        assert_eq!(subs.subscribe("x..y", GUEST_IN_A).unwrap_err().code(), "invalid_pattern");
        assert_eq!(subs.subscribe("node.rooms", GUEST_IN_A).unwrap_err().code(), "forbidden");
        assert_eq!(subs.unsubscribe("room.roomA.audio.7"), Ok(true));
        assert_eq!(subs.unsubscribe("room.roomA.audio.7"), Ok(false));
        subs.subscribe("room.roomA.chat", GUEST_IN_A).unwrap();
        assert_eq!(subs.len(), 32);
    }

    #[test]
    fn unsubscribing_typing_stops_only_typing() {
        let mut subs = Subscriptions::new();
        subs.add(Pattern::whole_room(A).unwrap(), GUEST_IN_A).unwrap();
        let typing = Topic::Room(A, RoomTopic::Typing);
        assert!(subs.delivers(GUEST_IN_A, &typing));
        // Unsubscribing a pattern that is not held (a narrower one) removes nothing.
        assert_eq!(subs.unsubscribe("room.roomA.presence.typing"), Ok(false));
        assert!(subs.delivers(GUEST_IN_A, &typing));
        // Replace the whole room by its parts without typing.
        subs.subscribe("room.roomA.chat", GUEST_IN_A).unwrap();
        subs.subscribe("room.roomA.events", GUEST_IN_A).unwrap();
        subs.subscribe("room.roomA.presence.speaking", GUEST_IN_A).unwrap();
        subs.subscribe("room.roomA.audio.*", GUEST_IN_A).unwrap();
        assert_eq!(subs.unsubscribe("room.roomA.**"), Ok(true));
        assert!(!subs.delivers(GUEST_IN_A, &typing));
        assert_eq!(delivered(&subs, GUEST_IN_A).len(), 6);
    }

    #[test]
    fn own_patterns_pass_the_limit_and_unreachable_ones_go() {
        let mut subs = Subscriptions::new();
        for s in 0..32 {
            subs.subscribe(&format!("room.r{s}.presence.typing"), OWNER).unwrap();
        }
        assert_eq!(subs.len(), 32);
        subs.add_own(Pattern::whole_room(A).unwrap());
        assert_eq!(subs.len(), 33);
        let joined = Viewer { owner: true, room: Some(A) };
        assert_eq!(subs.subscribe("room.roomA.chat", joined).unwrap_err(), TopicError::TooManySubscriptions);
        assert!(subs.delivers(joined, &Topic::Room(A, RoomTopic::Chat)));

        // A guest that leaves its room keeps nothing; the owner keeps what reaches presence.
        let mut guest = Subscriptions::new();
        guest.add_own(Pattern::whole_room(A).unwrap());
        guest.subscribe("**", GUEST_IN_A).unwrap();
        guest.retain_reachable(Viewer::default());
        assert!(guest.is_empty());
        let mut owner = Subscriptions::new();
        owner.add_own(Pattern::whole_room(A).unwrap());
        owner.subscribe("room.roomA.chat", joined).unwrap();
        owner.subscribe("**", joined).unwrap();
        owner.retain_reachable(OWNER);
        assert_eq!(owner.patterns().map(|p| p.as_str()).collect::<Vec<_>>(), ["room.roomA.**", "**"]);
    }

    #[test]
    fn confirmation_lists_existing_permitted_matches() {
        let p = Pattern::parse("room.*.audio.*").unwrap();
        assert_eq!(
            Subscriptions::matched(&p, GUEST_IN_A, universe()),
            ["room.roomA.audio.1", "room.roomA.audio.2", "room.roomA.audio.300"]
        );
        let p = Pattern::parse("room.roomA.audio.9").unwrap();
        assert!(Subscriptions::matched(&p, GUEST_IN_A, universe()).is_empty(), "stream 9 does not exist yet");
    }

    #[test]
    fn audio_filter_resolves_once() {
        let mut subs = Subscriptions::new();
        assert_eq!(AudioFilter::resolve(&subs, GUEST_IN_A, A), AudioFilter::Only(vec![]));
        subs.add(Pattern::whole_room(A).unwrap(), GUEST_IN_A).unwrap();
        let all = AudioFilter::resolve(&subs, GUEST_IN_A, A);
        assert_eq!(all, AudioFilter::All);
        assert!(all.wants(0) && all.wants(65535));
        // Not a participant of B: nothing of B, whatever the patterns.
        subs.subscribe("**", GUEST_IN_A).unwrap();
        assert_eq!(AudioFilter::resolve(&subs, GUEST_IN_A, B), AudioFilter::Only(vec![]));
        assert_eq!(AudioFilter::resolve(&subs, OWNER, A), AudioFilter::Only(vec![]));

        let mut subs = Subscriptions::new();
        subs.subscribe("room.roomA.audio.9", GUEST_IN_A).unwrap();
        subs.subscribe("room.*.audio.2", GUEST_IN_A).unwrap();
        subs.subscribe("*.*.*.9", GUEST_IN_A).unwrap();
        subs.subscribe("room.roomA.chat", GUEST_IN_A).unwrap();
        let some = AudioFilter::resolve(&subs, GUEST_IN_A, A);
        assert_eq!(some, AudioFilter::Only(vec![2, 9]));
        assert!(some.wants(9) && some.wants(2) && !some.wants(3));
    }
}
