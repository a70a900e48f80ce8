//! Messages between voice-chat processes on different nodes (docs/protocol.md, "Peer nodes").
//! The node hosting a room is authoritative; a peer node proxies its local users' sockets.

use crate::audio_interest::AudioInterest;
use crate::error::EngineError;
use crate::protocol::{ClientMsg, LoggedEvent, ParticipantId, Presence, Resume, RoomId, ServerMsg, Snapshot, Welcome, PROTOCOL_VERSION};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest peer control message accepted (a snapshot with full chat history fits easily).
pub const MAX_PEER_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerEnvelope {
    pub v: u32,
    /// Random per engine start: a new value means the sender restarted and lost its state.
    pub session: String,
    /// Per destination node, +1 per message; a seq already taken (a retry that got through
    /// before) is refused as a duplicate, also when it arrives after later ones.
    pub seq: u64,
    pub msg: PeerMsg,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PeerMsg {
    // ---- proxy node → host node ----
    /// Join `room` on behalf of a local user; answered by `joined` or `join_refused`.
    Join {
        room: RoomId,
        join_ref: u64,
        name: String,
        invite: Option<String>,
        resume: Option<Resume>,
    },
    /// A control message of one proxied participant.
    Control {
        room: RoomId,
        participant: ParticipantId,
        msg: ClientMsg,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// The events after `last_seq` for this node's mirror of the room (member nodes only);
    /// answered by `event`s or one `snapshot`.
    Sync { room: RoomId, last_seq: u64 },
    /// The participant's socket dropped; it may resume until the presence timeout.
    Detach { room: RoomId, participant: ParticipantId },
    /// Liveness of the participants this node still holds, per room (others of this node
    /// are not refreshed and time out); answered by `heartbeat_ack`.
    Heartbeat {
        #[serde(default)]
        rooms: Vec<HeldParticipants>,
    },
    /// Which streams of `room` this node's users want now (the union of their audio
    /// subscriptions); the host sends only those. `version` counts up per sender process: an
    /// older or equal one than the host holds for the room is ignored (`crate::audio_interest`).
    AudioInterest { room: RoomId, interest: AudioInterest, version: u64 },
    // ---- host node → proxy node ----
    Joined { room: RoomId, join_ref: u64, welcome: Welcome },
    JoinRefused { room: RoomId, join_ref: u64, error: EngineError },
    /// A room event, once per peer node; it fans it out to its participants in the room.
    Event { room: RoomId, event: LoggedEvent },
    Presence { room: RoomId, event: Presence },
    /// The room state, when the peer is too far behind for events.
    Snapshot { room: RoomId, snapshot: Snapshot },
    /// A message for one participant only (errors, pong-less replies, replays).
    Direct { room: RoomId, participant: ParticipantId, msg: ServerMsg },
    /// Answer to a `sync` from a node that holds no participant in the room (`not_member`) or
    /// is banned from it (`banned`): nothing of the room is sent.
    SyncRefused { room: RoomId, error: EngineError },
    /// Answer to a `control` naming a participant this host does not know (it restarted and
    /// lost its participants, or the participant was removed): the command comes back whole,
    /// so the node can send it again once its user is joined again, or answer `not_member`.
    Bounced {
        room: RoomId,
        participant: ParticipantId,
        msg: ClientMsg,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    HeartbeatAck {},
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldParticipants {
    pub room: RoomId,
    pub participants: Vec<ParticipantId>,
}

impl PeerEnvelope {
    pub fn new(session: &str, seq: u64, msg: PeerMsg) -> Self {
        Self { v: PROTOCOL_VERSION, session: session.to_string(), seq, msg }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("peer messages serialize")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Why a peer message was ignored (the shell may log it; state did not change).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PeerRefusal {
    #[error("peer message too large")]
    TooLarge,
    #[error("peer message malformed: {0}")]
    Malformed(String),
    #[error("unsupported peer protocol version {0}")]
    UnsupportedVersion(u32),
    #[error("peer over its rate limit")]
    RateLimited,
    #[error("duplicate peer message")]
    Duplicate,
}
