//! HTTP long-polling sessions: the transport for a participant whose WebSocket cannot open
//! (a proxy strips upgrades) or is refused at the socket cap (docs/http-api.md, "Polling
//! transport (any participant)").
//!
//! A session is a virtual connection: it gets a [`ConnId`] of its own (counted down from
//! `u32::MAX`, never one the engine knows) and from then on is a connection like a socket
//! for joins, resumes, proxied rooms, roles, commands, subscriptions, presence, the join
//! deadline and the per-connection rate limits. What differs:
//! - its text pushes go into the session's bounded queue here, never out to the shell (they
//!   are taken out of the output queue at the end of every input, `Engine::route_to_sessions`);
//! - it takes no audio (its room's audio topics are unsubscribed whenever its membership or
//!   its subscriptions change; Binary pushes to it are dropped as a last guard);
//! - the runtime's socket list does not close it; not being polled for
//!   `poll_session_idle_ms` does, as a dropped socket (the participant may resume);
//! - it does not count against the socket caps but against its own (`max_poll_sessions`,
//!   `max_poll_sessions_per_addr` for guests).
//!
//! A session the engine closes (kick, ban, garbage, join deadline) keeps its queue until it
//! was fetched; the next `Poll` with nothing left answers `unknown_session`.

use crate::engine::{client_addr_key, Conn, Engine};
use crate::error::{EngineError, ErrorCode};
use crate::io::ConnKind;
use crate::limits::TokenBucket;
use crate::outbox::Pending;
pub use crate::poll_queue::{PollAnswer, PollStart, PollStep};
use crate::poll_queue::{PollSessions, Session};
use crate::protocol::{decode_client, ClientMsg};
use crate::ConnId;
use std::collections::VecDeque;

impl Engine {
    /// `PollJoin`: opens a session whose first message is `join` (a `join` message exactly
    /// as on a socket). `kind` is the binding it came on; `addr` the client's address (as for
    /// guest sockets). A join refused at once keeps no session and answers its error.
    pub fn poll_join(&mut self, now_ms: u64, kind: ConnKind, addr: Option<&str>, join: &[u8]) -> Result<PollStart, EngineError> {
        self.clock = self.clock.max(now_ms);
        let result = self.poll_join_now(now_ms, kind, addr, join);
        self.settle(now_ms);
        let conn = result?;
        let s = self.polls.sessions.get_mut(&conn).expect("opened above");
        let answer = PollSessions::answer(s);
        Ok(PollStart { session: s.secret.clone(), cursor: answer.cursor, messages: answer.messages })
    }

    fn poll_join_now(&mut self, now_ms: u64, kind: ConnKind, addr: Option<&str>, join: &[u8]) -> Result<ConnId, EngineError> {
        let addr = addr.filter(|_| kind == ConnKind::Guest).and_then(client_addr_key);
        let from_addr = addr.as_ref().map_or(0, |a| self.polls.sessions.values().filter(|s| s.addr.as_ref() == Some(a)).count());
        if self.polls.sessions.len() >= self.cfg.max_poll_sessions || from_addr >= self.cfg.max_poll_sessions_per_addr {
            self.out.metrics.connections_refused += 1;
            return Err(EngineError::new(ErrorCode::TooManySessions));
        }
        self.out.metrics.control_in += 1;
        let envelope = decode_client(join, self.cfg.max_control_bytes).map_err(|e| EngineError::with(e.code, e.message))?;
        if !matches!(envelope.msg, ClientMsg::Join { .. }) {
            return Err(EngineError::with(ErrorCode::Malformed, "PollJoin takes a join message"));
        }
        let conn = self.free_session_id();
        self.conns.insert(conn, Conn::new(kind, now_ms, &self.cfg, None));
        self.out.subs.open(conn, kind == ConnKind::Owner);
        let secret = self.fresh_id();
        self.polls.sessions.insert(
            conn,
            Session {
                secret,
                kind,
                addr,
                queue: VecDeque::new(),
                bytes: 0,
                last: 0,
                acked: 0,
                last_poll_ms: now_ms,
                ticket: 0,
                closed: false,
            },
        );
        // The join costs the session's first control token, as on a socket.
        let taken = self.conns.get_mut(&conn).is_some_and(|c| c.control_bucket.try_take(now_ms));
        let joined = if taken { self.dispatch_client(now_ms, conn, envelope.msg, envelope.reference) } else { Err(EngineError::new(ErrorCode::RateLimited)) };
        if let Err(err) = joined {
            self.end_session(now_ms, conn);
            return Err(err);
        }
        self.timers.arm(crate::timers::Timer::SocketCheck, now_ms + self.cfg.socket_check_ms);
        self.keep_session_off_audio(conn);
        Ok(conn)
    }

