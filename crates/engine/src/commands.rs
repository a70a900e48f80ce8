//! Room commands shared by the three ways in: local sockets, peer nodes, the owner's HTTP API.
//! Each checks permission and input first and changes nothing when it refuses.

use crate::effects::Effects;
use crate::engine::{Engine, Membership};
use crate::io::ConnKind;
use crate::timers::Timer;
use crate::error::{EngineError, ErrorCode};
use crate::peer_wire::PeerMsg;
use crate::protocol::{
    ClientMsg, E2eeAnnounce, Event, HandReason, LeaveReason, LoggedEvent, Resume, ServerMsg, Welcome,
};
use crate::roles::{may_assign, permits, Action, Authority, Role};
pub(crate) use crate::room::JoinRequest;
use crate::room::{EventsSince, Location, Participant, Removal, Room};
use crate::ConnId;

const OWNER_RANK: u8 = 4;

pub(crate) struct JoinOutcome {
    pub welcome: Welcome,
    /// Events after the resumer's `last_seq`, to send right after the welcome.
    pub replay: Vec<LoggedEvent>,
    /// A connection that held this participant before the resume and must be let go.
    pub replaced_conn: Option<ConnId>,
    /// On a resume: the newest `e2ee_key` delivered to the participant, to send after the replay.
    pub e2ee_key: Option<ServerMsg>,
}

fn rank_of(room: &Room, who: Authority) -> Result<(u8, Option<usize>), EngineError> {
    match who {
        Authority::Owner => Ok((OWNER_RANK, None)),
        Authority::Participant(pid) => {
            let idx = room.index_of(pid).ok_or(EngineError::new(ErrorCode::NotJoined))?;
            Ok((room.participants[idx].role.rank(), Some(idx)))
        }
    }
}

fn role_of_rank(rank: u8) -> Role {
    match rank {
        0 => Role::Viewer,
        1 => Role::Speaker,
        2 => Role::Moderator,
        _ => Role::Host,
    }
}

fn require(rank: u8, action: Action) -> Result<(), EngineError> {
    let ok = if rank == OWNER_RANK {
        !matches!(action, Action::Speak | Action::RaiseHand | Action::Chat)
    } else {
        permits(role_of_rank(rank), action)
    };
    if ok {
        Ok(())
    } else {
        Err(EngineError::new(ErrorCode::Forbidden))
    }
}

/// The target of a moderation action: must exist, not be the actor, rank below the actor.
fn target(room: &Room, rank: u8, actor: Option<usize>, pid: &str) -> Result<usize, EngineError> {
    let idx = room.index_of(pid).ok_or(EngineError::new(ErrorCode::ParticipantNotFound))?;
    if Some(idx) == actor {
        return Err(EngineError::with(ErrorCode::Forbidden, "not on yourself"));
    }
    if room.participants[idx].role.rank() >= rank {
        return Err(EngineError::with(ErrorCode::Forbidden, "only on participants ranked below you"));
    }
    Ok(idx)
}

fn actor_id(room: &Room, actor: Option<usize>) -> Option<String> {
    actor.map(|i| room.participants[i].id.clone())
}

