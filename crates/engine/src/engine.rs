//! The engine: state plus the input handlers of the sans-IO API (see the crate docs).

use crate::config::Config;
use crate::error::{EngineError, ErrorCode};
use crate::event_log::EventLog;
use crate::ids::{new_id, Entropy};
use crate::limits::TokenBucket;
pub(crate) use crate::outbox::{Outbox, PeerLink};
use crate::loudest::LoudestSet;
use crate::metrics::Metrics;
use crate::peer::{PeerEnvelope, PeerMsg};
use crate::persist::{PersistedRoom, PersistedState, PERSISTED_VERSION};
use crate::protocol::{decode_client, ClientMsg, Presence, ServerMsg, Snapshot};
use crate::room::{Location, Room};
use crate::speaking::SpeakingParams;
use crate::ConnId;
use std::collections::{BTreeMap, VecDeque};

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Push `msg.to_json()` as a Text message to each connection.
    ToConns { conns: Vec<ConnId>, msg: ServerMsg },
    /// Close this WebSocket (after the messages queued before it).
    Close { conn: ConnId },
    /// Send `envelope.to_bytes()` to this process on `node` as a request that expects a
    /// response (any answer will do); on `offline`/`timeout` call `handle_peer_send_failed`.
    ToPeer { node: String, envelope: PeerEnvelope },
    /// Persistent state changed: save `persisted()` (soon; debouncing is fine).
    PersistRequested,
}

/// How a WebSocket was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// The authenticated path: the node owner.
    Owner,
    /// The unauthenticated path: must show the room's invite token.
    Guest,
}

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
}

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
    pub(crate) out: Outbox,
    pub(crate) scratch_conns: Vec<ConnId>,
    pub(crate) scratch_room: String,
    pub(crate) scratch_host: String,
    pub(crate) last_sweep_ms: u64,
    pub(crate) last_heartbeat_ms: u64,
    pub(crate) next_join_ref: u64,
    pub(crate) frame_counter: u64,
}

