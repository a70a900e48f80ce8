//! State of one room hosted on this node.

use crate::e2ee::E2eeSlot;
use crate::error::{EngineError, ErrorCode};
use crate::event_log::EventLog;
use crate::loudest::LoudestSet;
use crate::event_log::Since;
use crate::protocol::{BanEntry, ChatMessage, Event, HandReason, LeaveReason, LoggedEvent, ParticipantId, ParticipantInfo, Presence, Resume, RoomId, ServerMsg, Settings, Snapshot};
use serde::{Deserialize, Serialize};
use crate::roles::Role;
use crate::speaking::{SpeakingDetector, SpeakingParams};
use crate::ConnId;
use std::collections::{BTreeMap, VecDeque};

/// Where a participant's connection lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A WebSocket on this node.
    Local(ConnId),
    /// A user of that peer node, proxied by it.
    Remote(String),
}

/// A join request after the transport-specific checks.
pub(crate) struct JoinRequest {
    pub name: String,
    pub invite: Option<String>,
    pub resume: Option<Resume>,
    /// Node name, or None for a guest (whose identity is its participant id).
    pub identity: Option<String>,
    pub node: String,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Participant {
    pub id: ParticipantId,
    /// Who this is across reconnects: a node name (the owner of that node) or `guest:<id>`.
    pub identity: String,
    pub name: String,
    pub role: Role,
    pub stream: u16,
    pub location: Location,
    /// False while its connection (or its node's proxy of it) is gone; it may resume.
    pub connected: bool,
    /// Disconnected only because its node became unreachable: reconnected when it returns.
    pub peer_lost: bool,
    pub joined_ms: u64,
    pub last_seen_ms: u64,
    pub muted: bool,
    pub self_muted: bool,
    pub guest: bool,
    pub node: String,
    pub resume_token: String,
    pub typing_until: Option<u64>,
    pub speaking: SpeakingDetector,
    /// Last audio sequence seen on its stream, for gap counting.
    pub last_audio_seq: Option<u32>,
    /// Its announced public key and the newest wrapped key delivered to it (e2ee rooms).
    pub e2ee: E2eeSlot,
}

impl Participant {
    pub fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            stream: self.stream,
            muted: self.muted,
            self_muted: self.self_muted,
            reconnecting: !self.connected,
            guest: self.guest,
            node: self.node.clone(),
            e2ee: self.e2ee.announced.clone(),
        }
    }

    /// It was heard from at `now_ms` (it counts as present until the presence timeout after).
    #[inline]
    pub fn seen(&mut self, now_ms: u64) {
        self.last_seen_ms = now_ms;
    }

    pub fn is_remote_of(&self, node: &str) -> bool {
        matches!(&self.location, Location::Remote(n) if n == node)
    }
}

#[derive(Debug, Clone)]
pub struct Room {
    pub id: RoomId,
    pub settings: Settings,
    pub invite: String,
    pub created_ms: u64,
    /// Roles by identity (not guests), so a returning user gets its role back.
    pub roles: BTreeMap<String, Role>,
    /// In join order: the hand-over picks the longest-present speaker from the front.
    pub participants: Vec<Participant>,
    pub hands: Vec<ParticipantId>,
    pub log: EventLog,
    pub chat: VecDeque<ChatMessage>,
    pub next_chat_id: u64,
    pub next_stream: u16,
    pub loudest: LoudestSet,
    /// Who is kept out, and the bookkeeping of remembered roles.
    pub access: Access,
}

/// Remembered roles kept per room at most; past it, the identity whose role was recorded
/// longest ago and that has no participant in the room is forgotten (it needs the invite again).
pub const MAX_REMEMBERED_ROLES: usize = 256;
/// Bans kept per room at most; a ban past it is refused with `too_many_bans` (nobody is let
/// in again without the owner or a moderator lifting a ban).
pub const MAX_BANS: usize = 1_000;

/// One ban: what is shown, and what keeps the banned one out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub entry: BanEntry,
    /// For a guest: the resume token it had (never shown). For a node: None (its node name,
    /// `entry.node`, keeps it out).
    pub guest_token: Option<String>,
}

