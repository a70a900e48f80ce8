//! The engine: state plus the input handlers of the sans-IO API (see the crate docs).

use crate::config::Config;
use crate::effects::Effects;
use crate::error::{EngineError, ErrorCode};
use crate::event_log::EventLog;
use crate::ids::{new_id, Entropy};
use crate::io::{ConnKind, Input, OutBuf, Output, PeerId, Refusal};
use crate::limits::TokenBucket;
use crate::loudest::LoudestSet;
use crate::metrics::Metrics;
use crate::outbox::{Outbox, Pending};
use crate::peer_wire::{HeldParticipants, PeerMsg};
use crate::peer_links::{AfterFailure, PeerLinks, RetryPolicy};
use crate::persist::{PersistedRoom, PersistedState, PERSISTED_VERSION};
use crate::protocol::{decode_client, ClientMsg, ServerMsg, Snapshot};
use crate::room::{Location, Room};
use crate::save::{SaveNow, SaveSchedule};
use crate::speaking::SpeakingParams;
use crate::subscribers::Subscribers;
use crate::timers::{Timer, Timers};
use crate::ConnId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// On a full peer-link table, a link unused and silent for at least this long may be
/// forgotten to make room for a new node (longer than every retry of a control request).
const PEER_LINK_MIN_IDLE_MS: u64 = 30_000;

#[derive(Debug, Clone)]
pub(crate) enum Membership {
    /// In a room hosted here.
    Local { room: String, stream: u16 },
    /// In a room hosted on another node, proxied.
    Remote { host: String, room: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Conn {
    pub kind: ConnKind,
    pub membership: Option<Membership>,
    pub control_bucket: TokenBucket,
    pub audio_bucket: TokenBucket,
    pub last_seen_ms: u64,
    /// Audio frames handed to the shell for this connection (wrapping).
    pub pushed: u32,
    /// Latest acknowledged total from the client (wrapping).
    pub acked: u32,
    /// Since when it has been in no room (from its opening, or from leaving one); it must
    /// join within `join_deadline_ms` of this.
    pub unjoined_since: Option<u64>,
    /// Refused (garbage) messages in the window that started at `garbage_since`.
    pub garbage: u32,
    pub garbage_since: u64,
    /// The client address it is counted under (guests only; see [`client_addr_key`]).
    pub addr: Option<String>,
}

/// The key a client address is capped under: the IP without the port, an IPv6 address by its
/// /64; None for loopback (a local proxy that does not say who the client is) and for an
/// empty one.
pub(crate) fn client_addr_key(addr: &str) -> Option<String> {
    use std::net::{IpAddr, SocketAddr};
    let addr = addr.trim();
    let ip = addr.parse::<SocketAddr>().map(|s| s.ip()).or_else(|_| addr.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>());
    match ip {
        Ok(ip) if ip.is_loopback() => None,
        Ok(IpAddr::V4(v4)) => Some(v4.to_string()),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) if v4.is_loopback() => None,
            Some(v4) => Some(v4.to_string()),
            None => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
        },
        // Not an address: capped as given (bounded in length).
        Err(_) if addr.is_empty() => None,
        Err(_) => Some(addr.chars().take(64).collect()),
    }
}

impl Conn {
    /// Its socket was heard from at `now_ms`.
    #[inline]
    pub fn seen(&mut self, now_ms: u64) {
        self.last_seen_ms = now_ms;
    }
}

/// A local user in a room hosted elsewhere.
#[derive(Debug, Clone)]
pub(crate) struct ProxyMember {
    pub conn: ConnId,
    pub join_ref: u64,
    pub joined_ms: u64,
    pub name: String,
    pub invite: Option<String>,
    /// Set by the host's welcome.
    pub participant: Option<String>,
    pub stream: u16,
    pub resume_token: Option<String>,
    /// The participant this user was before the host restarted and we joined it again: a
    /// command sent under that id comes back `bounced` and is sent again under the new one.
    pub previous: Option<String>,
    /// Commands waiting for the host's new welcome (at most `remote_rooms::MAX_HELD_COMMANDS`).
    pub held: HeldCommands,
}

/// A user's commands with their `ref`s, waiting for the host's welcome.
pub(crate) type HeldCommands = Vec<(ClientMsg, Option<String>)>;

/// This node's view of a room hosted on another node.
#[derive(Debug, Clone)]
pub(crate) struct ProxyRoom {
    /// The host's state as of `mirror.seq`, kept by applying its events.
    pub mirror: Option<Snapshot>,
    pub members: Vec<ProxyMember>,
    pub loudest: LoudestSet,
    /// (mirror seq, time) of the last sync request: one per gap, not per event, repeated
    /// only if the answer does not come within a heartbeat interval.
    pub sync_requested_at: Option<(u64, u64)>,
}

