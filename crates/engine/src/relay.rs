//! The audio hot path: no allocation per frame (recipient lists and peer batches are reused).
//! Which local sockets want a stream is resolved from their subscriptions beforehand
//! (`crate::subscribers`); per recipient the relay asks one allocation-free question.

use crate::audio::{decode_ack, decode_frame, next_batch_record, set_stream_id, BatchRecord, FrameHeader, KIND_ACK};
use crate::config::Config;
use crate::effects::Effects;
use crate::engine::{Conn, Engine, Membership};
use crate::peer_links::Appended;
use crate::limits::{RateLimit, TokenBucket};
use crate::metrics::{DropReason, Metrics};
use crate::protocol::Presence;
use crate::roles::Role;
use crate::room::{Location, Room};
use crate::speaking::SpeakingParams;
use crate::timers::{Timer, Timers};
use crate::ConnId;
use std::collections::BTreeMap;

/// Flow control: may one more frame go to this connection?
fn admit(conns: &mut BTreeMap<ConnId, Conn>, conn: ConnId, window: u32, metrics: &mut Metrics) -> bool {
    let Some(c) = conns.get_mut(&conn) else { return false };
    if c.pushed.wrapping_sub(c.acked) >= window {
        metrics.flow_control_skips += 1;
        return false;
    }
    c.pushed = c.pushed.wrapping_add(1);
    true
}

/// Mutable pieces of the engine the host-side relay needs, borrowed apart from `rooms`.
struct RelayCtx<'a> {
    cfg: &'a Config,
    conns: &'a mut BTreeMap<ConnId, Conn>,
    out: &'a mut Effects,
    timers: &'a mut Timers,
    scratch: &'a mut Vec<ConnId>,
    params: SpeakingParams,
    frame_id: u64,
}

/// Relays a frame of participant `sender` in a room hosted here, to local sockets and to the
/// peers of remote participants (never to `from_peer`, whose users already have it).
fn relay_in_room(
    ctx: &mut RelayCtx,
    room: &mut Room,
    sender: usize,
    header: &FrameHeader,
    frame: &mut [u8],
    now: u64,
    from_peer: Option<&str>,
) -> Result<usize, DropReason> {
    let p = &mut room.participants[sender];
    if p.role == Role::Viewer {
        return Err(DropReason::NotAllowed);
    }
    if p.muted || p.self_muted {
        return Err(DropReason::Muted);
    }
    set_stream_id(frame, p.stream);
    if let Some(last) = p.last_audio_seq {
        let step = header.sequence.wrapping_sub(last);
        if step > 1 && step < u32::MAX / 2 {
            ctx.out.metrics.sequence_gaps += 1;
        }
    }
    p.last_audio_seq = Some(header.sequence);
    if let Some(speaking) = p.speaking.on_frame(ctx.params, now, header.voice(), header.level) {
        if speaking {
            ctx.timers.arm(Timer::Indicators, now + ctx.params.hangover_ms);
        }
        let participant = p.id.clone();
        ctx.out.announce(room, now, Presence::Speaking { participant, speaking });
    }
    let stream = room.participants[sender].stream;
    if !room.loudest.admit(now, ctx.cfg.active_stream_ms, ctx.cfg.max_forwarded_speakers, stream, header.level) {
        return Err(DropReason::NotLoudest);
    }
    ctx.scratch.clear();
    let mut peer_copies = 0;
    for (i, q) in room.participants.iter().enumerate() {
        if i == sender || !q.connected {
            continue;
        }
        match &q.location {
            Location::Local(c) => {
                // Subscriptions first: a frame the socket does not want takes no window slot.
                if ctx.out.subs.wants_audio(*c, stream) && admit(ctx.conns, *c, ctx.cfg.flow_window_frames, &mut ctx.out.metrics) {
                    ctx.scratch.push(*c);
                }
            }
            Location::Remote(node) => {
                if from_peer == Some(node.as_str()) {
                    continue;
                }
                // The node's audio interest is checked here, once per (frame, node).
                match ctx.out.peers.append_audio(node, &room.id, stream, frame, ctx.frame_id) {
                    Appended::Yes => peer_copies += 1,
                    Appended::NotWanted => ctx.out.metrics.frames_not_wanted_by_peers += 1,
                    Appended::No => {}
                }
            }
        }
    }
    ctx.out.metrics.frames_out += ctx.scratch.len() as u64;
    ctx.out.metrics.frames_to_peers += peer_copies as u64;
    Ok(peer_copies)
}