/// A room's ban list and the order in which its roles were recorded.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub bans: Vec<Ban>,
    /// When (in recording order) each remembered role was last recorded.
    role_order: BTreeMap<String, u64>,
    role_clock: u64,
}

impl Access {
    pub fn with_bans(bans: Vec<Ban>) -> Self {
        Self { bans, ..Default::default() }
    }
}

impl Room {
    /// Adds a participant (after its `Joined` was emitted, so it learns of itself from its
    /// welcome snapshot only) and remembers its role for when it comes back. Returns its index.
    pub fn admit(&mut self, participant: Participant) -> usize {
        self.participants.push(participant);
        let idx = self.participants.len() - 1;
        self.record_role(idx);
        idx
    }

    /// Checks a fresh join (guests allowed, invite or a remembered role, capacity, name) and
    /// builds the participant with its role and a fresh stream (the only change): the caller
    /// emits `Joined` and then admits it. Refused with the first check that fails.
    pub(crate) fn newcomer(
        &mut self,
        req: &JoinRequest,
        our_node: &str,
        max_name: usize,
        participant_id: ParticipantId,
        resume_token: String,
        now: u64,
    ) -> Result<Participant, EngineError> {
        let is_owner = req.identity.as_deref() == Some(our_node) && matches!(req.location, Location::Local(_));
        let known_role = req.identity.as_ref().and_then(|i| self.roles.get(i)).copied();
        if req.identity.is_none() && !self.settings.guests_allowed {
            return Err(EngineError::new(ErrorCode::GuestsNotAllowed));
        }
        let invited = crate::secret::token_matches(req.invite.as_deref(), &self.invite);
        if !is_owner && known_role.is_none() && !invited {
            return Err(EngineError::new(ErrorCode::BadInvite));
        }
        if req.identity.is_none() && !invited {
            return Err(EngineError::new(ErrorCode::BadInvite));
        }
        if self.participants.len() >= self.settings.capacity as usize {
            return Err(EngineError::new(ErrorCode::RoomFull));
        }
        let name = self.check_name(&req.name, max_name, None)?;
        let mut role = match (&req.identity, known_role) {
            (Some(_), Some(r)) => r,
            (Some(_), None) => self.settings.default_role,
            (None, _) if self.settings.guests_may_speak => self.settings.default_role,
            (None, _) => Role::Viewer,
        };
        if role == Role::Host && self.has_host() {
            role = Role::Moderator;
        }
        if is_owner && !self.has_host() {
            role = Role::Host;
        }
        let stream = self.allocate_stream();
        Ok(Participant {
            id: participant_id.clone(),
            identity: req.identity.clone().unwrap_or_else(|| format!("guest:{participant_id}")),
            name,
            role,
            stream,
            location: req.location.clone(),
            connected: true,
            peer_lost: false,
            joined_ms: now,
            last_seen_ms: now,
            muted: false,
            self_muted: false,
            guest: req.identity.is_none(),
            node: req.node.clone(),
            resume_token,
            typing_until: None,
            speaking: Default::default(),
            last_audio_seq: None,
            e2ee: E2eeSlot::default(),
        })
    }

    /// Whether this join comes from a banned identity: a banned node, or a guest presenting
    /// the resume token it had when it was banned.
    pub(crate) fn is_banned(&self, req: &JoinRequest) -> bool {
        match &req.identity {
            Some(node) => self.node_banned(node),
            None => req.resume.as_ref().is_some_and(|r| {
                self.access.bans.iter().any(|b| b.guest_token.as_ref().is_some_and(|t| crate::secret::secret_eq(t.as_bytes(), r.token.as_bytes())))
            }),
        }
    }

    pub fn node_banned(&self, node: &str) -> bool {
        self.access.bans.iter().any(|b| b.guest_token.is_none() && b.entry.node.as_deref() == Some(node))
    }

