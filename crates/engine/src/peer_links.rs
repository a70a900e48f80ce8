//! What this engine knows about each other node: the sequence numbers and session of the
//! control channel both ways (with the dedupe window), whether it is reachable, its audio
//! batch, and the control requests in flight with their retry policy.
//!
//! A link is made when we first send to a node, or for an envelope from a node without one
//! that passed the size, format and version checks and the shared `new_peer_rate` bucket
//! (`Engine::link_for_envelope`). Links nobody needs are forgotten (`Engine::evict_idle_links`),
//! so the table stays bounded however many nodes write to us. A forgotten link's slot (its
//! [`PeerId`]) is reused; sequence numbers to a node never go back, because a new link
//! starts above every seq this engine has used.

use crate::audio::append_room_marker;
use crate::audio_interest::PeerInterests;
use crate::io::PeerId;
use crate::limits::{RateLimit, TokenBucket};
use crate::peer_wire::{PeerEnvelope, PeerMsg};
use crate::seen_window::SeenWindow;
use std::collections::BTreeMap;

/// Retry policy for control requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Sends after the first before the peer counts as unreachable.
    pub retries: u32,
    /// Wait before the first retry; doubled for each one after.
    pub base_ms: u64,
}

impl RetryPolicy {
    /// When to send again after failed try number `failed` (1-based), or None: give up.
    pub fn next_try(&self, now: u64, failed: u32) -> Option<u64> {
        if failed > self.retries {
            return None;
        }
        let shift = (failed - 1).min(20);
        Some(now.saturating_add(self.base_ms << shift))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PeerLink {
    pub name: String,
    pub out_seq: u64,
    pub in_session: Option<String>,
    pub in_seen: SeenWindow,
    pub reachable: bool,
    pub bucket: TokenBucket,
    /// Audio for this peer gathered during the current input (room markers + frames).
    pub batch: Vec<u8>,
    pub batch_room: String,
    /// Id of the last frame appended, so one frame is appended once per peer.
    pub last_frame: u64,
    /// When an envelope from this node was last taken (or the link made).
    pub last_heard_ms: u64,
    /// Audio from this node, per room: its share of frames (see `Engine::peer_audio`).
    pub audio: Vec<(String, TokenBucket)>,
    /// The streams this node wants per room hosted here, and what we told it per room it
    /// hosts (`crate::audio_interest`).
    pub interests: PeerInterests,
}

/// A control request sent and not yet answered.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    pub node: PeerId,
    pub envelope: PeerEnvelope,
    /// Sends so far.
    pub tries: u32,
    /// When to send again, after a failed try.
    pub retry_at: Option<u64>,
}

/// What a failed try leads to.
#[derive(Debug)]
pub(crate) enum AfterFailure {
    /// Sent again at this time.
    RetryAt(u64),
    /// Every try failed: the peer is unreachable; here is what was lost.
    GaveUp { node: PeerId, envelope: PeerEnvelope },
    /// Unknown request (already answered or given up).
    Unknown,
}

pub(crate) struct PeerLinks {
    /// Random per engine start, sent with every envelope.
    pub session: String,
    /// Slots by `PeerId`; `None` once forgotten (reused by the next new link).
    links: Vec<Option<PeerLink>>,
    free: Vec<PeerId>,
    by_name: BTreeMap<String, PeerId>,
    /// The highest `out_seq` used on any link: a new link starts here.
    seq_floor: u64,
    /// Envelopes from nodes without a link, all together.
    pub new_peer_bucket: TokenBucket,
    inflight: BTreeMap<u64, InFlight>,
    next_request: u64,
    rate: RateLimit,
    retry: RetryPolicy,
    /// Peers whose batch got audio during the current input.
    pub pending_audio: Vec<PeerId>,
    /// The last `audio_interest` version sent (to any node): only goes up.
    interest_version: u64,
}

/// What [`PeerLinks::append_audio`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    Yes,
    /// The node said it does not want this stream of the room (its audio interest).
    NotWanted,
    /// No link, unreachable, or that frame is in the batch already (or was not wanted).
    No,
}

