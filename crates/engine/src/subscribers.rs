//! Which pushes each connection of this node takes: its topic subscriptions
//! ([`crate::topics`]), the room it is in, and whether it is the owner's.
//!
//! Wired topics: a room's `chat` (events `chat`, `chat_cleared`), `events` (every other logged
//! event), `presence.typing`, `presence.speaking` and `audio.<stream>` (one speaker's frames),
//! and `node.rooms` (the lobby, `crate::lobby`).
//!
//! Audio is not matched per frame: each connection's rules are resolved into an
//! [`AudioFilter`] (every stream but a sorted list, or only a sorted list) whenever its
//! subscriptions or its room change, and the relay asks [`Subscribers::wants_audio`], a map
//! lookup and a binary search, without allocating. The filter depends on the rules only, not on
//! which streams exist, so a wildcard (`room.<id>.audio.*`, `room.<id>.**`) covers a speaker
//! who joins later, and a literal `room.<id>.audio.<n>` follows stream id `n`, whoever holds it
//! (a room hands out stream ids in turn and skips those in use, so an id comes back only after
//! the counter wraps, 65,535 joins later; one who leaves and joins again gets a new id).
//!
//! A guest's socket sees only the topics of the room it is in. The owner's socket may also see
//! `node.rooms` and any room's `presence.typing` / `presence.speaking` without joining
//! ([`crate::topics::access`]); such an owner socket in no room is a *watcher*, and the engine
//! lets it stay open past the join deadline while it is one.
//!
//! - A connection starts with no patterns; being put in a room (join, resume, a proxied
//!   join) adds `room.<id>.**`, so every joined socket gets its whole room as before.
//! - Taken out of its room, it loses that `room.<id>.**` and every pattern that reaches no
//!   topic it may still see (a guest: all of them; the owner keeps `node.rooms` and presence).
//! - Room pushes go to the room's connections that want the topic; presence also goes to the
//!   owner's connections outside the room that subscribed to it ([`Subscribers::add_outsiders`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{EngineError, ErrorCode};
use crate::protocol::{Event, Presence};
use crate::topics::pattern::{Pattern, PatternError, TOPIC_SHAPES};
use crate::topics::{AudioFilter, RoomTopic, Subscriptions, Topic, TopicError, Viewer};
use crate::ConnId;

/// The topic a logged event of `room` belongs to.
pub(crate) fn event_topic<'a>(room: &'a str, event: &Event) -> Topic<'a> {
    match event {
        Event::Chat { .. } | Event::ChatCleared { .. } => Topic::Room(room, RoomTopic::Chat),
        _ => Topic::Room(room, RoomTopic::Events),
    }
}

/// The topic a presence change of `room` belongs to.
pub(crate) fn presence_topic<'a>(room: &'a str, presence: &Presence) -> Topic<'a> {
    match presence {
        Presence::Typing { .. } => Topic::Room(room, RoomTopic::Typing),
        Presence::Speaking { .. } => Topic::Room(room, RoomTopic::Speaking),
    }
}

impl From<TopicError> for EngineError {
    fn from(e: TopicError) -> Self {
        let code = match e {
            TopicError::InvalidPattern(_) => ErrorCode::InvalidPattern,
            TopicError::TooManySubscriptions => ErrorCode::TooManySubscriptions,
            TopicError::Forbidden => ErrorCode::Forbidden,
        };
        EngineError::with(code, e.to_string())
    }
}

/// The wired topic families (see the module docs): every topic there is.
fn wired(pattern: &Pattern) -> bool {
    TOPIC_SHAPES.iter().any(|shape| pattern.intersects(shape))
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// The node owner's (authenticated) socket.
    owner: bool,
    room: Option<String>,
    subs: Subscriptions,
    /// `subs` resolved for the audio of `room` (none when in no room).
    audio: AudioFilter,
}

impl Entry {
    fn viewer(&self) -> Viewer<'_> {
        Viewer { owner: self.owner, room: self.room.as_deref() }
    }

    /// Whether `node.rooms` goes to it.
    fn wants_lobby(&self) -> bool {
        self.subs.delivers(self.viewer(), &Topic::NodeRooms)
    }

    /// Resolves the audio filter again: after any change of `subs` or `room`.
    fn resolve_audio(&mut self) {
        self.audio = match self.room.as_deref() {
            Some(room) => AudioFilter::resolve(&self.subs, Viewer { owner: false, room: Some(room) }, room),
            None => AudioFilter::none(),
        };
    }
}