impl Engine {
    /// The audio streams of the room `membership` is in, ascending: those of its participants
    /// (a room hosted here) or of the host's participants as mirrored (a proxied room). For a
    /// `subscribed` confirmation; not on the hot path.
    pub(crate) fn audio_streams_of(&self, membership: &Option<Membership>) -> Vec<u16> {
        let mut streams: Vec<u16> = match membership {
            None => Vec::new(),
            Some(Membership::Local { room, .. }) => {
                self.rooms.get(room).map(|r| r.participants.iter().map(|p| p.stream).collect()).unwrap_or_default()
            }
            Some(Membership::Remote { host, room }) => self
                .proxies
                .get(host)
                .and_then(|rooms| rooms.get(room))
                .and_then(|p| p.mirror.as_ref())
                .map(|m| m.participants.iter().map(|p| p.stream).collect())
                .unwrap_or_default(),
        };
        streams.sort_unstable();
        streams.dedup();
        streams
    }

    /// A binary message from a WebSocket: an audio frame (relayed: its stream id is
    /// rewritten in place, then it is queued for the local recipients and appended to the
    /// batches of peer nodes) or a receive acknowledgement.
    pub(crate) fn binary(&mut self, now_ms: u64, conn: ConnId, frame: &mut [u8]) -> Result<(), DropReason> {
        if frame.first() == Some(&KIND_ACK) {
            if !self.conns.contains_key(&conn) {
                return Err(DropReason::UnknownConnection);
            }
            let Ok(received) = decode_ack(frame) else {
                self.garbage(now_ms, conn);
                return Err(DropReason::Malformed);
            };
            let c = self.conns.get_mut(&conn).expect("checked above");
            c.seen(now_ms);
            // An ack ahead of what we pushed would open the window forever: clamp it.
            let ahead = received.wrapping_sub(c.pushed);
            c.acked = if ahead != 0 && ahead < u32::MAX / 2 { c.pushed } else { received };
            return Ok(());
        }
        match self.relay_audio(now_ms, conn, frame) {
            Ok(_) => {
                self.out.queue.binary(frame, &self.scratch_conns);
                Ok(())
            }
            Err(reason) => {
                self.out.metrics.count_drop(reason);
                if reason == DropReason::Malformed {
                    self.garbage(now_ms, conn);
                }
                Err(reason)
            }
        }
    }

