//! Rooms across nodes. The hosting node is authoritative; a user's own node proxies its
//! socket: it forwards the user's join and control messages, fans the host's events and audio
//! out to its local users, and keeps a mirror of the room (for speak permission and gaps).

use crate::commands::{reconnect, JoinRequest};
use crate::roles::Authority;
use crate::engine::{Engine, HeldCommands, Membership, ProxyMember, ProxyRoom};
use crate::timers::Timer;
use crate::error::{EngineError, ErrorCode};
use crate::loudest::LoudestSet;
use crate::peer_wire::{PeerEnvelope, PeerMsg, PeerRefusal, MAX_PEER_MESSAGE_BYTES};
use crate::protocol::{ClientMsg, Event, LeaveReason, LoggedEvent, Resume, ServerMsg, PROTOCOL_VERSION};
use crate::room::{EventsSince, Location};
use crate::ConnId;

impl Engine {
    // ------------------------------------------------------------------ proxy side (user's node)

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn proxy_join(
        &mut self,
        now: u64,
        conn: ConnId,
        host: String,
        room: String,
        name: String,
        invite: Option<String>,
        resume: Option<Resume>,
    ) -> Result<(), EngineError> {
        if !self.out.reachable(&host) {
            return Err(EngineError::new(ErrorCode::HostUnreachable));
        }
        let max_rooms = self.cfg.max_rooms;
        let known = self.proxies.get(&host).is_some_and(|r| r.contains_key(&room));
        if !known && self.proxies.values().map(|r| r.len()).sum::<usize>() >= max_rooms {
            return Err(EngineError::new(ErrorCode::TooManyRooms));
        }
        self.next_join_ref += 1;
        let join_ref = self.next_join_ref;
        let proxy = self
            .proxies
            .entry(host.clone())
            .or_default()
            .entry(room.clone())
            .or_insert_with(|| ProxyRoom { mirror: None, members: Vec::new(), loudest: LoudestSet::with_capacity(16), sync_requested_at: None });
        proxy.members.push(ProxyMember {
            conn,
            join_ref,
            joined_ms: now,
            name: name.clone(),
            invite: invite.clone(),
            participant: None,
            stream: 0,
            resume_token: resume.as_ref().map(|r| r.token.clone()),
            previous: None,
            held: Vec::new(),
        });
        self.set_membership(conn, Some(Membership::Remote { host: host.clone(), room: room.clone() }));
        self.out.send_peer(&host, now, PeerMsg::Join { room, join_ref, name, invite, resume });
        Ok(())
    }

    pub(crate) fn proxy_control(
        &mut self,
        now: u64,
        conn: ConnId,
        host: &str,
        room: &str,
        msg: ClientMsg,
        reference: Option<String>,
    ) -> Result<(), EngineError> {
        let proxy = self.proxies.get_mut(host).and_then(|r| r.get_mut(room)).ok_or(EngineError::new(ErrorCode::NotJoined))?;
        let idx = proxy.members.iter().position(|m| m.conn == conn).ok_or(EngineError::new(ErrorCode::NotJoined))?;
        if !self.out.reachable(host) {
            return Err(EngineError::new(ErrorCode::HostUnreachable));
        }
        let member = &mut proxy.members[idx];
        let Some(participant) = member.participant.clone() else {
            // Joined before and being joined again after the host restarted: the command
            // goes out with the new welcome.
            if member.previous.is_some() {
                if matches!(msg, ClientMsg::Leave {}) {
                    self.proxy_let_go(host, room, conn);
                    return Ok(());
                }
                return hold(member, msg, reference);
            }
            return Err(EngineError::new(ErrorCode::NotJoined));
        };
        let leaving = matches!(msg, ClientMsg::Leave {});
        if leaving {
            self.proxy_let_go(host, room, conn);
        }
        self.out.send_peer(host, now, PeerMsg::Control { room: room.to_string(), participant, msg, reference });
        Ok(())
    }

