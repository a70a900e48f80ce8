//! The queues of HTTP polling sessions (the sessions themselves are connections of the engine,
//! `crate::poll_sessions`): each session's messages not yet acknowledged, numbered, bounded,
//! and the answers to `Poll` made from them.

use crate::io::ConnKind;
use crate::secret::secret_eq;
use crate::ConnId;
use std::collections::{BTreeMap, VecDeque};

/// A session just opened by `PollJoin`: its secret and what the join produced at once.
#[derive(Debug, Clone, PartialEq)]
pub struct PollStart {
    pub session: String,
    pub cursor: u64,
    /// Server→client control messages (JSON), numbered up to `cursor`.
    pub messages: Vec<String>,
}

/// An answer to `Poll`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollAnswer {
    /// The number of the last message in `messages` (the given cursor when there is none).
    pub cursor: u64,
    /// Server→client control messages (JSON), oldest first.
    pub messages: Vec<String>,
    /// Messages after the given cursor were dropped because the queue overflowed (the
    /// client recovers with `sync`).
    pub lost: bool,
}

/// What to do with a `Poll`.
#[derive(Debug, Clone, PartialEq)]
pub enum PollStep {
    /// Answer now.
    Answer(PollAnswer),
    /// Nothing to answer yet: ask again with `Engine::poll_again` and this ticket.
    Wait { ticket: u64 },
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) secret: String,
    pub(crate) kind: ConnKind,
    /// The client address key it counts under (guests only).
    pub(crate) addr: Option<String>,
    /// (number, JSON) of messages not yet acknowledged, oldest first.
    pub(crate) queue: VecDeque<(u64, String)>,
    pub(crate) bytes: usize,
    /// The number of the last message queued.
    pub(crate) last: u64,
    /// The highest cursor the client acknowledged.
    pub(crate) acked: u64,
    pub(crate) last_poll_ms: u64,
    /// Bumped by every `Poll`: a held one with an older ticket is answered empty.
    pub(crate) ticket: u64,
    /// Closed by the engine; answered until the queue is fetched, then forgotten.
    pub(crate) closed: bool,
}

/// The polling sessions of the engine, by their virtual connection id.
#[derive(Debug)]
pub(crate) struct PollSessions {
    pub(crate) sessions: BTreeMap<ConnId, Session>,
    pub(crate) next_id: ConnId,
}

impl Default for PollSessions {
    fn default() -> Self {
        Self { sessions: BTreeMap::new(), next_id: u32::MAX }
    }
}

impl PollSessions {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Whether `conn` is a session's virtual connection.
    #[inline]
    pub fn contains(&self, conn: ConnId) -> bool {
        !self.sessions.is_empty() && self.sessions.contains_key(&conn)
    }

    /// The session with this secret, compared in constant time with each.
    pub(crate) fn find(&self, secret: &str) -> Option<ConnId> {
        let mut found = None;
        for (conn, s) in &self.sessions {
            if secret_eq(secret.as_bytes(), s.secret.as_bytes()) {
                found = Some(*conn);
            }
        }
        found
    }

    /// Appends a message, dropping the oldest beyond the bounds.
    pub(crate) fn push(&mut self, conn: ConnId, json: String, max_messages: usize, max_bytes: usize) {
        let Some(s) = self.sessions.get_mut(&conn) else { return };
        s.last += 1;
        s.bytes += json.len();
        s.queue.push_back((s.last, json));
        while s.queue.len() > max_messages || (s.bytes > max_bytes && s.queue.len() > 1) {
            let (_, dropped) = s.queue.pop_front().expect("not empty");
            s.bytes -= dropped.len();
        }
    }

    /// Everything after the acknowledged cursor. `lost` when some of it was dropped (the
    /// oldest kept is not the next one): asked again with the same cursor, it says so again.
    pub(crate) fn answer(s: &Session) -> PollAnswer {
        let messages: Vec<String> = s.queue.iter().map(|(_, m)| m.clone()).collect();
        let cursor = s.queue.back().map_or(s.acked, |(n, _)| *n);
        let lost = s.queue.front().map_or(s.last > s.acked, |(first, _)| *first > s.acked + 1);
        PollAnswer { cursor, messages, lost }
    }

    pub(crate) fn has_news(s: &Session) -> bool {
        s.last > s.acked
    }
}

