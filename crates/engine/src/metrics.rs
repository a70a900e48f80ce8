//! Counters the shell serves on `/api/metrics`.

use serde::{Deserialize, Serialize};

/// Why an incoming audio frame was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not a valid frame (see the codec's error codes).
    Malformed,
    /// Over the connection's audio rate.
    RateLimited,
    /// Over the sending peer node's audio share (its participants times `peer_audio_rate`).
    PeerRateLimited,
    /// The sender is not in a room (or the peer has no such participant).
    NotMember,
    /// The sender's role may not speak.
    NotAllowed,
    /// Muted by a moderator or by itself.
    Muted,
    /// Not among the K loudest streams right now.
    NotLoudest,
    /// The connection is unknown (e.g. after a restart).
    UnknownConnection,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCounts {
    pub malformed: u64,
    pub rate_limited: u64,
    pub peer_rate_limited: u64,
    pub not_member: u64,
    pub not_allowed: u64,
    pub muted: u64,
    pub not_loudest: u64,
    pub unknown_connection: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    pub frames_in: u64,
    /// Copies handed to local connections.
    pub frames_out: u64,
    /// Copies appended to peer batches.
    pub frames_to_peers: u64,
    /// Copies not put in a peer node's batch because that node's `audio_interest` for the
    /// room excludes the stream (between-node suppression).
    #[serde(default)]
    pub frames_not_wanted_by_peers: u64,
    pub frames_dropped: DropCounts,
    /// Deliveries skipped because the client had too many unacknowledged frames.
    pub flow_control_skips: u64,
    pub sequence_gaps: u64,
    pub control_in: u64,
    pub control_errors: u64,
    pub control_rate_limited: u64,
    /// WebSockets refused at `max_connections` (guests: at `max_connections` minus the
    /// owner's reserve).
    pub connections_refused: u64,
    /// Of those, guest sockets over `max_guest_sockets_per_addr`.
    pub connections_refused_per_addr: u64,
    /// Sockets closed with `join_timeout`: in no room `join_deadline_ms` after opening.
    pub connections_timed_out: u64,
    /// Sockets closed for sending too many refused (garbage) messages.
    pub connections_closed_for_garbage: u64,
    /// Joins refused with `rate_limited` by a room's join or bad-invite bucket.
    pub joins_rate_limited: u64,
    pub peer_messages_in: u64,
    pub peer_messages_out: u64,
    pub peer_messages_refused: u64,
    pub peer_unreachable: u64,
    /// Peer links forgotten (idle, or to make room under `max_peer_links`).
    pub peer_links_evicted: u64,
    /// Peer links now (gauge).
    pub peer_links: u64,
    pub connections: u64,
    pub rooms: u64,
    pub participants: u64,
    pub proxied_rooms: u64,
}

impl Metrics {
    pub fn count_drop(&mut self, reason: DropReason) {
        let d = &mut self.frames_dropped;
        match reason {
            DropReason::Malformed => d.malformed += 1,
            DropReason::RateLimited => d.rate_limited += 1,
            DropReason::PeerRateLimited => d.peer_rate_limited += 1,
            DropReason::NotMember => d.not_member += 1,
            DropReason::NotAllowed => d.not_allowed += 1,
            DropReason::Muted => d.muted += 1,
            DropReason::NotLoudest => d.not_loudest += 1,
            DropReason::UnknownConnection => d.unknown_connection += 1,
        }
    }
}