impl Engine {
    /// Every in-room command but join, ping and sync.
    pub(crate) fn room_command(&mut self, now: u64, room_id: &str, who: Authority, msg: ClientMsg) -> Result<(), EngineError> {
        let max_chat = self.cfg.max_chat_chars;
        let chat_history = self.cfg.chat_history;
        let typing_ttl = self.cfg.typing_ttl_ms;
        let max_participants = self.cfg.max_participants;
        let our_node = self.our_node.clone();
        // Fresh ids for the commands that need one, drawn before the room is borrowed.
        let fresh = matches!(msg, ClientMsg::Ban { .. } | ClientMsg::RotateInvite {}).then(|| self.fresh_id());
        let room = self.rooms.get_mut(room_id).ok_or(EngineError::new(ErrorCode::RoomNotFound))?;
        let (rank, actor) = rank_of(room, who)?;
        let by = actor_id(room, actor);
        let me = |actor: Option<usize>| actor.ok_or(EngineError::with(ErrorCode::Forbidden, "only participants can do that"));
        let out = &mut self.out;
        let accept = matches!(msg, ClientMsg::AcceptHand { .. });
        let mute = matches!(msg, ClientMsg::Mute { .. });
        match msg {
            ClientMsg::Join { .. } => return Err(EngineError::new(ErrorCode::AlreadyJoined)),
            // Subscriptions are kept at the socket's own node (a peer forwarding one changes nothing here).
            ClientMsg::Ping { .. } | ClientMsg::Sync { .. } | ClientMsg::Subscribe { .. } | ClientMsg::Unsubscribe { .. } => {}
            ClientMsg::Leave {} => {
                let i = me(actor)?;
                let pid = room.participants[i].id.clone();
                self.remove_participant(now, room_id, &pid, Removal::Left(LeaveReason::Left));
            }
            ClientMsg::Chat { text } => {
                require(rank, Action::Chat)?;
                let i = me(actor)?;
                let text = text.trim();
                let chars = text.chars().count();
                if chars == 0 || chars > max_chat || !crate::text::chat_ok(text) {
                    return Err(EngineError::with(ErrorCode::InvalidChat, format!("chat messages are 1 to {max_chat} characters")));
                }
                crate::e2ee::check_chat(room.settings.e2ee, text)?;
                let notices = room.post_chat(i, text, chat_history, now);
                out.publish(room, now, notices);
            }
            ClientMsg::Typing {} => {
                let i = me(actor)?;
                let started = room.typing(i, now + typing_ttl);
                self.timers.arm(Timer::Indicators, now + typing_ttl);
                if let Some(started) = started {
                    out.announce(room, now, started);
                }
            }
            ClientMsg::RaiseHand {} => {
                require(rank, Action::RaiseHand)?;
                let i = me(actor)?;
                if let Some(raised) = room.raise_hand(i) {
                    out.emit(room, now, raised);
                }
            }
            ClientMsg::LowerHand {} => {
                let i = me(actor)?;
                let pid = room.participants[i].id.clone();
                let lowered = room.lower_hand(&pid, HandReason::Lowered)?;
                out.emit(room, now, lowered);
            }
            ClientMsg::AcceptHand { participant } | ClientMsg::DismissHand { participant } => {
                require(rank, Action::ManageHands)?;
                let idx = room.index_of(&participant).ok_or(EngineError::new(ErrorCode::ParticipantNotFound))?;
                let reason = if accept { HandReason::Accepted } else { HandReason::Dismissed };
                let lowered = room.lower_hand(&participant, reason)?;
                out.emit(room, now, lowered);
                if accept && room.participants[idx].role == Role::Viewer {
                    let changed = room.assign_role(idx, Role::Speaker, by);
                    out.emit(room, now, changed);
                }
            }
            ClientMsg::SetRole { participant, role } => {
                require(rank, Action::SetRole)?;
                let idx = room.index_of(&participant).ok_or(EngineError::new(ErrorCode::ParticipantNotFound))?;
                if Some(idx) == actor {
                    return Err(EngineError::with(ErrorCode::Forbidden, "not on yourself"));
                }
                let current = room.participants[idx].role;
                let allowed = rank == OWNER_RANK || may_assign(role_of_rank(rank), current, role);
                if !allowed {
                    return Err(EngineError::new(ErrorCode::Forbidden));
                }
                if current == role {
                    return Ok(());
                }
                if role == Role::Host {
                    // One host at a time: the previous one steps down to moderator.
                    let hosts: Vec<usize> = (0..room.participants.len()).filter(|&i| room.participants[i].role == Role::Host).collect();
                    for h in hosts {
                        let stepped_down = room.assign_role(h, Role::Moderator, by.clone());
                        out.emit(room, now, stepped_down);
                    }
                }
                let notices = room.set_role(idx, role, by);
                out.publish(room, now, notices);
            }
            ClientMsg::Mute { participant } | ClientMsg::Unmute { participant } => {
                let muted = mute;
                require(rank, Action::MuteOthers)?;
                let idx = target(room, rank, actor, &participant)?;
                let notices = room.set_muted(idx, muted, by);
                out.publish(room, now, notices);
            }
            ClientMsg::MuteAll {} => {
                require(rank, Action::MuteAll)?;
                let targets: Vec<usize> = (0..room.participants.len())
                    .filter(|&i| Some(i) != actor && room.participants[i].role.rank() < rank && !room.participants[i].muted)
                    .collect();
                for i in targets {
                    let notices = room.set_muted(i, true, by.clone());
                    out.publish(room, now, notices);
                }
            }
            ClientMsg::SelfMute { muted } => {
                let i = me(actor)?;
                let notices = room.set_self_muted(i, muted);
                out.publish(room, now, notices);
            }
            ClientMsg::Kick { participant } => {
                require(rank, Action::Kick)?;
                target(room, rank, actor, &participant)?;
                self.remove_participant(now, room_id, &participant, Removal::Left(LeaveReason::Kicked));
            }
            ClientMsg::Ban { participant } => {
                require(rank, Action::Kick)?;
                let idx = target(room, rank, actor, &participant)?;
                let banned = &room.participants[idx];
                if !banned.guest && banned.identity == our_node {
                    return Err(EngineError::with(ErrorCode::Forbidden, "the node owner cannot be banned from its own rooms"));
                }
                // A node is banned with every participant it has in the room; each must rank
                // below the actor.
                let (guest, identity) = (banned.guest, banned.identity.clone());
                let gone: Vec<String> = if guest {
                    vec![participant.clone()]
                } else {
                    room.participants.iter().filter(|p| !p.guest && p.identity == identity).map(|p| p.id.clone()).collect()
                };
                for pid in &gone {
                    target(room, rank, actor, pid)?;
                }
                room.ban(idx, fresh.expect("drawn for ban"), now)?;
                self.out.mark_dirty();
                for pid in gone {
                    self.remove_participant(now, room_id, &pid, Removal::Left(LeaveReason::Banned));
                }
            }
            ClientMsg::ListBans {} => {
                require(rank, Action::Kick)?;
                let bans = ServerMsg::Bans { room: room_id.to_string(), bans: room.ban_list() };
                reply(out, room, actor, now, bans);
            }
            ClientMsg::Unban { ban_id } => {
                require(rank, Action::Kick)?;
                room.unban(&ban_id)?;
                out.mark_dirty();
            }
            ClientMsg::RotateInvite {} => {
                require(rank, Action::Kick)?;
                let invite = fresh.expect("drawn for rotate_invite");
                room.invite = invite.clone();
                out.mark_dirty();
                reply(out, room, actor, now, ServerMsg::Invite { room: room_id.to_string(), invite });
            }
            ClientMsg::UpdateSettings { settings } => {
                require(rank, Action::ChangeSettings)?;
                let updated = settings.applied_to(&room.settings, max_participants)?;
                if let Some(changed) = room.change_settings(updated) {
                    out.emit(room, now, changed);
                }
            }
            ClientMsg::CloseRoom {} => {
                require(rank, Action::CloseRoom)?;
                self.close_room_now(now, room_id, by);
            }
            ClientMsg::ClearChat {} => {
                require(rank, Action::ClearChat)?;
                let cleared = room.clear_chat(by);
                out.emit(room, now, cleared);
            }
            ClientMsg::E2eeHello { public_key, proof } => {
                let i = me(actor)?;
                crate::e2ee::check_hello(room.settings.e2ee, &public_key, &proof)?;
                let announce = E2eeAnnounce { public_key: public_key.clone(), proof: proof.clone() };
                if room.participants[i].e2ee.announce(announce) {
                    let participant = room.participants[i].id.clone();
                    out.emit(room, now, Event::KeyAnnounced { participant, public_key, proof });
                }
            }
            ClientMsg::E2eeKeys { epoch, keys } => {
                require(rank, Action::ShareKeys)?;
                let from = room.participants[me(actor)?].id.clone();
                crate::e2ee::check_keys(room.settings.e2ee, epoch, &keys, max_participants as usize, |to| room.index_of(to).is_some())?;
                for k in keys {
                    let idx = room.index_of(&k.to).expect("checked above");
                    let msg = ServerMsg::E2eeKey { room: room_id.to_string(), epoch, from: from.clone(), wrapped: k.wrapped };
                    room.participants[idx].e2ee.last_key = Some(msg.clone());
                    // One that is reconnecting gets it after its resume's welcome.
                    if room.participants[idx].connected {
                        reply(out, room, Some(idx), now, msg);
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn close_room_now(&mut self, now: u64, room_id: &str, by: Option<String>) {
        let Some(mut room) = self.rooms.remove(room_id) else { return };
        self.out.emit(&mut room, now, Event::Closed { by });
        for p in &room.participants {
            if let Location::Local(conn) = p.location {
                self.leave_local_membership(conn, room_id, None);
            }
        }
        self.out.mark_dirty();
    }

    /// Removes a participant (announcing it first so it hears it too) and hands the room over
    /// when the host goes.
    pub(crate) fn remove_participant(&mut self, now: u64, room_id: &str, pid: &str, how: Removal) {
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let Some(idx) = room.index_of(pid) else { return };
        let event = match how {
            Removal::Left(reason) => Event::Left { participant: pid.to_string(), reason },
            Removal::Ghost => Event::GhostRemoved { participant: pid.to_string() },
        };
        self.out.emit(room, now, event);
        let gone = room.take_out(idx);
        // Removed by a moderator or the owner: its role is not remembered (it needs the
        // invite again, or, banned, cannot come back at all).
        let removed = matches!(how, Removal::Left(LeaveReason::Kicked | LeaveReason::Banned));
        if removed && !gone.guest && gone.identity != self.our_node {
            room.forget_role(&gone.identity);
        }
        if gone.role == Role::Host && !room.has_host() {
            hand_over(&mut self.out, room, now, &gone, removed);
        }
        if let Location::Local(conn) = gone.location {
            if self.leave_local_membership(conn, room_id, Some(gone.stream)) {
                let close = matches!(how, Removal::Left(LeaveReason::Kicked | LeaveReason::Banned) | Removal::Ghost);
                if close {
                    self.out.close(conn);
                }
            }
        }
    }

    /// Joins (or resumes) a participant in a room hosted here.
    pub(crate) fn host_join(&mut self, now: u64, room_id: &str, req: JoinRequest) -> Result<JoinOutcome, EngineError> {
        let max_name = self.cfg.max_name_chars;
        let our_node = self.our_node.clone();
        let Some(room) = self.rooms.get(room_id) else {
            return Err(EngineError::new(ErrorCode::RoomNotFound));
        };
        if room.is_banned(&req) {
            return Err(EngineError::new(ErrorCode::Banned));
        }
        if let Some(resume) = &req.resume {
            if let Some(outcome) = self.try_resume(now, room_id, &req, resume) {
                return Ok(outcome);
            }
        }
        self.join_gate(now, room_id, &req)?;
        let participant_id = self.fresh_id();
        let resume_token = self.fresh_id();
        let room = self.rooms.get_mut(room_id).expect("checked above");
        let participant = room.newcomer(&req, &our_node, max_name, participant_id.clone(), resume_token.clone(), now)?;
        let (stream, role) = (participant.stream, participant.role);
        // Announce before adding, so the newcomer gets it in its welcome snapshot only.
        self.out.emit(room, now, Event::Joined { participant: participant.info() });
        room.admit(participant);
        let snapshot = room.snapshot(&our_node);
        Ok(JoinOutcome {
            welcome: Welcome {
                room: room_id.to_string(),
                host: our_node,
                participant: participant_id,
                stream,
                role,
                resume_token,
                resumed: false,
                seq: snapshot.seq,
                snapshot: Some(snapshot),
            },
            replay: Vec::new(),
            replaced_conn: None,
            e2ee_key: None,
        })
    }

    fn try_resume(&mut self, now: u64, room_id: &str, req: &JoinRequest, resume: &Resume) -> Option<JoinOutcome> {
        let our_node = self.our_node.clone();
        let room = self.rooms.get_mut(room_id)?;
        let idx = room.resumable(req, &resume.token)?;
        let p = &room.participants[idx];
        let replaced_conn = match p.location {
            Location::Local(old) if p.connected && Some(old) != local_conn(&req.location) => Some(old),
            _ => None,
        };
        let pid = p.id.clone();
        reconnect(&mut self.out, room, idx, now, req.location.clone());
        let p = &room.participants[idx];
        let (stream, role, token) = (p.stream, p.role, p.resume_token.clone());
        let e2ee_key = p.e2ee.last_key.clone();
        let (snapshot, replay, seq) = match room.events_since(resume.last_seq, &our_node) {
            EventsSince::Missed { events } => (None, events, resume.last_seq),
            EventsSince::SnapshotNeeded { snapshot } => {
                let seq = snapshot.seq;
                (Some(snapshot), Vec::new(), seq)
            }
        };
        Some(JoinOutcome {
            welcome: Welcome {
                room: room_id.to_string(),
                host: our_node,
                participant: pid,
                stream,
                role,
                resume_token: token,
                resumed: true,
                seq,
                snapshot,
            },
            replay,
            replaced_conn,
            e2ee_key,
        })
    }

    /// `join` from a socket of this node for a room hosted here.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn join_local(
        &mut self,
        now: u64,
        conn: ConnId,
        kind: ConnKind,
        room: String,
        name: String,
        invite: Option<String>,
        resume: Option<Resume>,
    ) -> Result<(), EngineError> {
        let identity = match kind {
            ConnKind::Owner => Some(self.our_node.clone()),
            ConnKind::Guest => None,
        };
        let req = JoinRequest { name, invite, resume, identity, node: self.our_node.clone(), location: Location::Local(conn) };
        let outcome = self.host_join(now, &room, req)?;
        if let Some(old) = outcome.replaced_conn {
            self.set_membership(old, None);
            self.out.close(old);
        }
        self.set_membership(conn, Some(Membership::Local { room: room.clone(), stream: outcome.welcome.stream }));
        self.out.send_one(conn, ServerMsg::Welcome(outcome.welcome));
        for e in outcome.replay {
            self.out.send_one(conn, ServerMsg::Event { room: room.clone(), seq: e.seq, event: e.event });
        }
        if let Some(key) = outcome.e2ee_key {
            self.out.send_one(conn, key);
        }
        Ok(())
    }
}

fn local_conn(location: &Location) -> Option<ConnId> {
    match location {
        Location::Local(c) => Some(*c),
        Location::Remote(_) => None,
    }
}

/// Participant `idx` is back, at `location`. `Reconnected` is emitted first, while it still
/// counts as disconnected, so its new socket gets the event in its replay and not twice.
pub(crate) fn reconnect(out: &mut Effects, room: &mut Room, idx: usize, now: u64, location: Location) {
    if !room.participants[idx].connected {
        let participant = room.participants[idx].id.clone();
        out.emit(room, now, Event::Reconnected { participant });
    }
    room.mark_connected(idx, location, now);
}

/// Sends `msg` to the participant `actor` only (the owner over HTTP gets its answer from the
/// API call): to its socket or polling session here, or through its node.
fn reply(out: &mut Effects, room: &Room, actor: Option<usize>, now: u64, msg: ServerMsg) {
    let Some(p) = actor.map(|i| &room.participants[i]) else { return };
    match &p.location {
        Location::Local(conn) => out.send_one(*conn, msg),
        Location::Remote(node) => {
            if out.reachable(node) {
                out.send_peer(node, now, PeerMsg::Direct { room: room.id.clone(), participant: p.id.clone(), msg });
            }
        }
    }
}

/// The host left: a moderator takes over, else the longest-present speaker. A host that left
/// on its own (or timed out) is remembered as Moderator; one that was `removed` (kicked or
/// banned) is not remembered at all.
fn hand_over(out: &mut Effects, room: &mut Room, now: u64, gone: &Participant, removed: bool) {
    let successor = room
        .participants
        .iter()
        .position(|p| p.role == Role::Moderator)
        .or_else(|| room.participants.iter().position(|p| p.role == Role::Speaker));
    if !gone.guest && !removed {
        room.roles.insert(gone.identity.clone(), Role::Moderator);
    }
    if let Some(idx) = successor {
        let notices = room.set_role(idx, Role::Host, None);
        out.publish(room, now, notices);
    }
}