    pub(crate) fn proxy_detach(&mut self, now: u64, host: &str, room: &str, conn: ConnId) {
        let Some(proxy) = self.proxies.get_mut(host).and_then(|r| r.get_mut(room)) else { return };
        let Some(idx) = proxy.members.iter().position(|m| m.conn == conn) else { return };
        let member = proxy.members.remove(idx);
        self.drop_empty_proxy(host, room);
        self.tell_audio_interest(host, room);
        if let Some(participant) = member.participant {
            if self.out.reachable(host) {
                self.out.send_peer(host, now, PeerMsg::Detach { room: room.to_string(), participant });
            }
        }
    }

    /// Takes local user `conn` out of the proxied room: its member entry (and the room's, when
    /// it was the last) and its connection's membership.
    fn proxy_let_go(&mut self, host: &str, room: &str, conn: ConnId) {
        if let Some(proxy) = self.proxies.get_mut(host).and_then(|r| r.get_mut(room)) {
            proxy.members.retain(|m| m.conn != conn);
        }
        self.drop_empty_proxy(host, room);
        self.set_membership(conn, None);
    }

    fn drop_empty_proxy(&mut self, host: &str, room: &str) {
        if let Some(rooms) = self.proxies.get_mut(host) {
            if rooms.get(room).is_some_and(|p| p.members.is_empty()) {
                rooms.remove(room);
            }
            if rooms.is_empty() {
                self.proxies.remove(host);
            }
        }
    }

    /// Local users of proxied rooms that went silent: leave for them and close their socket.
    /// Joins the host never answered: give up.
    pub(crate) fn proxy_sweep(&mut self, now: u64) {
        let timeout = self.cfg.presence_timeout_ms;
        let mut gone: Vec<(String, String, ConnId, Option<String>, HeldCommands)> = Vec::new();
        for (host, rooms) in self.proxies.iter_mut() {
            for (room, proxy) in rooms.iter_mut() {
                for m in proxy.members.iter_mut() {
                    let last = self.conns.get(&m.conn).map_or(0, |c| c.last_seen_ms);
                    let silent = now.saturating_sub(last) >= timeout;
                    let unanswered = m.participant.is_none() && now.saturating_sub(m.joined_ms) >= timeout;
                    if silent || unanswered {
                        gone.push((host.clone(), room.clone(), m.conn, m.participant.clone(), std::mem::take(&mut m.held)));
                    }
                }
            }
        }
        for (host, room, conn, participant, held) in gone {
            self.proxy_let_go(&host, &room, conn);
            match participant {
                Some(participant) => {
                    if self.out.reachable(&host) {
                        let msg = ClientMsg::Leave {};
                        self.out.send_peer(&host, now, PeerMsg::Control { room, participant, msg, reference: None });
                    }
                    self.out.close(conn);
                }
                None => {
                    let unreachable = EngineError::new(ErrorCode::HostUnreachable);
                    self.out.error(conn, &unreachable, None);
                    answer_held(&mut self.out, conn, held, &unreachable);
                }
            }
        }
    }

    /// The host did not know the participant a command of ours named. Sent under a user's
    /// id from before the host restarted, it goes again under the new one (or waits for the
    /// new welcome); under the current id the participant is really gone: `not_member`.
    fn proxy_bounced(&mut self, now: u64, host: &str, room: &str, participant: &str, msg: ClientMsg, reference: Option<String>) {
        let Some(proxy) = self.proxies.get_mut(host).and_then(|r| r.get_mut(room)) else { return };
        if let Some(m) = proxy.members.iter_mut().find(|m| m.previous.as_deref() == Some(participant)) {
            match m.participant.clone() {
                Some(current) => {
                    let room = room.to_string();
                    self.out.send_peer(host, now, PeerMsg::Control { room, participant: current, msg, reference });
                }
                None => {
                    let conn = m.conn;
                    if let Err(error) = hold(m, msg, reference.clone()) {
                        self.out.error(conn, &error, reference);
                    }
                }
            }
        } else if let Some(m) = proxy.members.iter().find(|m| m.participant.as_deref() == Some(participant)) {
            self.out.error(m.conn, &EngineError::new(ErrorCode::NotMember), reference);
        }
    }

