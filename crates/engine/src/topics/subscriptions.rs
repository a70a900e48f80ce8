//! One connection's subscriptions: the set of topics it wants, changed by patterns.
//!
//! `subscribe P` adds every topic `P` matches to the set; `unsubscribe P` removes every topic
//! `P` matches from it, whatever pattern added them: after a join's `room.<id>.**`,
//! `unsubscribe room.<id>.presence.typing` stops typing indicators and nothing else, and a
//! later `subscribe room.<id>.presence.typing` (or `room.<id>.**`) brings them back.
//!
//! The set is kept as an ordered list of rules, `+P` or `-P`, where the last rule matching a
//! topic decides: subscribing or unsubscribing first removes the rules with the same pattern,
//! then appends `+P` (or `-P`, unless no `+` rule is left, when the set is empty anyway). At
//! most [`MAX_SUBSCRIPTIONS`] rules per connection.
//!
//! A topic is delivered to a connection when it is in the set **and** the connection may see
//! it ([`may_see`], decided per topic). Subscribing is refused, with a stable code, in this
//! order:
//! 1. `invalid_pattern`: bad grammar, or a pattern no topic name can match;
//! 2. `forbidden`: every topic it can match is one this connection may not see;
//! 3. `too_many_subscriptions`: the rule list would grow past [`MAX_SUBSCRIPTIONS`].
//!
//! Unsubscribing checks the grammar (`invalid_pattern`) and the limit, never permission.
//!
//! Audio is not matched rule by rule per frame: [`AudioFilter::resolve`] turns the rules into
//! "every stream, except these" or "only these streams" when the subscriptions (or the
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

/// One rule: `+pattern` (wanted) or `-pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    want: bool,
    pattern: Pattern,
}

/// A connection's wanted topics, as rules in order (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    rules: Vec<Rule>,
}

impl Subscriptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses, checks and adds a pattern's topics (see the module docs for the refusals).
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
        self.put(true, pattern, MAX_SUBSCRIPTIONS)?;
        Ok(&self.rules[self.rules.len() - 1].pattern)
    }

    /// Adds a pattern's topics on the connection's behalf (a join's `room.<id>.**`): no
    /// checks, and not refused at the limit (the connection may then hold one rule more than
    /// [`MAX_SUBSCRIPTIONS`]; its own changes that would add a rule are refused until it is
    /// back under).
    pub fn add_own(&mut self, pattern: Pattern) {
        let _ = self.put(true, pattern, usize::MAX);
    }

    /// Removes a pattern's topics (only its grammar and the limit are checked).
    pub fn unsubscribe(&mut self, text: &str) -> Result<(), TopicError> {
        let pattern = Pattern::parse(text)?;
        self.put(false, pattern, MAX_SUBSCRIPTIONS).map(|_| ())
    }

    /// Replaces the rules of `pattern` by one `want` rule at the end, within `limit` rules.
    /// A `-` rule is not kept when no `+` rule is left: the set is empty then.
    fn put(&mut self, want: bool, pattern: Pattern, limit: usize) -> Result<(), TopicError> {
        let others = self.rules.iter().filter(|r| r.pattern != pattern).count();
        let keep = want || self.rules.iter().any(|r| r.want && r.pattern != pattern);
        if keep && others + 1 > limit {
            return Err(TopicError::TooManySubscriptions);
        }
        self.rules.retain(|r| r.pattern != pattern);
        if keep {
            self.rules.push(Rule { want, pattern });
        } else {
            self.rules.clear();
        }
        Ok(())
    }

    /// Keeps only the rules that can still reach a topic `viewer` may see (after it left its
    /// room), so they neither linger nor count against the limit.
    pub fn retain_reachable(&mut self, viewer: Viewer<'_>) {
        self.rules.retain(|r| may_reach(viewer, &r.pattern));
        if !self.rules.iter().any(|r| r.want) {
            self.rules.clear();
        }
    }

    /// Drops the rules of `pattern` (as if never subscribed nor unsubscribed), and every rule
    /// when no `+` rule is left.
    pub fn forget(&mut self, pattern: &Pattern) {
        self.rules.retain(|r| &r.pattern != pattern);
        if !self.rules.iter().any(|r| r.want) {
            self.rules.clear();
        }
    }

    /// Forgets every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The number of rules held.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules in order: (wanted, pattern).
    pub fn rules(&self) -> impl Iterator<Item = (bool, &Pattern)> {
        self.rules.iter().map(|r| (r.want, &r.pattern))
    }

    /// Whether `topic` is in the set (permission aside): the last rule matching it is `+`.
    pub fn wants(&self, topic: &Topic<'_>) -> bool {
        topic.with_segments(|segs| self.rules.iter().rev().find(|r| r.pattern.matches_segments(segs)).is_some_and(|r| r.want))
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

/// Which audio streams of one room a connection wants, resolved from its rules:
/// every stream but `except` (`all`), or only the streams in `except` (not `all`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioFilter {
    all: bool,
    /// Sorted, no repeats.
    except: Vec<u16>,
}