impl Engine {
    /// A fresh engine for `our_node` (the node's name, e.g. `alice.os`).
    pub fn new(cfg: Config, our_node: &str, mut entropy: Box<dyn Entropy>) -> Self {
        let session = new_id(entropy.as_mut());
        let peer_rate = cfg.peer_rate;
        Self {
            cfg,
            our_node: our_node.to_string(),
            entropy,
            rooms: BTreeMap::new(),
            conns: BTreeMap::new(),
            proxies: BTreeMap::new(),
            out: Outbox {
                queue: VecDeque::new(),
                session,
                peers: BTreeMap::new(),
                metrics: Metrics::default(),
                dirty: false,
                peer_rate,
            },
            scratch_conns: Vec::with_capacity(256),
            scratch_room: String::with_capacity(32),
            scratch_host: String::with_capacity(64),
            last_sweep_ms: 0,
            last_heartbeat_ms: 0,
            next_join_ref: 0,
            frame_counter: 0,
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
            };
            engine.rooms.insert(r.id, room);
        }
        engine
    }

    /// The state to save (the shell calls this after `Output::PersistRequested`).
    pub fn persisted(&mut self) -> PersistedState {
        self.out.dirty = false;
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

    /// Next output for the shell, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.queue.pop_front()
    }

    /// Moves all pending outputs into `into` (keeps its capacity).
    pub fn drain_outputs(&mut self, into: &mut Vec<Output>) {
        into.extend(self.out.queue.drain(..));
    }

    /// Counters, with the gauges filled in.
    pub fn metrics(&self) -> Metrics {
        let mut m = self.out.metrics.clone();
        m.connections = self.conns.len() as u64;
        m.rooms = self.rooms.len() as u64;
        m.participants = self.rooms.values().map(|r| r.participants.len() as u64).sum();
        m.proxied_rooms = self.proxies.values().map(|p| p.len() as u64).sum();
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

    /// A WebSocket opened.
    /// A WebSocket opened. Returns false, after queueing an error and a close for it, when
    /// the app is at `max_connections`.
    pub fn handle_open(&mut self, now_ms: u64, conn: ConnId, kind: ConnKind) -> bool {
        if self.conns.contains_key(&conn) {
            self.handle_close(now_ms, conn);
        }
        if self.conns.len() >= self.cfg.max_connections {
            self.out.metrics.connections_refused += 1;
            self.out.error(conn, &EngineError::new(ErrorCode::TooManyConnections), None);
            self.out.queue.push_back(Output::Close { conn });
            return false;
        }
        self.conns.insert(
            conn,
            Conn {
                kind,
                membership: None,
                control_bucket: TokenBucket::new(self.cfg.control_rate, now_ms),
                audio_bucket: TokenBucket::new(self.cfg.audio_rate, now_ms),
                last_seen_ms: now_ms,
                pushed: 0,
                acked: 0,
            },
        );
        true
    }

    /// A WebSocket closed (by either side). Its participant stays, reconnecting, until it
    /// resumes or the presence timeout removes it.
    pub fn handle_close(&mut self, now_ms: u64, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else { return };
        match c.membership {
            Some(Membership::Local { room, stream }) => self.detach_local(now_ms, &room, stream, conn),
            Some(Membership::Remote { host, room }) => self.proxy_detach(now_ms, &host, &room, conn),
            None => {}
        }
    }

    fn detach_local(&mut self, now_ms: u64, room_id: &str, stream: u16, conn: ConnId) {
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let Some(idx) = room.index_of_stream(stream) else { return };
        let p = &mut room.participants[idx];
        if p.location != Location::Local(conn) || !p.connected {
            return;
        }
        p.connected = false;
        p.last_seen_ms = now_ms;
        let id = p.id.clone();
        self.out.emit(room, now_ms, crate::protocol::Event::Reconnecting { participant: id });
    }

    /// A text message from a WebSocket.
    pub fn handle_text(&mut self, now_ms: u64, conn: ConnId, text: &[u8]) {
        self.out.metrics.control_in += 1;
        let Some(c) = self.conns.get_mut(&conn) else {
            self.out.error(conn, &EngineError::new(ErrorCode::UnknownConnection), None);
            self.out.queue.push_back(Output::Close { conn });
            return;
        };
        c.last_seen_ms = now_ms;
        if text.len() > self.cfg.max_control_bytes {
            let err = EngineError::with(ErrorCode::TooLarge, format!("control messages are at most {} bytes", self.cfg.max_control_bytes));
            self.out.error(conn, &err, None);
            return;
        }
        if !c.control_bucket.try_take(now_ms) {
            self.out.metrics.control_rate_limited += 1;
            self.out.error(conn, &EngineError::new(ErrorCode::RateLimited), None);
            return;
        }
        let envelope = match decode_client(text, self.cfg.max_control_bytes) {
            Ok(e) => e,
            Err(e) => {
                let err = EngineError::with(e.code, e.message);
                self.out.error(conn, &err, e.reference);
                return;
            }
        };
        let reference = envelope.reference;
        if let Err(err) = self.dispatch_client(now_ms, conn, envelope.msg, reference.clone()) {
            self.out.error(conn, &err, reference);
        }
    }

    fn dispatch_client(&mut self, now_ms: u64, conn: ConnId, msg: ClientMsg, reference: Option<String>) -> Result<(), EngineError> {
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
                    self.room_command(now_ms, &room, crate::commands::Authority::Participant(&pid), other)
                }
                Some(Membership::Remote { host, room }) => self.proxy_control(now_ms, conn, &host, &room, other, reference),
            },
        }
    }

    fn touch_participant(&mut self, now_ms: u64, membership: &Option<Membership>) {
        if let Some(Membership::Local { room, stream }) = membership {
            if let Some(r) = self.rooms.get_mut(room) {
                if let Some(i) = r.index_of_stream(*stream) {
                    r.participants[i].last_seen_ms = now_ms;
                }
            }
        }
    }

    fn sync_local(&mut self, conn: ConnId, room_id: &str, last_seq: u64) -> Result<(), EngineError> {
        let room = self.rooms.get(room_id).ok_or(EngineError::new(ErrorCode::RoomNotFound))?;
        match room.log.since(last_seq) {
            crate::event_log::Since::Missed(events) => {
                for e in events {
                    self.out.send_one(conn, ServerMsg::Event { room: room_id.to_string(), seq: e.seq, event: e.event });
                }
            }
            crate::event_log::Since::SnapshotNeeded => {
                let snapshot = room.snapshot(&self.our_node);
                self.out.send_one(conn, ServerMsg::Snapshot { room: room_id.to_string(), seq: snapshot.seq, snapshot });
            }
        }
        Ok(())
    }

    /// The clock: call every ~20 ms (with the peer-batch flush). Expires typing and speaking
    /// indicators, sweeps ghosts every `sweep_interval_ms`, heartbeats hosts of proxied rooms.
    pub fn handle_tick(&mut self, now_ms: u64) {
        let params = self.speaking_params();
        let Engine { rooms, out, .. } = self;
        for room in rooms.values_mut() {
            let mut changes = Vec::new();
            for p in room.participants.iter_mut() {
                if p.typing_until.is_some_and(|until| now_ms >= until) {
                    p.typing_until = None;
                    changes.push(Presence::Typing { participant: p.id.clone(), typing: false });
                }
                if let Some(s) = p.speaking.on_time(params, now_ms) {
                    changes.push(Presence::Speaking { participant: p.id.clone(), speaking: s });
                }
            }
            for c in changes {
                out.announce(room, now_ms, c);
            }
        }
        if now_ms.saturating_sub(self.last_sweep_ms) >= self.cfg.sweep_interval_ms {
            self.last_sweep_ms = now_ms;
            self.sweep(now_ms);
        }
        if now_ms.saturating_sub(self.last_heartbeat_ms) >= self.cfg.peer_heartbeat_ms {
            self.last_heartbeat_ms = now_ms;
            let beats: Vec<(String, Vec<crate::peer::HeldParticipants>)> = self
                .proxies
                .iter()
                .filter(|(_, rooms)| !rooms.is_empty())
                .map(|(host, rooms)| {
                    let held = rooms
                        .iter()
                        .map(|(room, p)| crate::peer::HeldParticipants {
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
                self.remove_participant(now_ms, &room_id, &pid, crate::commands::Removal::Ghost);
            }
        }
        self.proxy_sweep(now_ms);
    }
}
