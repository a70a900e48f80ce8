//! Which room pushes each connection of this node takes: its topic subscriptions
//! ([`crate::topics`]) and the room it is in.
//!
//! Wired topics (what this version filters): a room's `chat` (events `chat`, `chat_cleared`),
//! `events` (every other logged event), `presence.typing` and `presence.speaking`. Audio and
//! `node.rooms` are not wired: a pattern that can reach only those is refused as
//! `invalid_pattern`, and audio goes to every joined socket of the room as before.
//!
//! A socket sees only the topics of the room it is in. The owner's wider permission in
//! [`crate::topics::access`] (`node.rooms`, any room's presence without joining) is not used
//! here yet: every socket, the owner's too, is closed 10 s after opening unless it joins a
//! room, so a socket watching without joining needs that rule changed first.
//!
//! - A connection starts with no patterns; being put in a room (join, resume, a proxied
//!   join) adds `room.<id>.**`, so every joined socket gets its whole room as before.
//! - Taken out of its room, it loses every pattern (none reaches a topic it may see).
//! - Room pushes go to the room's connections that want the topic.

use std::collections::BTreeMap;

use crate::error::{EngineError, ErrorCode};
use crate::protocol::{Event, Presence};
use crate::topics::pattern::{Pattern, PatternError, TOPIC_SHAPES};
use crate::topics::{RoomTopic, Subscriptions, Topic, TopicError, Viewer};
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

/// The wired topic families (see the module docs): chat, events, typing, speaking.
fn wired(pattern: &Pattern) -> bool {
    TOPIC_SHAPES[1..5].iter().any(|shape| pattern.intersects(shape))
}

#[derive(Debug, Clone, Default)]
struct Entry {
    room: Option<String>,
    subs: Subscriptions,
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
}

impl Subscribers {
    /// A socket opened.
    pub fn open(&mut self, conn: ConnId) {
        self.conns.insert(conn, Entry::default());
    }

    /// A socket is gone.
    pub fn close(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    /// `conn` was put in `room`, or taken out of its room (`None`).
    pub fn set_room(&mut self, conn: ConnId, room: Option<&str>) {
        let Some(e) = self.conns.get_mut(&conn) else { return };
        e.room = room.map(str::to_owned);
        match room {
            Some(room) => {
                if let Ok(p) = Pattern::whole_room(room) {
                    e.subs.add_own(p);
                }
            }
            None => {
                e.subs.retain_reachable(Viewer::default());
            }
        }
    }

    /// `subscribe {pattern}` from `conn`. The confirmation lists the wired topics of its
    /// room the pattern matches.
    pub fn subscribe(&mut self, conn: ConnId, text: &str) -> Result<Confirmed, TopicError> {
        let e = self.conns.entry(conn).or_default();
        let pattern = Pattern::parse(text)?;
        if !wired(&pattern) {
            return Err(PatternError::MatchesNoTopic.into());
        }
        let room = e.room.clone();
        // A participant of its room, nothing more (see the module docs).
        let viewer = Viewer { owner: false, room: room.as_deref() };
        let pattern = e.subs.add(pattern, viewer)?;
        let existing = room.as_deref().map(Topic::room_text_topics).into_iter().flatten();
        let topics = Subscriptions::matched(pattern, viewer, existing);
        Ok(Confirmed { pattern: pattern.as_str().to_owned(), topics })
    }

    /// `unsubscribe {pattern}` from `conn`: its topics are no longer wanted.
    pub fn unsubscribe(&mut self, conn: ConnId, text: &str) -> Result<(), TopicError> {
        self.conns.entry(conn).or_default().subs.unsubscribe(text)
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
        s.open(1);
        assert_eq!(s.subscribe(1, "room.roomA.chat").unwrap_err(), TopicError::Forbidden, "not in a room yet");
        s.set_room(1, Some(A));
        assert_eq!(s.patterns(1), ["+room.roomA.**"]);
        s.subscribe(1, "room.*.chat").unwrap();
        s.subscribe(1, "**").unwrap();
        s.set_room(1, None);
        assert!(s.patterns(1).is_empty());
        s.set_room(1, Some("roomB"));
        assert_eq!(s.patterns(1), ["+room.roomB.**"]);
    }

    #[test]
    fn only_wired_topics_of_the_own_room() {
        let mut s = Subscribers::default();
        s.open(1);
        s.set_room(1, Some(A));
        for p in ["node.rooms", "node.*", "room.roomA.audio.*", "room.*.audio.7"] {
            assert_eq!(s.subscribe(1, p).unwrap_err(), TopicError::InvalidPattern(PatternError::MatchesNoTopic), "{p}");
        }
        assert_eq!(s.subscribe(1, "room.roomB.presence.typing").unwrap_err(), TopicError::Forbidden);
        let c = s.subscribe(1, "**").unwrap();
        assert_eq!(c.pattern, "**");
        assert_eq!(c.topics, ["room.roomA.chat", "room.roomA.events", "room.roomA.presence.typing", "room.roomA.presence.speaking"]);
        let c = s.subscribe(1, "room.roomA.presence.*").unwrap();
        assert_eq!(c.topics, ["room.roomA.presence.typing", "room.roomA.presence.speaking"]);
    }

    #[test]
    fn filtering() {
        let mut s = Subscribers::default();
        for c in [1, 2] {
            s.open(c);
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
}