    /// A virtual id no connection has, counted down from `u32::MAX`.
    fn free_session_id(&mut self) -> ConnId {
        loop {
            let id = self.polls.next_id;
            self.polls.next_id = if id <= u32::MAX / 2 { u32::MAX } else { id - 1 };
            if !self.conns.contains_key(&id) {
                return id;
            }
        }
    }

    /// `PollSend`: a client→server control message over the session. `Ok` when taken; its
    /// effects and errors come in `Poll`. Refused at once: `unknown_session`,
    /// `rate_limited` (the connection's control bucket), `too_large`.
    pub fn poll_send(&mut self, now_ms: u64, session: &str, text: &[u8]) -> Result<(), EngineError> {
        self.clock = self.clock.max(now_ms);
        let result = self.poll_send_now(now_ms, session, text);
        self.settle(now_ms);
        result
    }

    fn poll_send_now(&mut self, now_ms: u64, session: &str, text: &[u8]) -> Result<(), EngineError> {
        let conn = self.live_session(session)?;
        self.polls.sessions.get_mut(&conn).expect("found").last_poll_ms = now_ms;
        let c = self.conns.get_mut(&conn).ok_or(EngineError::new(ErrorCode::UnknownSession))?;
        c.seen(now_ms);
        if !c.control_bucket.try_take(now_ms) {
            self.out.metrics.control_rate_limited += 1;
            return Err(EngineError::new(ErrorCode::RateLimited));
        }
        self.out.metrics.control_in += 1;
        if text.len() > self.cfg.max_control_bytes {
            self.garbage(now_ms, conn);
            return Err(EngineError::with(ErrorCode::TooLarge, format!("control messages are at most {} bytes", self.cfg.max_control_bytes)));
        }
        match decode_client(text, self.cfg.max_control_bytes) {
            Ok(envelope) => {
                let reference = envelope.reference;
                if let Err(err) = self.dispatch_client(now_ms, conn, envelope.msg, reference.clone()) {
                    self.out.error(conn, &err, reference);
                }
            }
            Err(e) => {
                self.out.error(conn, &EngineError::with(e.code, e.message), e.reference);
                self.garbage(now_ms, conn);
            }
        }
        self.keep_session_off_audio(conn);
        Ok(())
    }

    /// `Poll`: acknowledges the messages numbered up to `cursor` and answers those after it,
    /// or says to wait. A `Poll` keeps the session alive; a held one of this session is
    /// answered empty (its ticket is old).
    pub fn poll(&mut self, now_ms: u64, session: &str, cursor: u64) -> Result<PollStep, EngineError> {
        self.clock = self.clock.max(now_ms);
        let conn = self.polls.find(session).ok_or(EngineError::new(ErrorCode::UnknownSession))?;
        let s = self.polls.sessions.get_mut(&conn).expect("found");
        let cursor = cursor.min(s.last);
        while s.queue.front().is_some_and(|(n, _)| *n <= cursor) {
            let (_, m) = s.queue.pop_front().expect("not empty");
            s.bytes -= m.len();
        }
        s.acked = s.acked.max(cursor);
        s.ticket += 1;
        let ticket = s.ticket;
        s.last_poll_ms = now_ms;
        let membership = self.conns.get(&conn).and_then(|c| c.membership.clone());
        self.touch_participant(now_ms, &membership);
        self.poll_again(now_ms, session, ticket, false)
    }

    /// Asks again for a held `Poll` (`ticket` from [`PollStep::Wait`]); `give_up` when it was
    /// held long enough: it is answered, empty if nothing came.
    pub fn poll_again(&mut self, now_ms: u64, session: &str, ticket: u64, give_up: bool) -> Result<PollStep, EngineError> {
        let conn = self.polls.find(session).ok_or(EngineError::new(ErrorCode::UnknownSession))?;
        let s = self.polls.sessions.get_mut(&conn).expect("found");
        if s.ticket != ticket {
            return Ok(PollStep::Answer(PollAnswer { cursor: s.acked, messages: Vec::new(), lost: false }));
        }
        s.last_poll_ms = now_ms;
        if PollSessions::has_news(s) {
            return Ok(PollStep::Answer(PollSessions::answer(s)));
        }
        if s.closed {
            self.polls.sessions.remove(&conn);
            return Err(EngineError::new(ErrorCode::UnknownSession));
        }
        if give_up {
            return Ok(PollStep::Answer(PollAnswer { cursor: s.acked, messages: Vec::new(), lost: false }));
        }
        Ok(PollStep::Wait { ticket })
    }

    /// `PollLeave`: as `leave`, then the session is closed.
    pub fn poll_leave(&mut self, now_ms: u64, session: &str) -> Result<(), EngineError> {
        self.clock = self.clock.max(now_ms);
        let conn = self.live_session(session)?;
        let membership = self.conns.get(&conn).and_then(|c| c.membership.clone());
        if membership.is_some() {
            let _ = self.dispatch_client(now_ms, conn, ClientMsg::Leave {}, None);
        }
        self.end_session(now_ms, conn);
        self.settle(now_ms);
        Ok(())
    }

