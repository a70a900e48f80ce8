//! The engine's one I/O contract: every input goes in through [`Input`], everything the
//! shell must do comes out as an [`Output`] with its payload in the caller's [`OutBuf`].
//! Shaped like the handle_input / poll_output state machines of str0m and quinn-proto.

use crate::metrics::DropReason;
use crate::peer_wire::PeerRefusal;
use crate::persist::PersistedState;
use crate::ConnId;

/// How a WebSocket was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// The authenticated path: the node owner.
    Owner,
    /// The unauthenticated path: must show the room's invite token.
    Guest,
}

/// Interned name of a peer node (see `Engine::peer_name`), stable while its link exists: a forgotten link's id is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u32);

/// One thing that happened outside the engine.
#[derive(Debug)]
pub enum Input<'a> {
    /// A WebSocket opened (Owner on the authenticated path, Guest on the guest path).
    Open { conn: ConnId, kind: ConnKind },
    /// As [`Input::Open`], with the client address the runtime reports for it (a proxy's
    /// `forwarded_for` when the request had one, which the client may have set itself, else
    /// the socket's peer address): guest sockets are capped per address.
    OpenFrom { conn: ConnId, kind: ConnKind, addr: &'a str },
    /// A Text message from a WebSocket.
    Text { conn: ConnId, text: &'a [u8] },
    /// A Binary message from a WebSocket: an audio frame (its stream id is rewritten in
    /// place) or a receive acknowledgement.
    Binary { conn: ConnId, frame: &'a mut [u8] },
    /// A WebSocket closed (by either side).
    Close { conn: ConnId },
    /// The sockets the runtime still has, answering [`Output::ListSockets`]: every other
    /// socket the engine knows is closed.
    LiveSockets { conns: &'a [ConnId] },
    /// A control request body from the voice-chat process on `from` (the runtime vouches
    /// for the node). Its size is checked before it is parsed.
    PeerControl { from: &'a str, body: &'a [u8] },
    /// An audio batch from the voice-chat process on `from`.
    PeerAudio { from: &'a str, batch: &'a mut [u8] },
    /// The peer answered the control request `request` (any answer: it is alive).
    PeerDelivered { request: u64 },
    /// The control request `request` was not answered (offline or timeout).
    PeerSendFailed { request: u64 },
    /// The time from [`crate::Engine::poll_timeout`] has come.
    Timeout,
}

/// Why an input was not taken. It is already counted in the metrics; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An audio frame not relayed.
    Frame(DropReason),
    /// A peer message ignored (the shell answers the request with its text).
    Peer(PeerRefusal),
    /// A socket over `max_connections`: an error and a close for it are queued.
    SocketLimit,
}

/// The caller's reusable buffers that an output's payload is written into, so the frame
/// path allocates nothing once they have grown (as `poll_transmit` in quinn-proto).
#[derive(Debug, Default)]
pub struct OutBuf {
    /// The payload: UTF-8 JSON for [`Output::Text`] and [`Output::PeerControl`], a frame for
    /// [`Output::Binary`], a batch for [`Output::PeerAudio`].
    pub bytes: Vec<u8>,
    /// The recipients of [`Output::Text`] and [`Output::Binary`].
    pub conns: Vec<ConnId>,
}

impl OutBuf {
    pub fn new() -> Self {
        Self { bytes: Vec::with_capacity(16 * 1024), conns: Vec::with_capacity(256) }
    }
}

/// What the shell must do, in the order polled.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Push `buf.bytes` (JSON) as a Text message to each of `buf.conns`.
    Text,
    /// Push `buf.bytes` (an audio frame) as a Binary message to each of `buf.conns`.
    Binary,
    /// Close this WebSocket (after the messages polled before it).
    Close { conn: ConnId },
    /// Send `buf.bytes` (a peer envelope, docs/protocol.md) to this process on `node` as a
    /// request answered within `timeout_ms`; report [`Input::PeerDelivered`] or
    /// [`Input::PeerSendFailed`] with `request`. A retry polls the same request again.
    PeerControl { node: PeerId, request: u64, timeout_ms: u64 },
    /// Send `buf.bytes` (an audio batch) to this process on `node`; fire and forget.
    PeerAudio { node: PeerId },
    /// Save this state (coalesced by the engine: at most one per `save_interval_ms`).
    Persist(PersistedState),
    /// Answer with [`Input::LiveSockets`]: the engine checks for sockets the runtime dropped.
    ListSockets,
}