    /// Sync requests unanswered for a heartbeat interval are sent again (once the mirror has
    /// moved past the gap, nothing is pending).
    pub(crate) fn retry_syncs(&mut self, now: u64) {
        let retry_ms = self.cfg.peer_heartbeat_ms;
        let mut again: Vec<(String, String, u64)> = Vec::new();
        for (host, rooms) in self.proxies.iter_mut() {
            for (room, proxy) in rooms.iter_mut() {
                let Some((seq, at)) = proxy.sync_requested_at else { continue };
                if proxy.mirror.as_ref().is_none_or(|m| m.seq != seq) {
                    proxy.sync_requested_at = None;
                } else if now.saturating_sub(at) >= retry_ms {
                    proxy.sync_requested_at = Some((seq, now));
                    again.push((host.clone(), room.clone(), seq));
                    self.timers.arm(Timer::SyncRetry, now + retry_ms);
                } else {
                    self.timers.arm(Timer::SyncRetry, at + retry_ms);
                }
            }
        }
        for (host, room, last_seq) in again {
            if self.out.reachable(&host) {
                self.out.send_peer(&host, now, PeerMsg::Sync { room, last_seq });
            }
        }
    }

    fn proxy_conns(&self, host: &str, room: &str) -> Vec<ConnId> {
        self.proxies
            .get(host)
            .and_then(|r| r.get(room))
            .map(|p| p.members.iter().filter(|m| m.participant.is_some()).map(|m| m.conn).collect())
            .unwrap_or_default()
    }

    /// Re-joins a local user whose participant the host no longer has (host restarted, or
    /// the participant timed out while the host was unreachable).
    fn proxy_rejoin(&mut self, now: u64, host: &str, room: &str, conn: ConnId) {
        self.next_join_ref += 1;
        let join_ref = self.next_join_ref;
        let Some(proxy) = self.proxies.get_mut(host).and_then(|r| r.get_mut(room)) else { return };
        let Some(m) = proxy.members.iter_mut().find(|m| m.conn == conn) else { return };
        let resume = m.resume_token.clone().map(|token| Resume { token, last_seq: 0 });
        if let Some(old) = m.participant.take() {
            m.previous = Some(old);
        }
        m.join_ref = join_ref;
        m.joined_ms = now;
        let (name, invite) = (m.name.clone(), m.invite.clone());
        self.out.send_peer(host, now, PeerMsg::Join { room: room.to_string(), join_ref, name, invite, resume });
    }

    /// Applies a host event to the mirror and fans it out. False: gap, sync requested.
    fn proxy_event(&mut self, now: u64, host: &str, room: &str, logged: LoggedEvent) -> bool {
        let Some(proxy) = self.proxies.get_mut(host).and_then(|r| r.get_mut(room)) else { return true };
        let Some(mirror) = proxy.mirror.as_mut() else { return true };
        if logged.seq <= mirror.seq {
            return true;
        }
        if !mirror.apply(&logged) {
            let last_seq = mirror.seq;
            let retry_ms = self.cfg.peer_heartbeat_ms;
            if matches!(proxy.sync_requested_at, Some((seq, at)) if seq == last_seq && now.saturating_sub(at) < retry_ms) {
                return false;
            }
            proxy.sync_requested_at = Some((last_seq, now));
            self.timers.arm(Timer::SyncRetry, now + retry_ms);
            self.out.send_peer(host, now, PeerMsg::Sync { room: room.to_string(), last_seq });
            return false;
        }
        // The host keeps a bounded history; so does the mirror.
        let excess = mirror.chat.len().saturating_sub(self.cfg.chat_history);
        mirror.chat.drain(..excess);
        let conns = self.proxy_conns(host, room);
        let topic = crate::subscribers::event_topic(room, &logged.event);
        self.out.send_topic(conns, &topic, ServerMsg::Event { room: room.to_string(), seq: logged.seq, event: logged.event.clone() });
        match &logged.event {
            Event::Left { participant, reason } => {
                let close = matches!(reason, LeaveReason::Kicked | LeaveReason::Banned);
                self.proxy_forget(host, room, participant, close);
            }
            Event::GhostRemoved { participant } => {
                // Our user is still here (else it would have left): join it again.
                if let Some(conn) = self.proxy_member_conn(host, room, participant) {
                    self.proxy_rejoin(now, host, room, conn);
                }
            }
            Event::Closed { .. } => {
                let conns: Vec<ConnId> = self
                    .proxies
                    .get(host)
                    .and_then(|r| r.get(room))
                    .map(|p| p.members.iter().map(|m| m.conn).collect())
                    .unwrap_or_default();
                for conn in conns {
                    self.set_membership(conn, None);
                }
                if let Some(rooms) = self.proxies.get_mut(host) {
                    rooms.remove(room);
                }
                self.drop_empty_proxy(host, room);
                self.tell_audio_interest(host, room);
            }
            _ => {}
        }
        true
    }