    /// Bans participant `idx`'s identity (its node, or for a guest its resume token) with
    /// `ban_id`. Changes nothing when it already is banned; `too_many_bans` at [`MAX_BANS`].
    /// The caller removes the participants it keeps out.
    pub fn ban(&mut self, idx: usize, ban_id: String, now_ms: u64) -> Result<(), EngineError> {
        let p = &self.participants[idx];
        let (node, guest_token) = if p.guest { (None, Some(p.resume_token.clone())) } else { (Some(p.identity.clone()), None) };
        let already = self.access.bans.iter().any(|b| match (&guest_token, &b.guest_token) {
            (Some(t), Some(bt)) => crate::secret::secret_eq(t.as_bytes(), bt.as_bytes()),
            (None, None) => b.entry.node == node,
            _ => false,
        });
        if already {
            return Ok(());
        }
        if self.access.bans.len() >= MAX_BANS {
            return Err(EngineError::with(ErrorCode::TooManyBans, format!("a room keeps at most {MAX_BANS} bans; lift one first")));
        }
        let entry = BanEntry { ban_id, name: p.name.clone(), node, guest: p.guest, banned_ms: now_ms };
        if !p.guest {
            let identity = p.identity.clone();
            self.forget_role(&identity);
        }
        self.access.bans.push(Ban { entry, guest_token });
        Ok(())
    }

    /// Lifts the ban `ban_id`: `ban_not_found` if there is none.
    pub fn unban(&mut self, ban_id: &str) -> Result<BanEntry, EngineError> {
        let pos = self.access.bans.iter().position(|b| b.entry.ban_id == ban_id).ok_or(EngineError::new(ErrorCode::BanNotFound))?;
        Ok(self.access.bans.remove(pos).entry)
    }

    /// The ban list as shown, oldest first.
    pub fn ban_list(&self) -> Vec<BanEntry> {
        self.access.bans.iter().map(|b| b.entry.clone()).collect()
    }

    /// Forgets the remembered role of `identity` (a kick or ban: it needs the invite again).
    pub fn forget_role(&mut self, identity: &str) {
        self.roles.remove(identity);
        self.access.role_order.remove(identity);
    }

    /// The participant a resume with `token` from this request may take over: a guest only
    /// from a socket of this node, a user only with the same identity from the same node.
    pub(crate) fn resumable(&self, req: &JoinRequest, token: &str) -> Option<usize> {
        self.participants.iter().position(|p| {
            crate::secret::secret_eq(token.as_bytes(), p.resume_token.as_bytes())
                && match (&req.identity, p.guest) {
                    (None, true) => matches!(p.location, Location::Local(_)),
                    (Some(identity), false) => *identity == p.identity && p.node == req.node,
                    _ => false,
                }
        })
    }

    /// Takes participant `idx` out of the room with what it held: a raised hand and its place
    /// among the loudest streams. Its role stays remembered for its identity (a kick or ban
    /// forgets it: [`Room::forget_role`]).
    pub fn take_out(&mut self, idx: usize) -> Participant {
        let gone = self.participants.remove(idx);
        self.hands.retain(|h| *h != gone.id);
        self.loudest.forget(gone.stream);
        gone
    }

    /// Marks participant `idx` disconnected (reconnecting until it resumes or the presence
    /// timeout removes it) and returns the event to emit, or None if it already was.
    pub fn mark_disconnected(&mut self, idx: usize, now_ms: u64) -> Option<Event> {
        let p = &mut self.participants[idx];
        if !p.connected {
            return None;
        }
        p.connected = false;
        p.seen(now_ms);
        Some(Event::Reconnecting { participant: p.id.clone() })
    }

    /// Marks participant `idx` disconnected because its node became unreachable, so it is
    /// reconnected when that node is back. The event to emit, or None if it already was.
    pub fn mark_peer_lost(&mut self, idx: usize, now_ms: u64) -> Option<Event> {
        let event = self.mark_disconnected(idx, now_ms)?;
        self.participants[idx].peer_lost = true;
        Some(event)
    }

