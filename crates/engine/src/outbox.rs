//! The output queue and per-peer link state: everything that addresses a connection or a
//! peer node goes through here, so events reach every member exactly once per node.

use crate::engine::Output;
use crate::error::EngineError;
use crate::limits::{RateLimit, TokenBucket};
use crate::metrics::Metrics;
use crate::peer::{PeerEnvelope, PeerMsg};
use crate::protocol::{Event, Presence, ServerMsg};
use crate::room::Room;
use crate::ConnId;
use std::collections::{BTreeMap, VecDeque};

/// What we know about another node.
#[derive(Debug, Clone)]
pub(crate) struct PeerLink {
    pub out_seq: u64,
    pub in_session: Option<String>,
    pub in_seen: crate::seen_window::SeenWindow,
    pub reachable: bool,
    pub bucket: TokenBucket,
    /// Audio for this peer since the last flush (room markers + frames).
    pub batch: Vec<u8>,
    pub batch_room: String,
    /// Id of the last frame appended, so one frame is appended once per peer.
    pub last_frame: u64,
}

/// Output queue plus the per-peer state needed to address peers.
pub(crate) struct Outbox {
    pub queue: VecDeque<Output>,
    pub session: String,
    pub peers: BTreeMap<String, PeerLink>,
    pub metrics: Metrics,
    pub dirty: bool,
    pub peer_rate: RateLimit,
}

impl Outbox {
    pub fn send(&mut self, conns: Vec<ConnId>, msg: ServerMsg) {
        if !conns.is_empty() {
            self.queue.push_back(Output::ToConns { conns, msg });
        }
    }

    pub fn send_one(&mut self, conn: ConnId, msg: ServerMsg) {
        self.queue.push_back(Output::ToConns { conns: vec![conn], msg });
    }

    pub fn error(&mut self, conn: ConnId, err: &EngineError, reference: Option<String>) {
        self.metrics.control_errors += 1;
        self.send_one(conn, ServerMsg::error(err, reference));
    }

    pub fn link(&mut self, node: &str, now: u64) -> &mut PeerLink {
        let rate = self.peer_rate;
        self.peers.entry(node.to_string()).or_insert_with(|| PeerLink {
            out_seq: 0,
            in_session: None,
            in_seen: Default::default(),
            reachable: true,
            bucket: TokenBucket::new(rate, now),
            batch: Vec::new(),
            batch_room: String::new(),
            last_frame: 0,
        })
    }

    pub fn reachable(&self, node: &str) -> bool {
        self.peers.get(node).is_none_or(|l| l.reachable)
    }

    pub fn send_peer(&mut self, node: &str, now: u64, msg: PeerMsg) {
        let link = self.link(node, now);
        link.out_seq += 1;
        let seq = link.out_seq;
        let envelope = PeerEnvelope::new(&self.session, seq, msg);
        self.metrics.peer_messages_out += 1;
        self.queue.push_back(Output::ToPeer { node: node.to_string(), envelope });
    }

    pub fn mark_dirty(&mut self) {
        if !self.dirty {
            self.dirty = true;
            self.queue.push_back(Output::PersistRequested);
        }
    }

    /// Sends a room event to everyone in the room: local sockets and each reachable peer once.
    pub fn emit(&mut self, room: &mut Room, now: u64, event: Event) {
        let logged = room.log.append(event).clone();
        let msg = ServerMsg::Event { room: room.id.clone(), seq: logged.seq, event: logged.event.clone() };
        self.send(room.local_conns(), msg);
        for node in room.peer_nodes() {
            if self.reachable(&node) {
                self.send_peer(&node, now, PeerMsg::Event { room: room.id.clone(), event: logged.clone() });
            }
        }
        self.mark_dirty();
    }

    pub fn announce(&mut self, room: &Room, now: u64, event: Presence) {
        self.send(room.local_conns(), ServerMsg::Presence { room: room.id.clone(), event: event.clone() });
        for node in room.peer_nodes() {
            if self.reachable(&node) {
                self.send_peer(&node, now, PeerMsg::Presence { room: room.id.clone(), event: event.clone() });
            }
        }
    }
}