    fn relay_audio(&mut self, now: u64, conn: ConnId, frame: &mut [u8]) -> Result<usize, DropReason> {
        self.out.metrics.frames_in += 1;
        self.frame_counter += 1;
        let params = self.speaking_params();
        let c = self.conns.get_mut(&conn).ok_or(DropReason::UnknownConnection)?;
        c.seen(now);
        if !c.audio_bucket.try_take(now) {
            return Err(DropReason::RateLimited);
        }
        let header = decode_frame(frame).map_err(|_| DropReason::Malformed)?;
        // Copy the membership into reused buffers so the connection map is free to borrow.
        let local_stream = match &c.membership {
            None => return Err(DropReason::NotMember),
            Some(Membership::Local { room, stream }) => {
                self.scratch_room.clear();
                self.scratch_room.push_str(room);
                Some(*stream)
            }
            Some(Membership::Remote { host, room }) => {
                self.scratch_room.clear();
                self.scratch_room.push_str(room);
                self.scratch_host.clear();
                self.scratch_host.push_str(host);
                None
            }
        };
        if let Some(stream) = local_stream {
            let room = self.rooms.get_mut(self.scratch_room.as_str()).ok_or(DropReason::NotMember)?;
            let sender = room.index_of_stream(stream).ok_or(DropReason::NotMember)?;
            room.participants[sender].seen(now);
            let mut ctx = RelayCtx {
                cfg: &self.cfg,
                conns: &mut self.conns,
                out: &mut self.out,
                timers: &mut self.timers,
                scratch: &mut self.scratch_conns,
                params,
                frame_id: self.frame_counter,
            };
            return relay_in_room(&mut ctx, room, sender, &header, frame, now, None);
        }
        let proxy = self
            .proxies
            .get_mut(self.scratch_host.as_str())
            .and_then(|rooms| rooms.get_mut(self.scratch_room.as_str()))
            .ok_or(DropReason::NotMember)?;
        let member = proxy.members.iter().find(|m| m.conn == conn).ok_or(DropReason::NotMember)?;
        let pid = member.participant.as_deref().ok_or(DropReason::NotMember)?;
        let stream = member.stream;
        let info = proxy
            .mirror
            .as_ref()
            .and_then(|m| m.participants.iter().find(|p| p.id == pid))
            .ok_or(DropReason::NotMember)?;
        if info.role == Role::Viewer {
            return Err(DropReason::NotAllowed);
        }
        if info.muted || info.self_muted {
            return Err(DropReason::Muted);
        }
        set_stream_id(frame, stream);
        // The host decides what the other nodes hear; locally the same K-loudest rule.
        let local_ok = proxy.loudest.admit(now, self.cfg.active_stream_ms, self.cfg.max_forwarded_speakers, stream, header.level);
        let mut copies = 0;
        if self.out.peers.append_audio(&self.scratch_host, &self.scratch_room, stream, frame, self.frame_counter) == Appended::Yes {
            copies = 1;
            self.out.metrics.frames_to_peers += 1;
        }
        self.scratch_conns.clear();
        if local_ok {
            for m in &proxy.members {
                if m.conn != conn
                    && m.participant.is_some()
                    && self.out.subs.wants_audio(m.conn, stream)
                    && admit(&mut self.conns, m.conn, self.cfg.flow_window_frames, &mut self.out.metrics)
                {
                    self.scratch_conns.push(m.conn);
                }
            }
            self.out.metrics.frames_out += self.scratch_conns.len() as u64;
        }
        Ok(copies)
    }