/// A `subscribed` confirmation: the pattern and the wired topics it matches now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confirmed {
    pub pattern: String,
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Subscribers {
    conns: BTreeMap<ConnId, Entry>,
    /// The connections `node.rooms` goes to now (kept with every change of a connection).
    lobby: BTreeSet<ConnId>,
    /// The owner's connections holding any rule: the only ones a room's presence may reach
    /// from outside the room.
    owners_subscribed: BTreeSet<ConnId>,
}

impl Subscribers {
    /// A socket opened (`owner`: the node owner's authenticated socket).
    pub fn open(&mut self, conn: ConnId, owner: bool) {
        self.conns.insert(conn, Entry { owner, ..Entry::default() });
        self.refresh(conn);
    }

    /// A socket is gone.
    pub fn close(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.refresh(conn);
    }

    /// Keeps the cached sets right after a change of `conn`.
    fn refresh(&mut self, conn: ConnId) {
        let (lobby, owner_subscribed) = match self.conns.get(&conn) {
            Some(e) => (e.wants_lobby(), e.owner && !e.subs.is_empty()),
            None => (false, false),
        };
        for (set, on) in [(&mut self.lobby, lobby), (&mut self.owners_subscribed, owner_subscribed)] {
            if on {
                set.insert(conn);
            } else {
                set.remove(&conn);
            }
        }
    }

    /// `conn` was put in `room`, or taken out of its room (`None`).
    pub fn set_room(&mut self, conn: ConnId, room: Option<&str>) {
        let Some(e) = self.conns.get_mut(&conn) else { return };
        let left = e.room.take();
        e.room = room.map(str::to_owned);
        match room {
            Some(room) => {
                if let Ok(p) = Pattern::whole_room(room) {
                    e.subs.add_own(p);
                }
            }
            None => {
                // The join's own `room.<id>.**` goes: an owner's would still reach the room's
                // presence, and keep a socket that only left a room watching it.
                if let Some(p) = left.as_deref().and_then(|r| Pattern::whole_room(r).ok()) {
                    e.subs.forget(&p);
                }
                let viewer = Viewer { owner: e.owner, room: None };
                e.subs.retain_reachable(viewer);
            }
        }
        e.resolve_audio();
        self.refresh(conn);
    }