impl PeerLinks {
    pub fn new(session: String, rate: RateLimit, new_peer_rate: RateLimit, retry: RetryPolicy) -> Self {
        Self {
            session,
            links: Vec::new(),
            free: Vec::new(),
            by_name: BTreeMap::new(),
            seq_floor: 0,
            new_peer_bucket: TokenBucket::new(new_peer_rate, 0),
            inflight: BTreeMap::new(),
            next_request: 0,
            rate,
            retry,
            pending_audio: Vec::with_capacity(8),
            interest_version: 0,
        }
    }

    /// The link to `node`, created on first use.
    pub fn intern(&mut self, node: &str, now: u64) -> PeerId {
        if let Some(id) = self.by_name.get(node) {
            return *id;
        }
        let link = PeerLink {
            name: node.to_string(),
            out_seq: self.seq_floor,
            in_session: None,
            in_seen: SeenWindow::default(),
            reachable: true,
            bucket: TokenBucket::new(self.rate, now),
            batch: Vec::new(),
            batch_room: String::new(),
            last_frame: 0,
            last_heard_ms: now,
            audio: Vec::new(),
            interests: PeerInterests::default(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.links[id.0 as usize] = Some(link);
                id
            }
            None => {
                self.links.push(Some(link));
                PeerId(self.links.len() as u32 - 1)
            }
        };
        self.by_name.insert(node.to_string(), id);
        id
    }

    pub fn link(&mut self, node: &str, now: u64) -> &mut PeerLink {
        let id = self.intern(node, now);
        self.get_mut(id)
    }

    /// The link to `node`, if there is one (never made here).
    pub fn id_of(&self, node: &str) -> Option<PeerId> {
        self.by_name.get(node).copied()
    }