    /// An audio batch from a peer node. Each accepted frame is queued for the local
    /// connections it goes to (and, in a room hosted here, appended for the other peers).
    /// Returns how many frames were accepted.
    pub(crate) fn peer_audio(&mut self, now_ms: u64, from_node: &str, batch: &mut [u8]) -> usize {
        let mut pos = 0;
        let mut delivered = 0;
        let mut have_room = false;
        let mut shares = 0;
        let params = self.speaking_params();
        loop {
            let record = match next_batch_record(batch, &mut pos) {
                None => break,
                Some(Err(_)) => {
                    self.out.metrics.count_drop(DropReason::Malformed);
                    break;
                }
                Some(Ok(BatchRecord::Room(r))) => {
                    self.scratch_room.clear();
                    self.scratch_room.push_str(r);
                    have_room = true;
                    shares = self.peer_audio_shares(from_node);
                    continue;
                }
                Some(Ok(BatchRecord::Frame(range))) => range,
            };
            self.out.metrics.frames_in += 1;
            self.frame_counter += 1;
            if !have_room {
                self.out.metrics.count_drop(DropReason::NotMember);
                continue;
            }
            let frame = &mut batch[record];
            let Ok(header) = decode_frame(frame) else {
                self.out.metrics.count_drop(DropReason::Malformed);
                continue;
            };
            if shares > 0 && !self.take_peer_audio_token(now_ms, from_node, shares) {
                self.out.metrics.count_drop(DropReason::PeerRateLimited);
                continue;
            }
            let result = if let Some(room) = self.rooms.get_mut(self.scratch_room.as_str()) {
                // A room hosted here: the frame must be from that peer's own participant.
                match room.index_of_stream(header.stream_id).filter(|&i| room.participants[i].is_remote_of(from_node)) {
                    None => Err(DropReason::NotMember),
                    Some(sender) => {
                        let mut ctx = RelayCtx {
                            cfg: &self.cfg,
                            conns: &mut self.conns,
                            out: &mut self.out,
                            timers: &mut self.timers,
                            scratch: &mut self.scratch_conns,
                            params,
                            frame_id: self.frame_counter,
                        };
                        relay_in_room(&mut ctx, room, sender, &header, frame, now_ms, Some(from_node))
                    }
                }
            } else if let Some(proxy) = self.proxies.get_mut(from_node).and_then(|r| r.get_mut(self.scratch_room.as_str())) {
                // A room hosted by the sender: fan out to our users in it.
                if proxy.loudest.admit(now_ms, self.cfg.active_stream_ms, self.cfg.max_forwarded_speakers, header.stream_id, header.level) {
                    self.scratch_conns.clear();
                    for m in &proxy.members {
                        if m.participant.is_some()
                            && m.stream != header.stream_id
                            && self.out.subs.wants_audio(m.conn, header.stream_id)
                            && admit(&mut self.conns, m.conn, self.cfg.flow_window_frames, &mut self.out.metrics)
                        {
                            self.scratch_conns.push(m.conn);
                        }
                    }
                    self.out.metrics.frames_out += self.scratch_conns.len() as u64;
                    Ok(0)
                } else {
                    Err(DropReason::NotLoudest)
                }
            } else {
                Err(DropReason::NotMember)
            };
            match result {
                Ok(_) => {
                    self.out.queue.binary(frame, &self.scratch_conns);
                    delivered += 1;
                }
                Err(reason) => self.out.metrics.count_drop(reason),
            }
        }
        delivered
    }

    /// The audio share of `from` in the room of the current batch record (`scratch_room`):
    /// in a room hosted here, the participants it holds there; in a room it hosts that we
    /// proxy, the streams it may forward at once (`max_forwarded_speakers`); else none.
    fn peer_audio_shares(&self, from: &str) -> u32 {
        let room = self.scratch_room.as_str();
        if let Some(r) = self.rooms.get(room) {
            r.participants.iter().filter(|p| p.is_remote_of(from)).count() as u32
        } else if self.proxies.get(from).is_some_and(|rooms| rooms.contains_key(room)) {
            self.cfg.max_forwarded_speakers as u32
        } else {
            0
        }
    }

    /// One frame of `from`'s audio in the current room from its bucket there, sized
    /// `shares` times `peer_audio_rate`. No allocation once the bucket exists.
    fn take_peer_audio_token(&mut self, now: u64, from: &str, shares: u32) -> bool {
        let Some(id) = self.out.peers.id_of(from) else { return true };
        let base = self.cfg.peer_audio_rate;
        let limit = RateLimit { burst: base.burst.saturating_mul(shares), per_second: base.per_second.saturating_mul(shares) };
        let room = self.scratch_room.as_str();
        if !self.out.peers.get(id).audio.iter().any(|(r, _)| r == room) {
            // A new room for this node: forget the buckets of rooms it no longer shares.
            let (rooms, proxies) = (&self.rooms, &self.proxies);
            let link = self.out.peers.get_mut(id);
            link.audio.retain(|(r, _)| rooms.contains_key(r) || proxies.get(from).is_some_and(|p| p.contains_key(r)));
            link.audio.push((room.to_string(), TokenBucket::new(limit, now)));
        }
        let link = self.out.peers.get_mut(id);
        let (_, bucket) = link.audio.iter_mut().find(|(r, _)| r == room).expect("made above");
        bucket.set_limit(limit, now);
        bucket.try_take(now)
    }
}
