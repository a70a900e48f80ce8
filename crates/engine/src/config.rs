//! Tunables of the engine; every limit and timer in one serializable place.

use crate::limits::RateLimit;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// How often presence is swept.
    pub sweep_interval_ms: u64,
    /// A participant not heard from for this long is removed as a ghost.
    pub presence_timeout_ms: u64,
    /// A typing indicator lasts this long after the last `typing`.
    pub typing_ttl_ms: u64,
    /// Speaking starts after this many consecutive loud voice frames...
    pub speaking_on_frames: u8,
    /// ...where loud means level (−dBov) at most this...
    pub speaking_level: u8,
    /// ...and stops after this long without a loud frame.
    pub speaking_hangover_ms: u64,
    /// At most this many loudest speakers are forwarded at once.
    pub max_forwarded_speakers: usize,
    /// A stream counts as active for the loudest-K choice this long after its last frame.
    pub active_stream_ms: u64,
    /// Audio stops to a client with more unacknowledged frames than this.
    pub flow_window_frames: u32,
    pub max_control_bytes: usize,
    /// WebSockets this app accepts at once. The runtime allows 128 per node for all apps
    /// together and refuses the next upgrade without a word; refusing earlier ourselves
    /// leaves room for other apps and lets us say why.
    pub max_connections: usize,
    /// Of `max_connections`, this many are kept for the owner's authenticated `/ws`: guest
    /// sockets are refused at `max_connections - owner_reserved_connections`, so a crowd of
    /// anonymous sockets cannot lock the owner out.
    pub owner_reserved_connections: usize,
    /// Guest sockets from one client address at once (IPv6: one /64; loopback is not
    /// capped, it is what a local proxy without `X-Forwarded-For` looks like).
    pub max_guest_sockets_per_addr: usize,
    /// A socket that is in no room this long after it opened (or left its room) is closed
    /// with `join_timeout`.
    pub join_deadline_ms: u64,
    /// While the engine knows no socket, how often it asks the shell for the runtime's list
    /// anyway, to learn of sockets that opened and never sent anything (the runtime tells
    /// the app of a socket only at its first message).
    pub socket_discovery_ms: u64,
    /// Per socket: after this many refused messages (malformed, unknown type, wrong version,
    /// too large, malformed binary) within `garbage_window_ms` the socket is closed.
    pub max_garbage: u32,
    pub garbage_window_ms: u64,
    pub max_rooms: usize,
    /// Upper bound for a room's capacity setting.
    pub max_participants: u32,
    pub max_chat_chars: usize,
    pub max_name_chars: usize,
    pub chat_history: usize,
    pub event_ring: usize,
    pub control_rate: RateLimit,
    pub audio_rate: RateLimit,
    /// Per room: fresh joins that go through the invite check (everyone but the owner's own
    /// sockets and resumes).
    pub room_join_rate: RateLimit,
    /// Per room: joins refused with `bad_invite`; while this is spent, every join through the
    /// invite check is refused with `rate_limited`.
    pub bad_invite_rate: RateLimit,
    /// Per participant of a peer node (and per forwarded stream of a room that node hosts):
    /// audio frames that node may send; its bucket is this times its share.
    pub peer_audio_rate: RateLimit,
    /// Per peer node: all its users' control messages together.
    pub peer_rate: RateLimit,
    /// Envelopes from nodes without a peer link, all such nodes together: a link is made
    /// only for an envelope that passes this (and the size, format and version checks).
    pub new_peer_rate: RateLimit,
    /// Peer links kept at most (links to nodes we proxy rooms of are never refused).
    pub max_peer_links: usize,
    /// A link with no participants here, no proxied room, nothing in flight and nothing
    /// heard for this long is forgotten.
    pub peer_link_idle_ms: u64,
    /// Heartbeat to hosts of rooms we proxy, and probe interval while one is unreachable;
    /// also how long a proxied room's sync request may go unanswered before it is repeated.
    pub peer_heartbeat_ms: u64,
    /// How long a peer has to answer a control request.
    pub peer_control_timeout_ms: u64,
    /// Sends of a control request after the first before its peer counts as unreachable: a
    /// node that just restarted loses its first messages for 5–10 s while its new key
    /// propagates (docs/hyperware runtime notes), so one lost answer must not cut the link.
    pub peer_control_retries: u32,
    /// Wait before the first retry of a control request; doubled for each one after.
    pub peer_retry_base_ms: u64,
    /// How long the runtime waits for the (ignored) answer to an audio batch.
    pub peer_audio_answer_ms: u64,
    /// At most one save per this interval; the first change after a quiet interval is saved
    /// before the next input, later ones in a burst together at the end of the interval.
    pub save_interval_ms: u64,
    /// How often the shell is asked which sockets the runtime still has (it drops sockets
    /// without telling the process).
    pub socket_check_ms: u64,
    /// `node.rooms`: at most one `room_update` per room per this interval; the first change
    /// after a quiet interval goes out at once, later ones together at its end.
    pub lobby_update_ms: u64,
    /// HTTP polling sessions (docs/http-api.md, "Polling transport"): at most this many at
    /// once on the node. They do not count against `max_connections`.
    pub max_poll_sessions: usize,
    /// Guest polling sessions from one client address at once (keyed as guest sockets; the
    /// owner's sessions are not capped per address).
    pub max_poll_sessions_per_addr: usize,
    /// A session not polled for this long is closed as a dropped socket (its participant
    /// is disconnected and may resume).
    pub poll_session_idle_ms: u64,
    /// A session's queue of unacknowledged messages: at most this many...
    pub poll_queue_messages: usize,
    /// ...and this many bytes of JSON; beyond either the oldest go and `lost` is reported.
    pub poll_queue_bytes: usize,
    /// How long the shell holds a `Poll` that has nothing to answer.
    pub poll_hold_ms: u64,
    /// How often the shell asks whether a held `Poll` has something to answer.
    pub poll_check_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sweep_interval_ms: 30_000,
            presence_timeout_ms: 60_000,
            typing_ttl_ms: 5_000,
            speaking_on_frames: 3,
            speaking_level: 50,
            speaking_hangover_ms: 500,
            max_forwarded_speakers: 3,
            active_stream_ms: 300,
            flow_window_frames: 24,
            max_control_bytes: 64 * 1024,
            max_connections: 100,
            owner_reserved_connections: 8,
            max_guest_sockets_per_addr: 16,
            join_deadline_ms: 10_000,
            socket_discovery_ms: 1_000,
            max_garbage: 10,
            garbage_window_ms: 10_000,
            max_rooms: 32,
            max_participants: 200,
            max_chat_chars: 2_000,
            max_name_chars: 32,
            chat_history: 200,
            event_ring: 256,
            control_rate: RateLimit { burst: 20, per_second: 10 },
            audio_rate: RateLimit { burst: 100, per_second: 60 },
            room_join_rate: RateLimit { burst: 30, per_second: 5 },
            bad_invite_rate: RateLimit { burst: 10, per_second: 1 },
            peer_audio_rate: RateLimit { burst: 100, per_second: 60 },
            peer_rate: RateLimit { burst: 400, per_second: 200 },
            new_peer_rate: RateLimit { burst: 50, per_second: 10 },
            max_peer_links: 256,
            peer_link_idle_ms: 5 * 60_000,
            peer_heartbeat_ms: 10_000,
            peer_control_timeout_ms: 5_000,
            peer_control_retries: 2,
            peer_retry_base_ms: 1_000,
            peer_audio_answer_ms: 2_000,
            save_interval_ms: 250,
            socket_check_ms: 100,
            lobby_update_ms: 250,
            max_poll_sessions: 64,
            max_poll_sessions_per_addr: 4,
            poll_session_idle_ms: 30_000,
            poll_queue_messages: 256,
            poll_queue_bytes: 256 * 1024,
            poll_hold_ms: 10_000,
            poll_check_ms: 150,
        }
    }
}