impl AudioFilter {
    /// Every stream, including streams that appear later.
    pub fn all() -> Self {
        AudioFilter { all: true, except: Vec::new() }
    }

    /// No stream.
    pub fn none() -> Self {
        AudioFilter::default()
    }

    /// Resolves `subs` for the audio of `room` as seen by `viewer`. Depends only on the rules
    /// and on the viewer, not on which streams exist: a rule either covers every stream of the
    /// room (a wildcard where the stream goes, or `**` before it), names one stream, or
    /// matches none. So it is computed again when the subscriptions or the connection's room
    /// change, never per frame nor when someone joins.
    pub fn resolve(subs: &Subscriptions, viewer: Viewer<'_>, room: &str) -> AudioFilter {
        // Audio permission is per room: the same for every stream.
        if !may_see(viewer, &Topic::Room(room, RoomTopic::Audio(0))) {
            return AudioFilter::none();
        }
        let every_stream = [ShapeSeg::Lit("room"), ShapeSeg::Lit(room), ShapeSeg::Lit("audio"), ShapeSeg::AnyStream];
        let mut f = AudioFilter::none();
        for r in &subs.rules {
            if r.pattern.covers(&every_stream) {
                f = AudioFilter { all: r.want, except: Vec::new() };
            } else if let Some(stream) = r.pattern.literal_stream(room) {
                // The stream is an exception exactly when the rule differs from the default.
                let at = f.except.binary_search(&stream);
                match (r.want != f.all, at) {
                    (true, Err(i)) => f.except.insert(i, stream),
                    (false, Ok(i)) => {
                        f.except.remove(i);
                    }
                    _ => {}
                }
            }
        }
        f
    }

    /// The filter as (every stream but the list, or only the list; the sorted list): read by
    /// the union a member node tells the host (`crate::audio_interest`).
    pub fn parts(&self) -> (bool, &[u16]) {
        (self.all, &self.except)
    }