    /// Participant `idx` is connected again, at `location` (the `Reconnected` event was emitted
    /// before, while it still counted as disconnected).
    pub fn mark_connected(&mut self, idx: usize, location: Location, now_ms: u64) {
        let p = &mut self.participants[idx];
        p.location = location;
        p.connected = true;
        p.peer_lost = false;
        p.seen(now_ms);
    }

    /// Gives participant `idx` `role` (remembered for its identity) and nothing else: the
    /// `RoleChanged` to emit.
    pub fn assign_role(&mut self, idx: usize, role: Role, by: Option<String>) -> Event {
        self.participants[idx].role = role;
        self.record_role(idx);
        Event::RoleChanged { participant: self.participants[idx].id.clone(), role, by }
    }

    /// Gives participant `idx` `role` with what follows from it: a viewer stops speaking, and
    /// anyone above viewer has its raised hand lowered (accepted). Returns what to send, in order.
    pub fn set_role(&mut self, idx: usize, role: Role, by: Option<String>) -> Vec<Notice> {
        let mut notices = Vec::new();
        let changed = self.assign_role(idx, role, by);
        if role == Role::Viewer {
            notices.extend(self.stop_speaking(idx).map(Notice::Presence));
        }
        if role > Role::Viewer {
            let pid = self.participants[idx].id.clone();
            if let Ok(lowered) = self.lower_hand(&pid, HandReason::Accepted) {
                notices.push(Notice::Event(lowered));
            }
        }
        notices.push(Notice::Event(changed));
        notices
    }

    /// Participant `idx` raises its hand: the event to emit, or None if it already was raised.
    pub fn raise_hand(&mut self, idx: usize) -> Option<Event> {
        let pid = &self.participants[idx].id;
        if self.hands.contains(pid) {
            return None;
        }
        self.hands.push(pid.clone());
        Some(Event::HandRaised { participant: pid.clone() })
    }

    /// Lowers the raised hand of `participant` for `reason`: the event to emit, or
    /// `hand_not_raised`.
    pub fn lower_hand(&mut self, participant: &str, reason: HandReason) -> Result<Event, EngineError> {
        let pos = self.hands.iter().position(|h| h == participant).ok_or(EngineError::new(ErrorCode::HandNotRaised))?;
        let participant = self.hands.remove(pos);
        Ok(Event::HandLowered { participant, reason })
    }

    /// Participant `idx` posts `text` (already checked), keeping at most `history` messages.
    /// Returns what to send, in order: its typing indicator off if it was on, then the message.
    pub fn post_chat(&mut self, idx: usize, text: &str, history: usize, now_ms: u64) -> Vec<Notice> {
        let p = &mut self.participants[idx];
        let was_typing = p.typing_until.take().is_some();
        let message = ChatMessage { id: self.next_chat_id, from: p.id.clone(), name: p.name.clone(), text: text.to_string(), at_ms: now_ms };
        self.next_chat_id += 1;
        if self.chat.len() >= history {
            self.chat.pop_front();
        }
        self.chat.push_back(message.clone());
        let mut notices = Vec::new();
        if was_typing {
            notices.push(Notice::Presence(Presence::Typing { participant: message.from.clone(), typing: false }));
        }
        notices.push(Notice::Event(Event::Chat { message }));
        notices
    }

    /// Participant `idx` is typing until `until_ms`: the presence to announce if it just started.
    pub fn typing(&mut self, idx: usize, until_ms: u64) -> Option<Presence> {
        let p = &mut self.participants[idx];
        let started = p.typing_until.is_none();
        p.typing_until = Some(until_ms);
        started.then(|| Presence::Typing { participant: p.id.clone(), typing: true })
    }