    fn proxy_member_conn(&self, host: &str, room: &str, participant: &str) -> Option<ConnId> {
        let proxy = self.proxies.get(host)?.get(room)?;
        proxy.members.iter().find(|m| m.participant.as_deref() == Some(participant)).map(|m| m.conn)
    }

    fn proxy_forget(&mut self, host: &str, room: &str, participant: &str, close: bool) {
        let Some(conn) = self.proxy_member_conn(host, room, participant) else { return };
        self.proxy_let_go(host, room, conn);
        if close {
            self.out.close(conn);
        }
    }

    // ------------------------------------------------------------------ both sides

    /// A control message from the voice-chat process on `from_node` (the runtime's source
    /// node, which it authenticates). Refused messages change nothing.
    pub(crate) fn peer_control_input(&mut self, now_ms: u64, from_node: &str, bytes: &[u8]) -> Result<(), PeerRefusal> {
        self.out.metrics.peer_messages_in += 1;
        let result = self.peer_message(now_ms, from_node, bytes);
        if result.is_err() {
            self.out.metrics.peer_messages_refused += 1;
        }
        result
    }

    fn peer_message(&mut self, now: u64, from: &str, bytes: &[u8]) -> Result<(), PeerRefusal> {
        self.peer_rate_gate(now, from)?;
        if bytes.len() > MAX_PEER_MESSAGE_BYTES {
            return Err(PeerRefusal::TooLarge);
        }
        let envelope = PeerEnvelope::from_bytes(bytes).map_err(|e| PeerRefusal::Malformed(e.to_string()))?;
        if envelope.v != PROTOCOL_VERSION {
            return Err(PeerRefusal::UnsupportedVersion(envelope.v));
        }
        let link = self.link_for_envelope(now, from)?;
        let restarted = link.in_session.as_ref().is_some_and(|s| *s != envelope.session);
        if restarted || link.in_session.is_none() {
            link.in_session = Some(envelope.session.clone());
            link.in_seen = Default::default();
        }
        if !link.in_seen.first_time(envelope.seq) {
            return Err(PeerRefusal::Duplicate);
        }
        let came_back = !link.reachable;
        link.reachable = true;
        if restarted {
            self.peer_restarted(now, from);
        } else if came_back {
            self.peer_came_back(now, from);
        }
        self.dispatch_peer(now, from, envelope.msg);
        Ok(())
    }