    /// The open polling sessions (closed ones waiting to be fetched included).
    pub fn poll_session_count(&self) -> usize {
        self.polls.sessions.len()
    }

    /// A session the engine has not closed.
    fn live_session(&self, session: &str) -> Result<ConnId, EngineError> {
        let conn = self.polls.find(session).ok_or(EngineError::new(ErrorCode::UnknownSession))?;
        if self.polls.sessions[&conn].closed {
            return Err(EngineError::new(ErrorCode::UnknownSession));
        }
        Ok(conn)
    }

    /// A session takes no audio: its room's audio topics are unsubscribed (again after any
    /// change of its membership or its subscriptions).
    pub(crate) fn keep_session_off_audio(&mut self, conn: ConnId) {
        if !self.polls.contains(conn) {
            return;
        }
        let room = match self.conns.get(&conn).and_then(|c| c.membership.as_ref()) {
            Some(crate::engine::Membership::Local { room, .. } | crate::engine::Membership::Remote { room, .. }) => room.clone(),
            None => return,
        };
        let _ = self.out.subs.unsubscribe(conn, &format!("room.{room}.audio.*"));
    }

    /// Moves the queued text pushes for sessions into their queues, and takes queued
    /// closes of sessions as their end (the participant stays, disconnected, as after a
    /// socket close). Run at the end of every input, so the shell never sees a session.
    pub(crate) fn route_to_sessions(&mut self, now_ms: u64) {
        if self.polls.is_empty() {
            return;
        }
        let (max_messages, max_bytes) = (self.cfg.poll_queue_messages, self.cfg.poll_queue_bytes);
        let polls = &mut self.polls;
        let mut closed = Vec::new();
        self.out.queue.retain_mut(|pending| match pending {
            Pending::Text { conns, msg } => {
                if !conns.iter().any(|c| polls.contains(*c)) {
                    return true;
                }
                let json = msg.to_json();
                conns.retain(|c| {
                    if polls.contains(*c) {
                        polls.push(*c, json.clone(), max_messages, max_bytes);
                        false
                    } else {
                        true
                    }
                });
                !conns.is_empty()
            }
            Pending::Close(conn) if polls.contains(*conn) => {
                closed.push(*conn);
                false
            }
            _ => true,
        });
        for conn in closed {
            if let Some(s) = self.polls.sessions.get_mut(&conn) {
                s.closed = true;
            }
            self.close(now_ms, conn);
        }
    }

    /// Closes, as dropped sockets, the sessions not polled for `poll_session_idle_ms`, and
    /// forgets closed ones not fetched for as long.
    pub(crate) fn expire_poll_sessions(&mut self, now_ms: u64) {
        let idle = self.cfg.poll_session_idle_ms;
        let late: Vec<ConnId> = self.polls.sessions.iter().filter(|(_, s)| now_ms.saturating_sub(s.last_poll_ms) >= idle).map(|(c, _)| *c).collect();
        for conn in late {
            if !self.polls.sessions[&conn].closed {
                self.out.metrics.connections_timed_out += 1;
            }
            self.end_session(now_ms, conn);
        }
    }

    /// A runtime socket opens with the id of a session (ids come from different sources):
    /// the session ends as a dropped socket would, so its participant may resume.
    pub(crate) fn session_yields_id(&mut self, now_ms: u64, conn: ConnId) {
        if self.polls.contains(conn) {
            self.end_session(now_ms, conn);
        }
    }

    /// Forgets a session; if the engine had not closed it, it is closed as a dropped socket
    /// (what that causes for it is taken out of the output queue before it goes).
    fn end_session(&mut self, now_ms: u64, conn: ConnId) {
        if self.polls.sessions.get(&conn).is_some_and(|s| !s.closed) {
            self.close(now_ms, conn);
        }
        self.route_to_sessions(now_ms);
        self.polls.sessions.remove(&conn);
    }

    /// Session kind (for tests and metrics).
    pub fn poll_session_kind(&self, session: &str) -> Option<ConnKind> {
        self.polls.find(session).map(|c| self.polls.sessions[&c].kind)
    }
}

impl Conn {
    /// A fresh connection opened at `now_ms`, in no room.
    pub(crate) fn new(kind: ConnKind, now_ms: u64, cfg: &crate::config::Config, addr: Option<String>) -> Self {
        Conn {
            kind,
            membership: None,
            control_bucket: TokenBucket::new(cfg.control_rate, now_ms),
            audio_bucket: TokenBucket::new(cfg.audio_rate, now_ms),
            last_seen_ms: now_ms,
            pushed: 0,
            acked: 0,
            unjoined_since: Some(now_ms),
            garbage: 0,
            garbage_since: now_ms,
            addr,
        }
    }
}