    /// Turns off the typing and speaking indicators that ran out by `now_ms`. Returns the
    /// presence changes to announce, in order, and when the next indicator runs out.
    pub fn expire_indicators(&mut self, params: SpeakingParams, now_ms: u64) -> (Vec<Presence>, Option<u64>) {
        let mut changes = Vec::new();
        let mut next: Option<u64> = None;
        let mut due = |at: u64| next = Some(next.map_or(at, |n| n.min(at)));
        for p in self.participants.iter_mut() {
            if p.typing_until.is_some_and(|until| now_ms >= until) {
                p.typing_until = None;
                changes.push(Presence::Typing { participant: p.id.clone(), typing: false });
            }
            if let Some(s) = p.speaking.on_time(params, now_ms) {
                changes.push(Presence::Speaking { participant: p.id.clone(), speaking: s });
            }
            if let Some(until) = p.typing_until {
                due(until);
            }
            if let Some(off) = p.speaking.off_at(params) {
                due(off);
            }
        }
        (changes, next)
    }

    pub fn clear_chat(&mut self, by: Option<String>) -> Event {
        self.chat.clear();
        Event::ChatCleared { by }
    }

    /// New (already checked) settings: the event to emit, or None if nothing changed.
    pub fn change_settings(&mut self, updated: Settings) -> Option<Event> {
        if updated == self.settings {
            return None;
        }
        self.settings = updated.clone();
        Some(Event::SettingsChanged { settings: updated })
    }

    /// Mutes or unmutes participant `idx` on someone else's authority (a muted one stops
    /// speaking). Returns what to send, in order: nothing if it already was so.
    pub fn set_muted(&mut self, idx: usize, muted: bool, by: Option<String>) -> Vec<Notice> {
        let p = &mut self.participants[idx];
        if p.muted == muted {
            return Vec::new();
        }
        p.muted = muted;
        let participant = p.id.clone();
        let mut notices = Vec::new();
        if muted {
            notices.extend(self.stop_speaking(idx).map(Notice::Presence));
        }
        notices.push(Notice::Event(Event::Muted { participant, muted, by }));
        notices
    }

    /// Participant `idx` mutes or unmutes itself (a muted one stops speaking). Returns what to
    /// send, in order: nothing if it already was so.
    pub fn set_self_muted(&mut self, idx: usize, muted: bool) -> Vec<Notice> {
        let p = &mut self.participants[idx];
        if p.self_muted == muted {
            return Vec::new();
        }
        p.self_muted = muted;
        let participant = p.id.clone();
        let mut notices = Vec::new();
        if muted {
            notices.extend(self.stop_speaking(idx).map(Notice::Presence));
        }
        notices.push(Notice::Event(Event::SelfMuted { participant, muted }));
        notices
    }

    /// Participant `idx` stops speaking: the presence to announce, or None if it was silent.
    pub fn stop_speaking(&mut self, idx: usize) -> Option<Presence> {
        let p = &mut self.participants[idx];
        p.speaking.reset().then(|| Presence::Speaking { participant: p.id.clone(), speaking: false })
    }

    /// What someone who has seen events up to `seq` is missing: the events after it, or a
    /// snapshot when the log no longer holds them all.
    pub fn events_since(&self, seq: u64, our_node: &str) -> EventsSince {
        match self.log.since(seq) {
            Since::Missed(events) => EventsSince::Missed { events },
            Since::SnapshotNeeded => EventsSince::SnapshotNeeded { snapshot: self.snapshot(our_node) },
        }
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.participants.iter().position(|p| p.id == id)
    }

    pub fn get(&self, id: &str) -> Result<&Participant, EngineError> {
        self.participants.iter().find(|p| p.id == id).ok_or(EngineError::new(ErrorCode::ParticipantNotFound))
    }

    pub fn index_of_stream(&self, stream: u16) -> Option<usize> {
        self.participants.iter().position(|p| p.stream == stream)
    }

    pub fn has_host(&self) -> bool {
        self.participants.iter().any(|p| p.role == Role::Host)
    }

    /// Next free stream id; 0 is never used so a zeroed header is recognisably unset.
    pub fn allocate_stream(&mut self) -> u16 {
        loop {
            self.next_stream = self.next_stream.wrapping_add(1);
            if self.next_stream == 0 {
                continue;
            }
            let candidate = self.next_stream;
            if self.participants.iter().all(|p| p.stream != candidate) {
                return candidate;
            }
        }
    }