pub struct Engine {
    pub(crate) cfg: Config,
    pub(crate) our_node: String,
    pub(crate) entropy: Box<dyn Entropy>,
    pub(crate) rooms: BTreeMap<String, Room>,
    pub(crate) conns: BTreeMap<ConnId, Conn>,
    /// Rooms hosted elsewhere, by host node, then room id.
    pub(crate) proxies: BTreeMap<String, BTreeMap<String, ProxyRoom>>,
    pub(crate) out: Effects,
    pub(crate) timers: Timers,
    pub(crate) scratch_conns: Vec<ConnId>,
    pub(crate) scratch_room: String,
    pub(crate) scratch_host: String,
    scratch_requests: Vec<u64>,
    pub(crate) next_join_ref: u64,
    pub(crate) frame_counter: u64,
    /// The latest `now_ms` given to `handle` (for stamps set outside an input's own code).
    pub(crate) clock: u64,
    /// Per room: the join-attempt buckets (`join_gate`).
    join_gates: BTreeMap<String, JoinGate>,
    /// Sockets the engine refused or closed and the runtime still lists: not opened again
    /// until the runtime drops them.
    closing: BTreeSet<ConnId>,
    /// HTTP polling sessions: virtual connections (`crate::poll_sessions`).
    pub(crate) polls: crate::poll_queue::PollSessions,
}

/// A room's limits on joins through the invite check.
#[derive(Debug, Clone)]
struct JoinGate {
    joins: TokenBucket,
    bad_invites: TokenBucket,
}