    fn dispatch_peer(&mut self, now: u64, from: &str, msg: PeerMsg) {
        match msg {
            PeerMsg::Heartbeat { rooms } => {
                for held in rooms {
                    let Some(room) = self.rooms.get_mut(&held.room) else { continue };
                    for p in room.participants.iter_mut() {
                        if p.is_remote_of(from) && held.participants.contains(&p.id) {
                            p.seen(now);
                        }
                    }
                }
                self.out.send_peer(from, now, PeerMsg::HeartbeatAck {});
            }
            PeerMsg::HeartbeatAck {} => {}
            PeerMsg::AudioInterest { room, interest, version } => {
                let _ = self.heed_audio_interest(from, &room, interest, version);
            }
            PeerMsg::Join { room, join_ref, name, invite, resume } => {
                let req = JoinRequest {
                    name,
                    invite,
                    resume,
                    identity: Some(from.to_string()),
                    node: from.to_string(),
                    location: Location::Remote(from.to_string()),
                };
                match self.host_join(now, &room, req) {
                    Ok(outcome) => {
                        // The node answers `joined` by telling its interest again if it is
                        // not "all" (`audio_interest_after_joined`).
                        let link = self.out.peers.link(from, now);
                        link.interests.reset(&room);
                        let participant = outcome.welcome.participant.clone();
                        self.out.send_peer(from, now, PeerMsg::Joined { room: room.clone(), join_ref, welcome: outcome.welcome });
                        for e in outcome.replay {
                            let msg = ServerMsg::Event { room: room.clone(), seq: e.seq, event: e.event };
                            self.out.send_peer(from, now, PeerMsg::Direct { room: room.clone(), participant: participant.clone(), msg });
                        }
                        if let Some(msg) = outcome.e2ee_key {
                            self.out.send_peer(from, now, PeerMsg::Direct { room: room.clone(), participant, msg });
                        }
                    }
                    Err(error) => self.out.send_peer(from, now, PeerMsg::JoinRefused { room, join_ref, error }),
                }
            }
            PeerMsg::Control { room, participant, msg, reference } => {
                if self.unknown_sender(from, &room, &participant) {
                    self.out.metrics.control_errors += 1;
                    self.out.send_peer(from, now, PeerMsg::Bounced { room, participant, msg, reference });
                    return;
                }
                if let Err(err) = self.peer_control(now, from, &room, &participant, msg) {
                    self.out.metrics.control_errors += 1;
                    let msg = ServerMsg::error(&err, reference);
                    self.out.send_peer(from, now, PeerMsg::Direct { room, participant, msg });
                }
            }
            PeerMsg::Sync { room, last_seq } => self.peer_sync(now, from, &room, last_seq),
            PeerMsg::Detach { room, participant } => {
                let Some(r) = self.rooms.get_mut(&room) else { return };
                let Some(i) = r.index_of(&participant).filter(|&i| r.participants[i].is_remote_of(from)) else { return };
                if let Some(event) = r.mark_disconnected(i, now) {
                    self.out.emit(r, now, event);
                }
            }
            PeerMsg::Joined { room, join_ref, welcome } => {
                let Some(proxy) = self.proxies.get_mut(from).and_then(|r| r.get_mut(&room)) else {
                    self.leave_orphan(now, from, room, welcome.participant);
                    return;
                };
                let Some(m) = proxy.members.iter_mut().find(|m| m.join_ref == join_ref && m.participant.is_none()) else {
                    self.leave_orphan(now, from, room, welcome.participant);
                    return;
                };
                m.participant = Some(welcome.participant.clone());
                m.stream = welcome.stream;
                m.resume_token = Some(welcome.resume_token.clone());
                let conn = m.conn;
                let held = std::mem::take(&mut m.held);
                if let Some(s) = &welcome.snapshot {
                    if proxy.mirror.as_ref().is_none_or(|mirror| mirror.seq <= s.seq) {
                        proxy.mirror = Some(s.clone());
                    }
                }
                // A resume answered with a replay carries no snapshot; without a mirror (this
                // process restarted) we could not check our users' frames or apply events.
                let need_mirror = proxy.mirror.is_none();
                let participant = welcome.participant.clone();
                self.out.send_one(conn, ServerMsg::Welcome(welcome));
                for (msg, reference) in held {
                    self.out.send_peer(from, now, PeerMsg::Control { room: room.clone(), participant: participant.clone(), msg, reference });
                }
                if need_mirror {
                    self.out.send_peer(from, now, PeerMsg::Sync { room: room.clone(), last_seq: 0 });
                }
                self.audio_interest_after_joined(from, &room);
            }
            PeerMsg::JoinRefused { room, join_ref, error } => {
                let Some(proxy) = self.proxies.get_mut(from).and_then(|r| r.get_mut(&room)) else { return };
                let Some(idx) = proxy.members.iter().position(|m| m.join_ref == join_ref && m.participant.is_none()) else { return };
                let conn = proxy.members[idx].conn;
                let held = std::mem::take(&mut proxy.members[idx].held);
                self.proxy_let_go(from, &room, conn);
                self.out.error(conn, &error, None);
                answer_held(&mut self.out, conn, held, &error);
            }
            PeerMsg::Event { room, event } => {
                self.proxy_event(now, from, &room, event);
            }
            PeerMsg::Presence { room, event } => {
                let conns = self.proxy_conns(from, &room);
                let topic = crate::subscribers::presence_topic(&room, &event);
                self.out.send_topic(conns, &topic, ServerMsg::Presence { room: room.clone(), event });
            }
            PeerMsg::Snapshot { room, snapshot } => {
                let Some(proxy) = self.proxies.get_mut(from).and_then(|r| r.get_mut(&room)) else { return };
                proxy.mirror = Some(snapshot.clone());
                proxy.sync_requested_at = None;
                let missing: Vec<ConnId> = proxy
                    .members
                    .iter()
                    .filter(|m| m.participant.as_ref().is_some_and(|p| !snapshot.participants.iter().any(|i| &i.id == p)))
                    .map(|m| m.conn)
                    .collect();
                let conns = self.proxy_conns(from, &room);
                self.out.send(conns, ServerMsg::Snapshot { room: room.clone(), seq: snapshot.seq, snapshot });
                for conn in missing {
                    self.proxy_rejoin(now, from, &room, conn);
                }
            }
            PeerMsg::SyncRefused { room, error } => {
                // Proxy side: the host no longer has our users in the room. Banned: they are
                // told and let go. Else (removed as ghosts while we were away): join each
                // still-connected one again, which passes the join checks anew.
                let Some(proxy) = self.proxies.get(from).and_then(|r| r.get(&room)) else { return };
                let joined: Vec<ConnId> = proxy.members.iter().filter(|m| m.participant.is_some()).map(|m| m.conn).collect();
                for conn in joined {
                    if error.code == ErrorCode::Banned {
                        self.proxy_let_go(from, &room, conn);
                        self.out.error(conn, &error, None);
                    } else {
                        self.proxy_rejoin(now, from, &room, conn);
                    }
                }
            }
            PeerMsg::Bounced { room, participant, msg, reference } => self.proxy_bounced(now, from, &room, &participant, msg, reference),
            PeerMsg::Direct { room, participant, msg } => {
                if let Some(conn) = self.proxy_member_conn(from, &room, &participant) {
                    self.out.send_one(conn, msg);
                }
            }
        }
    }