    /// `subscribe {pattern}` from `conn`. The confirmation lists the topics the pattern
    /// matches that `conn` may see: `node.rooms`; the text topics of its room, then the audio
    /// of `streams` (the streams of its room now, ascending); then the presence topics of
    /// `other_rooms` (the other rooms hosted here, for the owner's socket).
    pub fn subscribe<'r>(&mut self, conn: ConnId, text: &str, streams: &[u16], other_rooms: impl IntoIterator<Item = &'r str>) -> Result<Confirmed, TopicError> {
        let e = self.conns.entry(conn).or_default();
        let pattern = Pattern::parse(text)?;
        if !wired(&pattern) {
            return Err(PatternError::MatchesNoTopic.into());
        }
        let room = e.room.clone();
        let viewer = Viewer { owner: e.owner, room: room.as_deref() };
        let pattern = e.subs.add(pattern, viewer)?.clone();
        e.resolve_audio();
        let own = room.as_deref().map(|r| {
            let audio = streams.iter().map(move |&s| Topic::Room(r, RoomTopic::Audio(s)));
            Topic::room_text_topics(r).into_iter().chain(audio)
        });
        let others = other_rooms
            .into_iter()
            .filter(|r| Some(*r) != room.as_deref())
            .flat_map(|r| [Topic::Room(r, RoomTopic::Typing), Topic::Room(r, RoomTopic::Speaking)]);
        let existing = std::iter::once(Topic::NodeRooms).chain(own.into_iter().flatten()).chain(others);
        let topics = Subscriptions::matched(&pattern, viewer, existing);
        self.refresh(conn);
        Ok(Confirmed { pattern: pattern.as_str().to_owned(), topics })
    }

    /// `unsubscribe {pattern}` from `conn`: its topics are no longer wanted.
    pub fn unsubscribe(&mut self, conn: ConnId, text: &str) -> Result<(), TopicError> {
        let e = self.conns.entry(conn).or_default();
        e.subs.unsubscribe(text)?;
        e.resolve_audio();
        self.refresh(conn);
        Ok(())
    }

    /// The connections `node.rooms` goes to, ascending.
    pub fn lobby_watchers(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.lobby.iter().copied()
    }

    /// Whether `node.rooms` goes anywhere.
    #[inline]
    pub fn has_lobby_watchers(&self) -> bool {
        !self.lobby.is_empty()
    }

    /// Whether `conn` is the owner's socket, in no room, holding a subscription: it watches
    /// without joining and is exempt from the join deadline.
    pub fn watching(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|e| e.owner && e.room.is_none() && !e.subs.is_empty())
    }

    /// Adds to `conns` (a room's own connections) the owner's connections outside `room`
    /// that take `topic` of it (presence, seen without joining).
    pub fn add_outsiders(&self, conns: &mut Vec<ConnId>, room: &str, topic: &Topic<'_>) {
        for &c in &self.owners_subscribed {
            let Some(e) = self.conns.get(&c) else { continue };
            if e.room.as_deref() != Some(room) && e.subs.delivers(e.viewer(), topic) {
                conns.push(c);
            }
        }
    }

    /// Whether frames of `stream` (of the room `conn` is in) go to `conn`: the hot path's
    /// question, answered without allocating. A connection this registry does not know gets
    /// every stream, as before subscriptions.
    #[inline]
    pub fn wants_audio(&self, conn: ConnId, stream: u16) -> bool {
        self.conns.get(&conn).is_none_or(|e| e.audio.wants(stream))
    }

    /// The audio filter of `conn` (None: a connection this registry does not know, which
    /// gets every stream). Read when a proxied room's wanted streams are summed up
    /// (`crate::audio_interest`), not per frame.
    pub fn audio_filter(&self, conn: ConnId) -> Option<&AudioFilter> {
        self.conns.get(&conn).map(|e| &e.audio)
    }

    /// Keeps the connections of a room (`conns`) that want `topic`. A connection this
    /// registry does not know keeps everything, as before subscriptions.
    pub fn retain_wanting(&self, conns: &mut Vec<ConnId>, topic: &Topic<'_>) {
        conns.retain(|c| self.conns.get(c).is_none_or(|e| e.subs.wants(topic)));
    }

    /// The patterns `conn` holds, in the order subscribed.
    #[cfg(test)]
    fn patterns(&self, conn: ConnId) -> Vec<String> {
        self.conns.get(&conn).map(|e| e.subs.rules().map(|(want, p)| format!("{}{p}", if want { '+' } else { '-' })).collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "roomA";

    #[test]
    fn joining_subscribes_the_whole_room_and_leaving_drops_everything() {
        let mut s = Subscribers::default();
        s.open(1, false);
        assert_eq!(s.subscribe(1, "room.roomA.chat", &[], []).unwrap_err(), TopicError::Forbidden, "not in a room yet");
        s.set_room(1, Some(A));
        assert_eq!(s.patterns(1), ["+room.roomA.**"]);
        s.subscribe(1, "room.*.chat", &[], []).unwrap();
        s.subscribe(1, "**", &[], []).unwrap();
        s.set_room(1, None);
        assert!(s.patterns(1).is_empty());
        s.set_room(1, Some("roomB"));
        assert_eq!(s.patterns(1), ["+room.roomB.**"]);
    }

    #[test]
    fn only_wired_topics_of_the_own_room() {
        let mut s = Subscribers::default();
        s.open(1, false);
        s.set_room(1, Some(A));
        for p in ["node.rooms", "node.*"] {
            assert_eq!(s.subscribe(1, p, &[], []).unwrap_err(), TopicError::Forbidden, "{p}: the owner's only");
        }
        assert_eq!(s.subscribe(1, "nodes.*", &[], []).unwrap_err(), TopicError::InvalidPattern(PatternError::MatchesNoTopic));
        assert_eq!(s.subscribe(1, "room.roomB.presence.typing", &[], []).unwrap_err(), TopicError::Forbidden);
        assert_eq!(s.subscribe(1, "room.roomB.audio.*", &[], []).unwrap_err(), TopicError::Forbidden);
        let c = s.subscribe(1, "**", &[1, 3], []).unwrap();
        assert_eq!(c.pattern, "**");
        assert_eq!(
            c.topics,
            ["room.roomA.chat", "room.roomA.events", "room.roomA.presence.typing", "room.roomA.presence.speaking", "room.roomA.audio.1", "room.roomA.audio.3"]
        );
        let c = s.subscribe(1, "room.roomA.presence.*", &[1], []).unwrap();
        assert_eq!(c.topics, ["room.roomA.presence.typing", "room.roomA.presence.speaking"]);
        let c = s.subscribe(1, "room.*.audio.3", &[1, 3], []).unwrap();
        assert_eq!(c.topics, ["room.roomA.audio.3"]);
        let c = s.subscribe(1, "room.roomA.audio.9", &[1, 3], []).unwrap();
        assert!(c.topics.is_empty(), "stream 9 does not exist yet, and is subscribed");
    }

    #[test]
    fn filtering() {
        let mut s = Subscribers::default();
        for c in [1, 2] {
            s.open(c, false);
            s.set_room(c, Some(A));
        }
        s.unsubscribe(2, "room.roomA.presence.typing").unwrap();
        let mut conns = vec![1, 2, 99];
        s.retain_wanting(&mut conns, &Topic::Room(A, RoomTopic::Typing));
        assert_eq!(conns, [1, 99], "2 unsubscribed typing; 99 is unknown and keeps everything");
        let mut conns = vec![1, 2];
        s.retain_wanting(&mut conns, &Topic::Room(A, RoomTopic::Chat));
        assert_eq!(conns, [1, 2]);
        s.close(1);
        s.unsubscribe(2, "room.roomA.events").unwrap();
        let mut conns = vec![1, 2];
        s.retain_wanting(&mut conns, &Topic::Room(A, RoomTopic::Events));
        assert_eq!(conns, [1]);
    }

    #[test]
    fn audio_filter_follows_changes() {
        let mut s = Subscribers::default();
        s.open(1, false);
        assert!(!s.wants_audio(1, 4), "in no room: no audio");
        assert!(s.wants_audio(99, 4), "unknown: everything");
        s.set_room(1, Some(A));
        assert!(s.wants_audio(1, 4) && s.wants_audio(1, 60000), "a join's room.<id>.** covers every stream");
        s.unsubscribe(1, "room.roomA.audio.4").unwrap();
        assert!(!s.wants_audio(1, 4) && s.wants_audio(1, 5));
        s.subscribe(1, "room.roomA.audio.4", &[], []).unwrap();
        assert!(s.wants_audio(1, 4));
        s.unsubscribe(1, "room.roomA.audio.*").unwrap();
        assert!(!s.wants_audio(1, 4) && !s.wants_audio(1, 77), "a wildcard covers streams that appear later");
        s.subscribe(1, "room.roomA.audio.77", &[], []).unwrap();
        assert!(!s.wants_audio(1, 4) && s.wants_audio(1, 77));
        s.set_room(1, None);
        assert!(!s.wants_audio(1, 77));
        s.set_room(1, Some("roomB"));
        assert!(s.wants_audio(1, 4) && s.wants_audio(1, 77), "a new room starts with all of it");
    }

    #[test]
    fn the_owner_watches_without_joining_and_keeps_watching_after_leaving() {
        let mut s = Subscribers::default();
        s.open(1, true);
        s.open(2, false);
        assert!(!s.watching(1) && !s.has_lobby_watchers());
        let c = s.subscribe(1, "**", &[], ["roomA", "roomB"]).unwrap();
        assert_eq!(
            c.topics,
            ["node.rooms", "room.roomA.presence.typing", "room.roomA.presence.speaking", "room.roomB.presence.typing", "room.roomB.presence.speaking"]
        );
        assert!(s.watching(1));
        assert_eq!(s.lobby_watchers().collect::<Vec<_>>(), [1]);
        assert_eq!(s.subscribe(2, "node.rooms", &[], []).unwrap_err(), TopicError::Forbidden);
        // Joined, the owner's socket is a participant like any other, and still watches.
        s.set_room(1, Some(A));
        assert!(!s.watching(1), "in a room: not exempt, it has joined");
        assert_eq!(s.lobby_watchers().collect::<Vec<_>>(), [1]);
        let mut conns = vec![];
        s.add_outsiders(&mut conns, A, &Topic::Room(A, RoomTopic::Speaking));
        assert!(conns.is_empty(), "its own room reaches it as a participant, not as an outsider");
        s.add_outsiders(&mut conns, "roomB", &Topic::Room("roomB", RoomTopic::Speaking));
        assert_eq!(conns, [1]);
        // Leaving drops the join's room.roomA.** and keeps `**` (node.rooms, presence).
        s.set_room(1, None);
        assert_eq!(s.patterns(1), ["+**"]);
        assert!(s.watching(1));
        s.unsubscribe(1, "**").unwrap();
        assert!(!s.watching(1) && !s.has_lobby_watchers());
        // Only the join's pattern: nothing left after leaving.
        s.set_room(1, Some(A));
        s.set_room(1, None);
        assert!(s.patterns(1).is_empty() && !s.watching(1));
    }
}