impl Engine {
    /// Puts `conn` in a room or takes it out (`None`): the one place a connection's
    /// membership is set or cleared.
    pub(crate) fn set_membership(&mut self, conn: ConnId, membership: Option<Membership>) {
        let now = self.clock;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.unjoined_since = if membership.is_some() { None } else { Some(c.unjoined_since.unwrap_or(now)) };
            let room = match &membership {
                Some(Membership::Local { room, .. } | Membership::Remote { room, .. }) => Some(room.as_str()),
                None => None,
            };
            self.out.subs.set_room(conn, room);
            let is_session = self.polls.contains(conn);
            let before = c.membership.clone();
            if self.out.subs.watching(conn) {
                // The owner's socket keeps watching (node.rooms, presence) after leaving.
                c.unjoined_since = None;
            }
            c.membership = membership;
            if c.unjoined_since.is_some() {
                self.timers.arm(Timer::JoinDeadline, now + self.cfg.join_deadline_ms);
            }
            // Which streams a proxied room's sockets want may have changed (left, joined).
            let after = c.membership.clone();
            if is_session {
                self.keep_session_off_audio(conn);
            }
            self.audio_interest_may_change(&before);
            self.audio_interest_may_change(&after);
        }
    }

    /// Takes `conn` out of the room `room_id` hosted here if it is still in it (as `stream`,
    /// when given; a resumed socket may hold the participant since). Says whether it was.
    pub(crate) fn leave_local_membership(&mut self, conn: ConnId, room_id: &str, stream: Option<u16>) -> bool {
        let still_in = self.conns.get(&conn).is_some_and(|c| {
            matches!(&c.membership, Some(Membership::Local { room, stream: s }) if room == room_id && stream.is_none_or(|want| want == *s))
        });
        if still_in {
            self.set_membership(conn, None);
        }
        still_in
    }

    /// A fresh engine for `our_node` (the node's name, e.g. `alice.os`).
    pub fn new(cfg: Config, our_node: &str, mut entropy: Box<dyn Entropy>) -> Self {
        let session = new_id(entropy.as_mut());
        let retry = RetryPolicy { retries: cfg.peer_control_retries, base_ms: cfg.peer_retry_base_ms };
        let mut timers = Timers::default();
        timers.set(Timer::Sweep, Some(cfg.sweep_interval_ms));
        timers.set(Timer::Heartbeat, Some(cfg.peer_heartbeat_ms));
        timers.set(Timer::SocketCheck, Some(cfg.socket_discovery_ms));
        Self {
            out: Effects {
                queue: Outbox::new(),
                peers: PeerLinks::new(session, cfg.peer_rate, cfg.new_peer_rate, retry),
                metrics: Metrics::default(),
                save: SaveSchedule::new(cfg.save_interval_ms),
                subs: Subscribers::default(),
                lobby: Default::default(),
            },
            cfg,
            our_node: our_node.to_string(),
            entropy,
            rooms: BTreeMap::new(),
            conns: BTreeMap::new(),
            proxies: BTreeMap::new(),
            timers,
            scratch_conns: Vec::with_capacity(256),
            scratch_room: String::with_capacity(32),
            scratch_host: String::with_capacity(64),
            scratch_requests: Vec::new(),
            next_join_ref: 0,
            frame_counter: 0,
            clock: 0,
            join_gates: BTreeMap::new(),
            closing: BTreeSet::new(),
            polls: Default::default(),
        }
    }

    /// An engine with the rooms, roles, chat and event counters saved by `persisted()`.
    pub fn restore(state: PersistedState, cfg: Config, our_node: &str, entropy: Box<dyn Entropy>) -> Self {
        let mut engine = Self::new(cfg, our_node, entropy);
        for r in state.rooms {
            let mut chat: VecDeque<_> = r.chat.into();
            while chat.len() > engine.cfg.chat_history {
                chat.pop_front();
            }
            let room = Room {
                id: r.id.clone(),
                settings: r.settings,
                invite: r.invite,
                created_ms: r.created_ms,
                roles: r.roles,
                participants: Vec::new(),
                hands: Vec::new(),
                log: EventLog::new(engine.cfg.event_ring, r.last_seq),
                chat,
                next_chat_id: r.next_chat_id,
                next_stream: 0,
                loudest: LoudestSet::with_capacity(16),
                access: crate::room::Access::with_bans(r.bans.into_iter().map(Into::into).collect()),
            };
            engine.rooms.insert(r.id, room);
        }
        engine
    }

    /// The state to save (also carried by [`Output::Persist`]).
    pub fn persisted(&self) -> PersistedState {
        PersistedState {
            version: PERSISTED_VERSION,
            rooms: self
                .rooms
                .values()
                .map(|r| PersistedRoom {
                    id: r.id.clone(),
                    settings: r.settings.clone(),
                    invite: r.invite.clone(),
                    created_ms: r.created_ms,
                    roles: r.roles.clone(),
                    bans: r.access.bans.iter().map(Into::into).collect(),
                    chat: r.chat.iter().cloned().collect(),
                    next_chat_id: r.next_chat_id,
                    last_seq: r.log.last_seq(),
                })
                .collect(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn our_node(&self) -> &str {
        &self.our_node
    }

    /// The node behind an interned peer id of an output.
    pub fn peer_name(&self, id: PeerId) -> &str {
        &self.out.peers.get(id).name
    }

    /// Whether this socket is open as far as the engine knows (the shell sends
    /// [`Input::Open`] for one it does not know, if the runtime has it).
    pub fn is_open(&self, conn: ConnId) -> bool {
        // A polling session's virtual id is no socket: the shell opens a runtime socket that
        // happens to have the same id, and the session gives way (`session_yields_id`).
        self.conns.contains_key(&conn) && !self.polls.contains(conn)
    }

    /// Takes one input; what it causes comes out of [`Engine::poll_output`].
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Result<(), Refusal> {
        self.clock = self.clock.max(now_ms);
        let result = match input {
            Input::Open { conn, kind } => {
                if self.open(now_ms, conn, kind, None) {
                    Ok(())
                } else {
                    Err(Refusal::SocketLimit)
                }
            }
            Input::OpenFrom { conn, kind, addr } => {
                if self.open(now_ms, conn, kind, Some(addr)) {
                    Ok(())
                } else {
                    Err(Refusal::SocketLimit)
                }
            }
            // A socket never speaks with a session's virtual id (it is opened first).
            Input::Text { conn, .. } | Input::Close { conn } if self.polls.contains(conn) => Ok(()),
            Input::Binary { conn, .. } if self.polls.contains(conn) => Err(Refusal::Frame(crate::metrics::DropReason::UnknownConnection)),
            Input::Text { conn, text } => {
                self.text(now_ms, conn, text);
                Ok(())
            }
            Input::Binary { conn, frame } => self.binary(now_ms, conn, frame).map_err(Refusal::Frame),
            Input::Close { conn } => {
                self.closing.remove(&conn);
                self.close(now_ms, conn);
                Ok(())
            }
            Input::LiveSockets { conns } => {
                self.closing.retain(|c| conns.contains(c));
                // Polling sessions are no sockets: they expire when not polled instead.
                let gone: Vec<ConnId> = self.conns.keys().filter(|c| !conns.contains(c) && !self.polls.contains(**c)).copied().collect();
                for conn in gone {
                    self.close(now_ms, conn);
                }
                Ok(())
            }
            Input::PeerControl { from, body } => self.peer_control_input(now_ms, from, body).map_err(Refusal::Peer),
            Input::PeerAudio { from, batch } => {
                self.peer_audio(now_ms, from, batch);
                Ok(())
            }
            Input::PeerDelivered { request } => {
                self.out.peers.delivered(request);
                Ok(())
            }
            Input::PeerSendFailed { request } => {
                self.peer_send_failed(now_ms, request);
                Ok(())
            }
            Input::Timeout => {
                self.expire_poll_sessions(now_ms);
                self.on_timeout(now_ms);
                Ok(())
            }
        };
        self.settle(now_ms);
        result
    }

    /// The end of every input: audio gathered for peers leaves at once (one batch per peer
    /// holding only frames of this input), and a save is queued or scheduled.
    pub(crate) fn settle(&mut self, now_ms: u64) {
        self.flush_lobby(now_ms);
        self.route_to_sessions(now_ms);
        let Effects { queue, peers, save, .. } = &mut self.out;
        for id in peers.pending_audio.drain(..) {
            queue.push(Pending::PeerAudio(id));
        }
        match save.decide(now_ms) {
            SaveNow::Nothing => {}
            SaveNow::Save => queue.push(Pending::Persist),
            SaveNow::Later(at) => self.timers.arm(Timer::Save, at),
        }
    }

    /// The earliest time [`Input::Timeout`] is due, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.next()
    }

    /// The next thing for the shell to do, oldest first; its payload is written into `buf`
    /// (whose memory is reused: no allocation per audio frame).
    pub fn poll_output(&mut self, buf: &mut OutBuf) -> Option<Output> {
        loop {
            let pending = self.out.queue.pop()?;
            buf.bytes.clear();
            buf.conns.clear();
            match pending {
                Pending::Text { conns, msg } => {
                    buf.conns.extend_from_slice(&conns);
                    buf.bytes.extend_from_slice(msg.to_json().as_bytes());
                    return Some(Output::Text);
                }
                Pending::Binary { bytes, conns } => {
                    let (frame, to) = self.out.queue.frame(bytes, conns);
                    buf.bytes.extend_from_slice(frame);
                    buf.conns.extend_from_slice(to);
                    // Polling sessions take no audio (they are kept off it; this is the guard).
                    if !self.polls.is_empty() {
                        buf.conns.retain(|c| !self.polls.contains(*c));
                        if buf.conns.is_empty() {
                            continue;
                        }
                    }
                    return Some(Output::Binary);
                }
                Pending::Close(conn) => return Some(Output::Close { conn }),
                Pending::PeerControl(request) => {
                    // Answered or given up while it waited: nothing to send.
                    let Some(f) = self.out.peers.in_flight(request) else { continue };
                    serde_json::to_writer(&mut buf.bytes, &f.envelope).expect("peer messages serialize");
                    return Some(Output::PeerControl { node: f.node, request, timeout_ms: self.cfg.peer_control_timeout_ms });
                }
                Pending::PeerAudio(id) => {
                    let link = self.out.peers.get_mut(id);
                    if link.batch.is_empty() {
                        continue;
                    }
                    buf.bytes.extend_from_slice(&link.batch);
                    link.batch.clear();
                    return Some(Output::PeerAudio { node: id });
                }
                Pending::Persist => return Some(Output::Persist(self.persisted())),
                Pending::ListSockets => return Some(Output::ListSockets),
            }
        }
    }

    /// Counters, with the gauges filled in.
    pub fn metrics(&self) -> Metrics {
        let mut m = self.out.metrics.clone();
        m.connections = self.conns.len() as u64;
        m.rooms = self.rooms.len() as u64;
        m.participants = self.rooms.values().map(|r| r.participants.len() as u64).sum();
        m.proxied_rooms = self.proxies.values().map(|p| p.len() as u64).sum();
        m.peer_links = self.out.peers.len() as u64;
        m
    }

    pub(crate) fn speaking_params(&self) -> SpeakingParams {
        SpeakingParams {
            on_frames: self.cfg.speaking_on_frames,
            level: self.cfg.speaking_level,
            hangover_ms: self.cfg.speaking_hangover_ms,
        }
    }

    pub(crate) fn fresh_id(&mut self) -> String {
        new_id(self.entropy.as_mut())
    }

    /// A WebSocket opened. Returns false, after queueing an error and a close for it, when
    /// the app is at `max_connections` (a guest socket: at `max_connections` minus the
    /// owner's reserve; and at `max_guest_sockets_per_addr` guests from its address); false
    /// without a word for a socket it closed already.
    fn open(&mut self, now_ms: u64, conn: ConnId, kind: ConnKind, addr: Option<&str>) -> bool {
        if self.closing.contains(&conn) {
            return false;
        }
        self.session_yields_id(now_ms, conn);
        if self.conns.contains_key(&conn) {
            self.close(now_ms, conn);
        }
        let limit = match kind {
            ConnKind::Owner => self.cfg.max_connections,
            ConnKind::Guest => self.cfg.max_connections.saturating_sub(self.cfg.owner_reserved_connections),
        };
        // Polling sessions are not sockets: they have caps of their own.
        let sockets = self.conns.keys().filter(|c| !self.polls.contains(**c)).count();
        let counted = match kind {
            ConnKind::Owner => sockets,
            ConnKind::Guest => self.conns.iter().filter(|(id, c)| c.kind == ConnKind::Guest && !self.polls.contains(**id)).count(),
        };
        let addr = addr.filter(|_| kind == ConnKind::Guest).and_then(client_addr_key);
        let from_addr = addr.as_ref().map_or(0, |a| self.conns.values().filter(|c| c.addr.as_ref() == Some(a)).count());
        let over_addr = from_addr >= self.cfg.max_guest_sockets_per_addr;
        if counted >= limit || sockets >= self.cfg.max_connections || over_addr {
            self.out.metrics.connections_refused += 1;
            if over_addr {
                self.out.metrics.connections_refused_per_addr += 1;
            }
            self.out.error(conn, &EngineError::new(ErrorCode::TooManyConnections), None);
            self.shut(conn);
            return false;
        }
        self.timers.arm(Timer::SocketCheck, now_ms + self.cfg.socket_check_ms);
        self.timers.arm(Timer::JoinDeadline, now_ms + self.cfg.join_deadline_ms);
        self.conns.insert(conn, Conn::new(kind, now_ms, &self.cfg, addr));
        self.out.subs.open(conn, kind == ConnKind::Owner);
        true
    }

    /// Queues a close for `conn` and forgets it (after the messages queued before).
    fn shut(&mut self, conn: ConnId) {
        self.out.close(conn);
        self.closing.insert(conn);
    }

    /// Closes, with `join_timeout`, every socket in no room for `join_deadline_ms`, and arms
    /// the timer for the next one.
    fn close_unjoined(&mut self, now_ms: u64) {
        let deadline = self.cfg.join_deadline_ms;
        let late: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.unjoined_since.is_some_and(|t| now_ms.saturating_sub(t) >= deadline))
            .map(|(id, _)| *id)
            .collect();
        for conn in late {
            self.out.metrics.connections_timed_out += 1;
            let err = EngineError::with(ErrorCode::JoinTimeout, format!("join a room within {} s of connecting", deadline / 1000));
            self.out.error(conn, &err, None);
            self.close(now_ms, conn);
            self.shut(conn);
        }
        if let Some(next) = self.conns.values().filter_map(|c| c.unjoined_since).min() {
            self.timers.arm(Timer::JoinDeadline, next + deadline);
        }
    }

    /// After `conn` changed its subscriptions: the owner's socket in no room that holds one
    /// watches and is exempt from the join deadline; when it holds none any more, its
    /// deadline starts again from now.
    fn update_watching(&mut self, now_ms: u64, conn: ConnId) {
        let watching = self.out.subs.watching(conn);
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.membership.is_some() {
            return;
        }
        if watching {
            c.unjoined_since = None;
        } else if c.unjoined_since.is_none() {
            c.unjoined_since = Some(now_ms);
            self.timers.arm(Timer::JoinDeadline, now_ms + self.cfg.join_deadline_ms);
        }
    }

    /// `conn` sent something refused as malformed, of unknown type or version, or too large.
    /// After `max_garbage` such messages within `garbage_window_ms` it is closed; says whether.
    pub(crate) fn garbage(&mut self, now_ms: u64, conn: ConnId) -> bool {
        let Some(c) = self.conns.get_mut(&conn) else { return false };
        if now_ms.saturating_sub(c.garbage_since) >= self.cfg.garbage_window_ms {
            c.garbage = 0;
            c.garbage_since = now_ms;
        }
        c.garbage += 1;
        if c.garbage < self.cfg.max_garbage {
            return false;
        }
        self.out.metrics.connections_closed_for_garbage += 1;
        self.close(now_ms, conn);
        self.shut(conn);
        true
    }

    /// A fresh join of `room_id` about to be checked (a resume that found its participant
    /// is not one). Joins through the invite check (all but the owner's own sockets) take a
    /// token from the room's join bucket; one with a wrong or missing invite where it is
    /// needed also takes one from the bad-invite bucket, and while that is empty every join
    /// through the invite check is refused with `rate_limited`.
    pub(crate) fn join_gate(&mut self, now: u64, room_id: &str, req: &crate::room::JoinRequest) -> Result<(), EngineError> {
        let Some(room) = self.rooms.get(room_id) else { return Ok(()) };
        let is_owner = req.identity.as_deref() == Some(self.our_node.as_str()) && matches!(req.location, Location::Local(_));
        if is_owner {
            return Ok(());
        }
        let known = req.identity.as_ref().is_some_and(|i| room.roles.contains_key(i));
        let needs_invite = req.identity.is_none() || !known;
        let invited = crate::secret::token_matches(req.invite.as_deref(), &room.invite);
        self.join_gates.retain(|id, _| self.rooms.contains_key(id));
        let (join_rate, bad_rate) = (self.cfg.room_join_rate, self.cfg.bad_invite_rate);
        let gate = self
            .join_gates
            .entry(room_id.to_string())
            .or_insert_with(|| JoinGate { joins: TokenBucket::new(join_rate, now), bad_invites: TokenBucket::new(bad_rate, now) });
        let refused = !gate.bad_invites.has_token(now)
            || !gate.joins.try_take(now)
            || (needs_invite && !invited && !gate.bad_invites.try_take(now));
        if refused {
            self.out.metrics.joins_rate_limited += 1;
            return Err(EngineError::with(ErrorCode::RateLimited, "too many joins to this room; try again in a few seconds"));
        }
        Ok(())
    }

    /// Every envelope, before anything else is looked at (an oversized or malformed one too):
    /// a token from its node's link, or, for a node without one, from the bucket all such
    /// nodes share (`new_peer_rate`). Nothing is kept for a node without a link.
    pub(crate) fn peer_rate_gate(&mut self, now: u64, from: &str) -> Result<(), crate::peer_wire::PeerRefusal> {
        let peers = &mut self.out.peers;
        let taken = match peers.id_of(from) {
            Some(id) => peers.get_mut(id).bucket.try_take(now),
            None => peers.new_peer_bucket.try_take(now),
        };
        if taken {
            Ok(())
        } else {
            Err(crate::peer_wire::PeerRefusal::RateLimited)
        }
    }

    /// The link for an envelope from `from` that passed the rate, size, format and version
    /// checks: a node without one gets one only while the table has room (an unused link
    /// silent for a while is forgotten to make some).
    pub(crate) fn link_for_envelope(&mut self, now: u64, from: &str) -> Result<&mut crate::peer_links::PeerLink, crate::peer_wire::PeerRefusal> {
        let id = match self.out.peers.id_of(from) {
            Some(id) => id,
            None => {
                if self.out.peers.len() >= self.cfg.max_peer_links && !self.evict_idle_links(now, PEER_LINK_MIN_IDLE_MS, 1) {
                    return Err(crate::peer_wire::PeerRefusal::RateLimited);
                }
                let id = self.out.peers.intern(from, now);
                // The envelope that made the link counts against the node's own rate too.
                self.out.peers.get_mut(id).bucket.try_take(now);
                id
            }
        };
        let link = self.out.peers.get_mut(id);
        link.last_heard_ms = now;
        Ok(link)
    }

    /// Forgets up to `at_most` peer links that nothing here needs (no participant of that
    /// node in a room hosted here, no room of it proxied, nothing in flight or waiting for it)
    /// and that were not heard from for `idle_ms`, least recently heard first. Says whether
    /// any was.
    pub(crate) fn evict_idle_links(&mut self, now: u64, idle_ms: u64, at_most: usize) -> bool {
        let mut needed: BTreeSet<&str> = self.proxies.keys().map(String::as_str).collect();
        for room in self.rooms.values() {
            for p in &room.participants {
                if let Location::Remote(node) = &p.location {
                    needed.insert(node.as_str());
                }
            }
        }
        let mut idle: Vec<(u64, PeerId)> = self
            .out
            .peers
            .all()
            .filter(|(id, node, heard)| now.saturating_sub(*heard) >= idle_ms && !needed.contains(node) && self.out.peers.unused(*id))
            .map(|(id, _, heard)| (heard, id))
            .collect();
        idle.sort();
        idle.truncate(at_most);
        for (_, id) in &idle {
            self.out.peers.forget(*id);
            self.out.metrics.peer_links_evicted += 1;
        }
        !idle.is_empty()
    }

    /// A WebSocket closed (by either side). Its participant stays, reconnecting, until it
    /// resumes or the presence timeout removes it.
    pub(crate) fn close(&mut self, now_ms: u64, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else { return };
        self.out.subs.close(conn);
        match c.membership {
            Some(Membership::Local { room, stream }) => self.detach_local(now_ms, &room, stream, conn),
            Some(Membership::Remote { host, room }) => self.proxy_detach(now_ms, &host, &room, conn),
            None => {}
        }
    }

    fn detach_local(&mut self, now_ms: u64, room_id: &str, stream: u16, conn: ConnId) {
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let Some(idx) = room.index_of_stream(stream) else { return };
        if room.participants[idx].location != Location::Local(conn) {
            return;
        }
        if let Some(event) = room.mark_disconnected(idx, now_ms) {
            self.out.emit(room, now_ms, event);
        }
    }

    /// A text message from a WebSocket.
    fn text(&mut self, now_ms: u64, conn: ConnId, text: &[u8]) {
        self.out.metrics.control_in += 1;
        let Some(c) = self.conns.get_mut(&conn) else {
            self.out.error(conn, &EngineError::new(ErrorCode::UnknownConnection), None);
            self.out.close(conn);
            return;
        };
        c.seen(now_ms);
        // Every message costs a token first, an oversized one too.
        if !c.control_bucket.try_take(now_ms) {
            self.out.metrics.control_rate_limited += 1;
            self.out.error(conn, &EngineError::new(ErrorCode::RateLimited), None);
            return;
        }
        if text.len() > self.cfg.max_control_bytes {
            let err = EngineError::with(ErrorCode::TooLarge, format!("control messages are at most {} bytes", self.cfg.max_control_bytes));
            self.out.error(conn, &err, None);
            self.garbage(now_ms, conn);
            return;
        }
        let envelope = match decode_client(text, self.cfg.max_control_bytes) {
            Ok(e) => e,
            Err(e) => {
                let err = EngineError::with(e.code, e.message);
                self.out.error(conn, &err, e.reference);
                self.garbage(now_ms, conn);
                return;
            }
        };
        let reference = envelope.reference;
        if let Err(err) = self.dispatch_client(now_ms, conn, envelope.msg, reference.clone()) {
            self.out.error(conn, &err, reference);
        }
    }

    pub(crate) fn dispatch_client(&mut self, now_ms: u64, conn: ConnId, msg: ClientMsg, reference: Option<String>) -> Result<(), EngineError> {
        let c = self.conns.get(&conn).expect("checked by caller");
        let kind = c.kind;
        let membership = c.membership.clone();
        match msg {
            ClientMsg::Ping { t } => {
                self.touch_participant(now_ms, &membership);
                self.out.send_one(conn, ServerMsg::Pong { t, server_ms: now_ms });
                Ok(())
            }
            ClientMsg::Join { room, name, invite, host, resume } => {
                if membership.is_some() {
                    return Err(EngineError::new(ErrorCode::AlreadyJoined));
                }
                match host.filter(|h| *h != self.our_node) {
                    Some(host) => {
                        if kind == ConnKind::Guest {
                            // Guests reach only rooms of the node they connected to.
                            return Err(EngineError::with(ErrorCode::Forbidden, "guests may only join rooms of this node"));
                        }
                        self.proxy_join(now_ms, conn, host, room, name, invite, resume)
                    }
                    None => self.join_local(now_ms, conn, kind, room, name, invite, resume),
                }
            }
            ClientMsg::Subscribe { pattern } => {
                self.touch_participant(now_ms, &membership);
                let streams = self.audio_streams_of(&membership);
                let confirmed = self.out.subs.subscribe(conn, &pattern, &streams, self.rooms.keys().map(String::as_str))?;
                let lobby = confirmed.topics.first().is_some_and(|t| t == "node.rooms");
                self.out.send_one(conn, ServerMsg::Subscribed { pattern: confirmed.pattern, topics: confirmed.topics });
                self.audio_interest_may_change(&membership);
                if lobby {
                    self.lobby_subscribed(conn);
                }
                self.update_watching(now_ms, conn);
                Ok(())
            }
            ClientMsg::Unsubscribe { pattern } => {
                self.touch_participant(now_ms, &membership);
                self.out.subs.unsubscribe(conn, &pattern)?;
                self.out.send_one(conn, ServerMsg::Unsubscribed { pattern });
                self.audio_interest_may_change(&membership);
                self.update_watching(now_ms, conn);
                Ok(())
            }
            other => match membership {
                None => Err(EngineError::new(ErrorCode::NotJoined)),
                Some(Membership::Local { room, stream }) => {
                    self.touch_participant(now_ms, &Some(Membership::Local { room: room.clone(), stream }));
                    let pid = {
                        let r = self.rooms.get(&room).ok_or(EngineError::new(ErrorCode::RoomNotFound))?;
                        let idx = r.index_of_stream(stream).ok_or(EngineError::new(ErrorCode::NotJoined))?;
                        r.participants[idx].id.clone()
                    };
                    if let ClientMsg::Sync { last_seq } = other {
                        return self.sync_local(conn, &room, last_seq);
                    }
                    self.room_command(now_ms, &room, crate::roles::Authority::Participant(&pid), other)
                }
                Some(Membership::Remote { host, room }) => self.proxy_control(now_ms, conn, &host, &room, other, reference),
            },
        }
    }

    pub(crate) fn touch_participant(&mut self, now_ms: u64, membership: &Option<Membership>) {
        if let Some(Membership::Local { room, stream }) = membership {
            if let Some(r) = self.rooms.get_mut(room) {
                if let Some(i) = r.index_of_stream(*stream) {
                    r.participants[i].seen(now_ms);
                }
            }
        }
    }

    fn sync_local(&mut self, conn: ConnId, room_id: &str, last_seq: u64) -> Result<(), EngineError> {
        let room = self.rooms.get(room_id).ok_or(EngineError::new(ErrorCode::RoomNotFound))?;
        for msg in room.events_since(last_seq, &self.our_node).into_server_msgs(room_id) {
            self.out.send_one(conn, msg);
        }
        Ok(())
    }

    /// Runs every timer that is due and re-arms it.
    fn on_timeout(&mut self, now_ms: u64) {
        for timer in self.timers.take_due(now_ms) {
            match timer {
                Timer::Indicators => self.expire_indicators(now_ms),
                Timer::Sweep => {
                    self.timers.set(Timer::Sweep, Some(now_ms + self.cfg.sweep_interval_ms));
                    self.sweep(now_ms);
                }
                Timer::Heartbeat => {
                    self.timers.set(Timer::Heartbeat, Some(now_ms + self.cfg.peer_heartbeat_ms));
                    self.heartbeat(now_ms);
                }
                // `settle` saves or re-arms.
                Timer::Save => {}
                // While no socket is known the check runs too, less often: a socket that never
                // sends is learnt of only from the runtime's list.
                Timer::SocketCheck => {
                    self.out.queue.push(Pending::ListSockets);
                    let every = if self.conns.is_empty() { self.cfg.socket_discovery_ms } else { self.cfg.socket_check_ms };
                    self.timers.arm(Timer::SocketCheck, now_ms + every);
                }
                Timer::JoinDeadline => self.close_unjoined(now_ms),
                Timer::ControlRetry => {
                    let mut due = std::mem::take(&mut self.scratch_requests);
                    if let Some(next) = self.out.peers.due_retries(now_ms, &mut due) {
                        self.timers.arm(Timer::ControlRetry, next);
                    }
                    for request in due.drain(..) {
                        self.out.queue.push(Pending::PeerControl(request));
                    }
                    self.scratch_requests = due;
                }
                Timer::SyncRetry => self.retry_syncs(now_ms),
                // `settle` sends the coalesced node.rooms updates.
                Timer::Lobby => {}
            }
        }
    }

    /// Typing and speaking indicators that ran out are turned off; the timer is armed for
    /// the next one to run out.
    fn expire_indicators(&mut self, now_ms: u64) {
        let params = self.speaking_params();
        let Engine { rooms, out, timers, .. } = self;
        for room in rooms.values_mut() {
            let (changes, next) = room.expire_indicators(params, now_ms);
            if let Some(next) = next {
                timers.arm(Timer::Indicators, next);
            }
            for c in changes {
                out.announce(room, now_ms, c);
            }
        }
    }

    /// Tells the host of each room we proxy which of its participants we still hold.
    fn heartbeat(&mut self, now_ms: u64) {
        let beats: Vec<(String, Vec<HeldParticipants>)> = self
            .proxies
            .iter()
            .filter(|(_, rooms)| !rooms.is_empty())
            .map(|(host, rooms)| {
                let held = rooms
                    .iter()
                    .map(|(room, p)| HeldParticipants {
                        room: room.clone(),
                        participants: p.members.iter().filter_map(|m| m.participant.clone()).collect(),
                    })
                    .collect();
                (host.clone(), held)
            })
            .collect();
        for (host, rooms) in beats {
            self.out.send_peer(&host, now_ms, PeerMsg::Heartbeat { rooms });
        }
    }

    /// A control request was not answered: try again later, or after the last try call the
    /// peer unreachable.
    fn peer_send_failed(&mut self, now_ms: u64, request: u64) {
        match self.out.peers.failed(request, now_ms) {
            AfterFailure::Unknown => {}
            AfterFailure::RetryAt(at) => self.timers.arm(Timer::ControlRetry, at),
            AfterFailure::GaveUp { node, envelope } => {
                let node = self.out.peers.get(node).name.clone();
                self.peer_gave_up(now_ms, &node, &envelope);
            }
        }
    }

    /// Removes participants not heard from within the presence timeout.
    pub(crate) fn sweep(&mut self, now_ms: u64) {
        let timeout = self.cfg.presence_timeout_ms;
        let room_ids: Vec<String> = self.rooms.keys().cloned().collect();
        for room_id in room_ids {
            let ghosts: Vec<String> = {
                let room = &self.rooms[&room_id];
                room.participants
                    .iter()
                    // Remote participants are refreshed by their node's heartbeats, which list
                    // only the participants it still holds.
                    .filter(|p| now_ms.saturating_sub(p.last_seen_ms) >= timeout)
                    .map(|p| p.id.clone())
                    .collect()
            };
            for pid in ghosts {
                self.remove_participant(now_ms, &room_id, &pid, crate::room::Removal::Ghost);
            }
        }
        self.proxy_sweep(now_ms);
        self.evict_idle_links(now_ms, self.cfg.peer_link_idle_ms, usize::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::client_addr_key;

    #[test]
    fn client_addresses_are_keyed_without_port_by_v6_prefix_and_loopback_is_free() {
        assert_eq!(client_addr_key("203.0.113.7:51234").as_deref(), Some("203.0.113.7"));
        assert_eq!(client_addr_key(" 203.0.113.7 ").as_deref(), Some("203.0.113.7"));
        assert_eq!(client_addr_key("[2001:db8:1:2:3:4:5:6]:443").as_deref(), Some("2001:db8:1:2::/64"));
        assert_eq!(client_addr_key("2001:db8:1:2:ffff::1").as_deref(), Some("2001:db8:1:2::/64"));
        assert_eq!(client_addr_key("::ffff:198.51.100.2").as_deref(), Some("198.51.100.2"));
        assert_eq!(client_addr_key("127.0.0.1:4000"), None);
        assert_eq!(client_addr_key("[::1]:80"), None);
        assert_eq!(client_addr_key(""), None);
        assert_eq!(client_addr_key("unknown").as_deref(), Some("unknown"));
        assert_eq!(client_addr_key(&"x".repeat(500)).map(|k| k.len()), Some(64));
    }
}