    /// The host welcomed a user we no longer have: take it out again.
    fn leave_orphan(&mut self, now: u64, host: &str, room: String, participant: String) {
        self.out.send_peer(host, now, PeerMsg::Control { room, participant, msg: ClientMsg::Leave {}, reference: None });
    }

    /// Host side: a member node's mirror missed events. Only a node that holds participants
    /// in the room now (connected, or reconnecting after its outage) is answered with them;
    /// any other gets `sync_refused` (`banned` or `not_member`) and nothing of the room. A
    /// node whose users were removed as ghosts while it was away learns it that way and joins
    /// its still-connected users again, through the join checks (invite, bans).
    fn peer_sync(&mut self, now: u64, from: &str, room_id: &str, last_seq: u64) {
        let Some(room) = self.rooms.get(room_id) else { return };
        if !room.participants.iter().any(|p| p.is_remote_of(from)) {
            self.out.metrics.peer_messages_refused += 1;
            let code = if room.node_banned(from) { ErrorCode::Banned } else { ErrorCode::NotMember };
            self.out.send_peer(from, now, PeerMsg::SyncRefused { room: room_id.to_string(), error: EngineError::new(code) });
            return;
        }
        // `last_seq` 0: the node has no mirror of the room (its process restarted while its
        // users resumed): events alone cannot rebuild one, so it gets the room whole.
        let since = if last_seq == 0 {
            EventsSince::SnapshotNeeded { snapshot: room.snapshot(&self.our_node) }
        } else {
            room.events_since(last_seq, &self.our_node)
        };
        match since {
            EventsSince::Missed { events } => {
                for event in events {
                    self.out.send_peer(from, now, PeerMsg::Event { room: room_id.to_string(), event });
                }
            }
            EventsSince::SnapshotNeeded { snapshot } => {
                self.out.send_peer(from, now, PeerMsg::Snapshot { room: room_id.to_string(), snapshot });
            }
        }
    }