    /// Trimmed, length-capped, printable, unique (case-insensitively) in the room.
    pub fn check_name(&self, raw: &str, max_chars: usize, except: Option<&str>) -> Result<String, EngineError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > max_chars || !crate::text::name_ok(name) {
            return Err(EngineError::with(ErrorCode::InvalidName, format!("display name must be 1 to {max_chars} characters")));
        }
        let lower = name.to_lowercase();
        if self.participants.iter().any(|p| Some(p.id.as_str()) != except && p.name.to_lowercase() == lower) {
            return Err(EngineError::new(ErrorCode::NameTaken));
        }
        Ok(name.to_string())
    }

    pub fn snapshot(&self, host: &str) -> Snapshot {
        Snapshot {
            room: self.id.clone(),
            host: host.to_string(),
            settings: self.settings.clone(),
            participants: self.participants.iter().map(Participant::info).collect(),
            hands: self.hands.clone(),
            chat: self.chat.iter().cloned().collect(),
            seq: self.log.last_seq(),
        }
    }

    /// Peer nodes with at least one participant in this room.
    pub fn peer_nodes(&self) -> Vec<String> {
        let mut nodes: Vec<String> = Vec::new();
        for p in &self.participants {
            if let Location::Remote(n) = &p.location {
                if !nodes.contains(n) {
                    nodes.push(n.clone());
                }
            }
        }
        nodes
    }

    /// Connected local connections of the room.
    pub fn local_conns(&self) -> Vec<ConnId> {
        self.participants
            .iter()
            .filter(|p| p.connected)
            .filter_map(|p| match p.location {
                Location::Local(c) => Some(c),
                Location::Remote(_) => None,
            })
            .collect()
    }

    /// Remembers participant `idx`'s role for its identity (not for guests), forgetting the
    /// oldest role of an identity not in the room past [`MAX_REMEMBERED_ROLES`].
    pub fn record_role(&mut self, idx: usize) {
        let p = &self.participants[idx];
        if p.guest {
            return;
        }
        let identity = p.identity.clone();
        self.roles.insert(identity.clone(), p.role);
        self.access.role_clock += 1;
        self.access.role_order.insert(identity, self.access.role_clock);
        self.evict_roles();
    }

    /// Past [`MAX_REMEMBERED_ROLES`], forgets the roles recorded longest ago of identities with
    /// no participant in the room (roles restored from saved state count as oldest).
    fn evict_roles(&mut self) {
        while self.roles.len() > MAX_REMEMBERED_ROLES {
            let order = &self.access.role_order;
            let oldest = self
                .roles
                .keys()
                .filter(|who| !self.participants.iter().any(|p| !p.guest && &p.identity == *who))
                .min_by_key(|who| order.get(*who).copied().unwrap_or(0))
                .cloned();
            match oldest {
                Some(who) => self.forget_role(&who),
                None => break,
            }
        }
    }
}

/// What a room transition asks to be sent to the room, in order: a logged event or a presence
/// update.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Event(Event),
    Presence(Presence),
}

/// Why a participant leaves the room: it left or was removed (an event says so), or it was a
/// ghost (a disconnected participant that never came back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    Left(LeaveReason),
    Ghost,
}

/// What a client or node that has seen a room's events up to some seq is missing (also the
/// answer of the owner's `events_since`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventsSince {
    Missed { events: Vec<LoggedEvent> },
    SnapshotNeeded { snapshot: Snapshot },
}

impl EventsSince {
    /// The same as the messages a client gets: one per missed event, or one snapshot.
    pub fn into_server_msgs(self, room: &str) -> Vec<ServerMsg> {
        match self {
            EventsSince::Missed { events } => {
                events.into_iter().map(|e| ServerMsg::Event { room: room.to_string(), seq: e.seq, event: e.event }).collect()
            }
            EventsSince::SnapshotNeeded { snapshot } => {
                vec![ServerMsg::Snapshot { room: room.to_string(), seq: snapshot.seq, snapshot }]
            }
        }
    }
}