    /// Links now.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn get(&self, id: PeerId) -> &PeerLink {
        self.links[id.0 as usize].as_ref().expect("a live peer id")
    }

    pub fn get_mut(&mut self, id: PeerId) -> &mut PeerLink {
        self.links[id.0 as usize].as_mut().expect("a live peer id")
    }

    pub fn reachable(&self, node: &str) -> bool {
        self.by_name.get(node).is_none_or(|id| self.get(*id).reachable)
    }

    /// Whether the link may be forgotten as far as this table knows: nothing in flight to
    /// it and no audio waiting for it.
    pub fn unused(&self, id: PeerId) -> bool {
        let link = self.get(id);
        link.batch.is_empty() && !self.pending_audio.contains(&id) && !self.inflight.values().any(|f| f.node == id)
    }

    /// Every link: its id, node and when it was last heard from.
    pub fn all(&self) -> impl Iterator<Item = (PeerId, &str, u64)> {
        self.by_name.iter().map(|(name, id)| (*id, name.as_str(), self.get(*id).last_heard_ms))
    }

    /// Forgets the link (see [`PeerLinks::unused`]); its id goes to the next new link.
    pub fn forget(&mut self, id: PeerId) {
        let Some(link) = self.links[id.0 as usize].take() else { return };
        self.by_name.remove(&link.name);
        self.free.push(id);
    }

    /// Numbers `msg` for `node` and records it as in flight; returns the request id.
    pub fn send(&mut self, node: &str, now: u64, msg: PeerMsg) -> u64 {
        let id = self.intern(node, now);
        let link = self.links[id.0 as usize].as_mut().expect("just made");
        link.out_seq += 1;
        self.seq_floor = self.seq_floor.max(link.out_seq);
        let envelope = PeerEnvelope::new(&self.session, link.out_seq, msg);
        self.next_request += 1;
        self.inflight.insert(self.next_request, InFlight { node: id, envelope, tries: 1, retry_at: None });
        self.next_request
    }

    pub fn in_flight(&self, request: u64) -> Option<&InFlight> {
        self.inflight.get(&request)
    }

    pub fn delivered(&mut self, request: u64) {
        self.inflight.remove(&request);
    }

    /// A try of `request` failed: schedule the next one or give up.
    pub fn failed(&mut self, request: u64, now: u64) -> AfterFailure {
        let Some(f) = self.inflight.get_mut(&request) else { return AfterFailure::Unknown };
        match self.retry.next_try(now, f.tries) {
            Some(at) => {
                f.retry_at = Some(at);
                AfterFailure::RetryAt(at)
            }
            None => {
                let f = self.inflight.remove(&request).expect("present");
                AfterFailure::GaveUp { node: f.node, envelope: f.envelope }
            }
        }
    }

    /// Requests whose retry time has come (their try count goes up), and the next retry
    /// time of the others.
    pub fn due_retries(&mut self, now: u64, into: &mut Vec<u64>) -> Option<u64> {
        let mut next = None::<u64>;
        for (request, f) in self.inflight.iter_mut() {
            match f.retry_at {
                Some(at) if at <= now => {
                    f.retry_at = None;
                    f.tries += 1;
                    into.push(*request);
                }
                Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                None => {}
            }
        }
        next
    }

    /// The version for the next `audio_interest` sent.
    pub fn next_interest_version(&mut self) -> u64 {
        self.interest_version += 1;
        self.interest_version
    }

    /// Appends frame number `frame_id` (of `stream` in `room`) to the batch of `node` if it
    /// is reachable, wants that stream and does not have that frame yet.
    pub fn append_audio(&mut self, node: &str, room: &str, stream: u16, frame: &[u8], frame_id: u64) -> Appended {
        let Some(&id) = self.by_name.get(node) else { return Appended::No };
        let Some(link) = self.links[id.0 as usize].as_mut() else { return Appended::No };
        if !link.reachable || link.last_frame == frame_id {
            return Appended::No;
        }
        link.last_frame = frame_id;
        if !link.interests.wants(room, stream) {
            return Appended::NotWanted;
        }
        if link.batch.is_empty() || link.batch_room != room {
            append_room_marker(room, &mut link.batch);
            link.batch_room.clear();
            link.batch_room.push_str(room);
        }
        link.batch.extend_from_slice(frame);
        if !self.pending_audio.contains(&id) {
            self.pending_audio.push(id);
        }
        Appended::Yes
    }

}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_link_frees_its_slot_and_seqs_never_go_back() {
        let rate = RateLimit { burst: 1, per_second: 1 };
        let mut links = PeerLinks::new("s".into(), rate, rate, RetryPolicy { retries: 0, base_ms: 1 });
        let a = links.intern("a.os", 0);
        let r1 = links.send("a.os", 0, PeerMsg::HeartbeatAck {});
        let r2 = links.send("a.os", 0, PeerMsg::HeartbeatAck {});
        assert_eq!(links.in_flight(r2).unwrap().envelope.seq, 2);
        assert!(!links.unused(a), "requests in flight");
        links.delivered(r1);
        links.delivered(r2);
        assert!(links.unused(a));
        links.forget(a);
        assert_eq!(links.len(), 0);
        assert_eq!(links.id_of("a.os"), None);
        let b = links.intern("b.os", 5);
        assert_eq!(b, a, "the slot is reused");
        assert_eq!(links.get(b).name, "b.os");
        let r3 = links.send("a.os", 6, PeerMsg::HeartbeatAck {});
        assert_eq!(links.in_flight(r3).unwrap().envelope.seq, 3, "a.os again: above every seq used before");
        assert_eq!(links.len(), 2);
    }

    #[test]
    fn backoff_doubles_and_gives_up_after_the_last_retry() {
        let p = RetryPolicy { retries: 2, base_ms: 1_000 };
        assert_eq!(p.next_try(100, 1), Some(1_100));
        assert_eq!(p.next_try(100, 2), Some(2_100));
        assert_eq!(p.next_try(100, 3), None);
        assert_eq!(RetryPolicy { retries: 0, base_ms: 1_000 }.next_try(0, 1), None);
    }
}