    /// A `control` from `from` naming a participant of a room hosted here that is not one of
    /// its own (and `from` is not banned there): answered `bounced`, not with an error.
    fn unknown_sender(&self, from: &str, room_id: &str, participant: &str) -> bool {
        self.rooms.get(room_id).is_some_and(|room| {
            !room.node_banned(from) && room.index_of(participant).is_none_or(|i| !room.participants[i].is_remote_of(from))
        })
    }

    /// Host side: one proxied participant's control message. A participant that is not
    /// `from`'s own was bounced before (`unknown_sender`) unless `from` is banned.
    fn peer_control(&mut self, now: u64, from: &str, room_id: &str, participant: &str, msg: ClientMsg) -> Result<(), EngineError> {
        let room = self.rooms.get_mut(room_id).ok_or(EngineError::new(ErrorCode::RoomNotFound))?;
        let idx = room
            .index_of(participant)
            .filter(|&i| room.participants[i].is_remote_of(from))
            .ok_or(EngineError::new(ErrorCode::Banned))?;
        room.participants[idx].seen(now);
        match msg {
            ClientMsg::Sync { last_seq } => {
                for msg in room.events_since(last_seq, &self.our_node).into_server_msgs(room_id) {
                    let participant = participant.to_string();
                    self.out.send_peer(from, now, PeerMsg::Direct { room: room_id.to_string(), participant, msg });
                }
                Ok(())
            }
            ClientMsg::Ping { .. } => Ok(()),
            other => self.room_command(now, room_id, Authority::Participant(participant), other),
        }
    }

    /// Every try to deliver `envelope` to `node` failed (offline or timeout): the peer is
    /// unreachable, and a user whose command the envelope carried is answered with
    /// `host_unreachable` (with its `ref`), so the command does not vanish without a word.
    pub(crate) fn peer_gave_up(&mut self, now_ms: u64, node: &str, envelope: &PeerEnvelope) {
        if let PeerMsg::Control { room, participant, reference, .. } = &envelope.msg {
            if let Some(conn) = self.proxy_member_conn(node, room, participant) {
                self.out.error(conn, &EngineError::new(ErrorCode::HostUnreachable), reference.clone());
            }
        }
        self.peer_unreachable(now_ms, node);
    }

    /// `node` did not answer any try of a control request.
    pub(crate) fn peer_unreachable(&mut self, now_ms: u64, node: &str) {
        self.out.metrics.peer_unreachable += 1;
        let link = self.out.peers.link(node, now_ms);
        if !link.reachable {
            return;
        }
        link.reachable = false;
        link.batch.clear();
        // Host side: its users are reconnecting until it is back or the timeout removes them.
        for room in self.rooms.values_mut() {
            let lost: Vec<usize> = (0..room.participants.len())
                .filter(|&i| room.participants[i].is_remote_of(node) && room.participants[i].connected)
                .collect();
            for i in lost {
                let event = room.mark_peer_lost(i, now_ms).expect("only connected ones are lost");
                self.out.emit(room, now_ms, event);
            }
        }
        // Proxy side: tell our users; joins in flight fail.
        let rooms: Vec<String> = self.proxies.get(node).map(|r| r.keys().cloned().collect()).unwrap_or_default();
        for room in rooms {
            let conns = self.proxy_conns(node, &room);
            self.out.send(conns, ServerMsg::HostStatus { room: room.clone(), reachable: false });
            let pending: Vec<(ConnId, HeldCommands)> = self
                .proxies
                .get_mut(node)
                .and_then(|r| r.get_mut(&room))
                .map(|p| p.members.iter_mut().filter(|m| m.participant.is_none()).map(|m| (m.conn, std::mem::take(&mut m.held))).collect())
                .unwrap_or_default();
            let unreachable = EngineError::new(ErrorCode::HostUnreachable);
            for (conn, held) in pending {
                self.proxy_let_go(node, &room, conn);
                self.out.error(conn, &unreachable, None);
                answer_held(&mut self.out, conn, held, &unreachable);
            }
            self.drop_empty_proxy(node, &room);
        }
    }