    /// Whether frames of `stream` go to this connection (no allocation).
    #[inline]
    pub fn wants(&self, stream: u16) -> bool {
        self.all != self.except.binary_search(&stream).is_ok()
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
    fn at_most_32_rules_and_repeats_count_once() {
        let mut subs = Subscriptions::new();
        for s in 0..32 {
            subs.subscribe(&format!("room.roomA.audio.{s}"), GUEST_IN_A).unwrap();
        }
        subs.subscribe("room.roomA.audio.0", GUEST_IN_A).expect("held already: no new rule");
        assert_eq!(subs.len(), 32);
        assert_eq!(subs.subscribe("room.roomA.chat", GUEST_IN_A).unwrap_err(), TopicError::TooManySubscriptions);
        assert_eq!(subs.unsubscribe("room.roomA.chat").unwrap_err(), TopicError::TooManySubscriptions, "a `-` rule takes a slot");
        // Validity and permission are checked first.
        assert_eq!(subs.subscribe("x..y", GUEST_IN_A).unwrap_err().code(), "invalid_pattern");
        assert_eq!(subs.subscribe("node.rooms", GUEST_IN_A).unwrap_err().code(), "forbidden");
        // Unsubscribing a held pattern replaces its rule: no new slot.
        subs.unsubscribe("room.roomA.audio.7").unwrap();
        assert_eq!(subs.len(), 32);
        assert!(!subs.wants(&Topic::Room(A, RoomTopic::Audio(7))));
        assert!(subs.wants(&Topic::Room(A, RoomTopic::Audio(8))));
        assert_eq!(subs.subscribe("room.roomA.chat", GUEST_IN_A).unwrap_err(), TopicError::TooManySubscriptions);
    }

    #[test]
    fn unsubscribing_typing_stops_only_typing() {
        let mut subs = Subscriptions::new();
        subs.add_own(Pattern::whole_room(A).unwrap());
        let typing = Topic::Room(A, RoomTopic::Typing);
        assert!(subs.delivers(GUEST_IN_A, &typing));
        subs.unsubscribe("room.roomA.presence.typing").unwrap();
        assert!(!subs.delivers(GUEST_IN_A, &typing));
        assert_eq!(delivered(&subs, GUEST_IN_A).len(), 6, "everything else of the room stays");
        // Subscribing again, to it or to the whole room, brings it back.
        subs.subscribe("room.roomA.presence.*", GUEST_IN_A).unwrap();
        assert!(subs.delivers(GUEST_IN_A, &typing));
        subs.unsubscribe("room.roomA.presence.typing").unwrap();
        subs.subscribe("room.roomA.**", GUEST_IN_A).unwrap();
        assert!(subs.delivers(GUEST_IN_A, &typing));
        // Unsubscribing the whole room leaves nothing, and no rules.
        subs.unsubscribe("room.*.**").unwrap();
        assert!(delivered(&subs, GUEST_IN_A).is_empty());
        subs.unsubscribe("room.roomA.**").unwrap();
        subs.unsubscribe("room.roomA.presence.*").unwrap();
        assert!(subs.is_empty(), "{:?}", subs);
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
        guest.unsubscribe("room.roomA.chat").unwrap();
        guest.retain_reachable(Viewer::default());
        assert!(guest.is_empty());
        let mut owner = Subscriptions::new();
        owner.add_own(Pattern::whole_room(A).unwrap());
        owner.subscribe("room.roomA.chat", joined).unwrap();
        owner.subscribe("**", joined).unwrap();
        owner.retain_reachable(OWNER);
        assert_eq!(owner.rules().map(|(w, p)| (w, p.as_str())).collect::<Vec<_>>(), [(true, "room.roomA.**"), (true, "**")]);
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
        assert_eq!(AudioFilter::resolve(&subs, GUEST_IN_A, A), AudioFilter::none());
        subs.add_own(Pattern::whole_room(A).unwrap());
        let all = AudioFilter::resolve(&subs, GUEST_IN_A, A);
        assert_eq!(all, AudioFilter::all());
        assert!(all.wants(0) && all.wants(65535));
        // Not a participant of B: nothing of B, whatever the rules.
        subs.subscribe("**", GUEST_IN_A).unwrap();
        assert_eq!(AudioFilter::resolve(&subs, GUEST_IN_A, B), AudioFilter::none());
        assert_eq!(AudioFilter::resolve(&subs, OWNER, A), AudioFilter::none());
        // Every stream but one.
        subs.unsubscribe("room.roomA.audio.5").unwrap();
        let but_5 = AudioFilter::resolve(&subs, GUEST_IN_A, A);
        assert!(!but_5.wants(5) && but_5.wants(4) && but_5.wants(6));
        subs.subscribe("*.*.audio.5", GUEST_IN_A).unwrap();
        assert_eq!(AudioFilter::resolve(&subs, GUEST_IN_A, A), AudioFilter::all());

        let mut subs = Subscriptions::new();
        subs.subscribe("room.roomA.audio.9", GUEST_IN_A).unwrap();
        subs.subscribe("room.*.audio.2", GUEST_IN_A).unwrap();
        subs.subscribe("*.*.*.9", GUEST_IN_A).unwrap();
        subs.subscribe("room.roomA.chat", GUEST_IN_A).unwrap();
        let some = AudioFilter::resolve(&subs, GUEST_IN_A, A);
        assert!(some.wants(9) && some.wants(2) && !some.wants(3));
        subs.unsubscribe("room.roomA.audio.*").unwrap();
        assert_eq!(AudioFilter::resolve(&subs, GUEST_IN_A, A), AudioFilter::none());
    }
}