    /// A peer we had marked unreachable sent something again.
    fn peer_came_back(&mut self, now: u64, node: &str) {
        let room_ids: Vec<String> = self.rooms.keys().cloned().collect();
        for room_id in room_ids {
            let room = self.rooms.get_mut(&room_id).expect("listed");
            let back: Vec<usize> = (0..room.participants.len())
                .filter(|&i| room.participants[i].is_remote_of(node) && room.participants[i].peer_lost)
                .collect();
            // These events reach it with a seq gap (it missed what was logged meanwhile), so
            // it asks `sync` for exactly the missed ones.
            for i in back {
                let location = room.participants[i].location.clone();
                reconnect(&mut self.out, room, i, now, location);
            }
        }
        let rooms: Vec<(String, u64)> = self
            .proxies
            .get(node)
            .map(|r| r.iter().map(|(id, p)| (id.clone(), p.mirror.as_ref().map_or(0, |m| m.seq))).collect())
            .unwrap_or_default();
        for (room, last_seq) in rooms {
            let conns = self.proxy_conns(node, &room);
            self.out.send(conns, ServerMsg::HostStatus { room: room.clone(), reachable: true });
            self.out.send_peer(node, now, PeerMsg::Sync { room: room.clone(), last_seq });
            // Changes while it was unreachable were not told.
            self.tell_audio_interest(node, &room);
        }
    }

    /// A peer's engine restarted: whatever it held is gone.
    fn peer_restarted(&mut self, now: u64, node: &str) {
        // Its interests (and what we told its old process) are gone: every stream again.
        self.out.peers.link(node, now).interests.forget_all();
        // Host side: its users' sockets died with it; they may resume until the timeout.
        for room in self.rooms.values_mut() {
            let lost: Vec<usize> = (0..room.participants.len())
                .filter(|&i| room.participants[i].is_remote_of(node) && room.participants[i].connected)
                .collect();
            for i in lost {
                let event = room.mark_disconnected(i, now).expect("only connected ones are lost");
                self.out.emit(room, now, event);
            }
        }
        // Proxy side: the host lost our participants; join everyone again.
        let members: Vec<(String, ConnId)> = self
            .proxies
            .get(node)
            .map(|rooms| rooms.iter().flat_map(|(room, p)| p.members.iter().map(move |m| (room.clone(), m.conn))).collect())
            .unwrap_or_default();
        for (room, conn) in members {
            if let Some(p) = self.proxies.get_mut(node).and_then(|r| r.get_mut(&room)) {
                p.mirror = None;
            }
            self.proxy_rejoin(now, node, &room, conn);
        }
    }
}

/// Commands a user sends while its node joins it again after the host restarted; below the
/// host's per-participant control burst (20), so sending them all at once is not refused.
pub(crate) const MAX_HELD_COMMANDS: usize = 16;

fn hold(member: &mut ProxyMember, msg: ClientMsg, reference: Option<String>) -> Result<(), EngineError> {
    if member.held.len() >= MAX_HELD_COMMANDS {
        return Err(EngineError::new(ErrorCode::RateLimited));
    }
    member.held.push((msg, reference));
    Ok(())
}

/// Held commands whose user will not be joined again get the join's failure, each with its `ref`.
fn answer_held(out: &mut crate::effects::Effects, conn: ConnId, held: HeldCommands, error: &EngineError) {
    for (_, reference) in held {
        if reference.is_some() {
            out.error(conn, error, reference);
        }
    }
}
