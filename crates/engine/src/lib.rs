//! Sans-IO room engine of voice-chat (wire formats: docs/protocol.md).
//!
//! The engine never touches the runtime, a clock or OS randomness: the process shell feeds
//! it inputs with the current time (`now_ms`, any monotonic millisecond clock) and carries out
//! the [`Output`]s. Randomness (ids, tokens) comes from the [`Entropy`] the shell passes in.
//!
//! # How the shell drives it
//!
//! 1. Start: `Engine::new(Config::default(), our_node, Box::new(os_entropy))`, or
//!    `Engine::restore(PersistedState::from_bytes(saved)?, config, our_node, entropy)` when
//!    state was saved before.
//! 2. Inputs (each may queue outputs):
//!    - `handle_open(now, channel_id, ConnKind::Owner | ConnKind::Guest)` on `WebSocketOpen`
//!      (Owner for the authenticated `/ws`, Guest for `/guest-ws`); `handle_close(now, id)`
//!      on `WebSocketClose`.
//!    - `handle_text(now, id, bytes)` for a Text push.
//!    - `handle_binary(now, id, &mut bytes) -> Result<Relay, DropReason>` for a Binary push:
//!      on `Ok(relay)`, push the (now rewritten) `bytes` as Binary to every id in
//!      `relay.conns` — this path does not allocate; an ack yields an empty relay; `Err` is
//!      already counted in the metrics, just drop the frame.
//!    - `handle_peer_message(now, source_node, body)` for a peer control request (answer
//!      the request with any empty response right away: the answer is only a delivery ack).
//!    - `handle_peer_audio(now, source_node, &mut blob, |frame, conns| push frame to conns)`
//!      for a peer audio batch.
//!    - `handle_peer_send_failed(now, node, &envelope)` when a `ToPeer` request failed
//!      (offline/timeout); it calls `handle_peer_unreachable(now, node)` and tells the user
//!      whose command was lost.
//!    - `handle_tick(now)` every 20 ms, then `flush_peer_batches(|node, bytes| send bytes to
//!      node fire-and-forget)`.
//!    - The owner's HTTP API: `create_room`, `list_rooms`, `room_snapshot`, `update_settings`,
//!      `close_room`, `invite`, `rotate_invite`, `set_role`, `kick`, `mute`, `mute_all`,
//!      `clear_chat`, `chat_history`, `events_since`, `metrics`. Errors are [`EngineError`]
//!      with a stable code and [`EngineError::http_status`].
//! 3. After every input, drain `poll_output()` until `None` and do, in order:
//!    - `Output::ToConns { conns, msg }`: push `msg.to_json()` as Text to each.
//!    - `Output::Close { conn }`: close that WebSocket.
//!    - `Output::ToPeer { node, envelope }`: send `envelope.to_bytes()` to
//!      `voice-chat:voice-chat:template.os` on `node` with `expects_response` (a few seconds);
//!      on failure call `handle_peer_send_failed`.
//!    - `Output::PersistRequested`: save `engine.persisted().to_bytes()` (may be debounced).
//!
//! Peer audio batches are fire-and-forget: losing one loses 20 ms of audio, nothing else.
//!
//! # Example
//!
//! ```
//! use voice_chat_engine::{Config, ConnKind, Engine, Output, SeededEntropy, ServerMsg, Settings};
//!
//! // The shell uses the runtime's randomness; a seeded source keeps this example repeatable.
//! let mut engine = Engine::new(Config::default(), "alice.os", Box::new(SeededEntropy::new(1)));
//! let room = engine.create_room(0, Settings::default()).unwrap();
//!
//! engine.handle_open(10, 7, ConnKind::Owner);
//! let join = format!(r#"{{"v":1,"type":"join","room":"{}","name":"Alice"}}"#, room.id);
//! engine.handle_text(10, 7, join.as_bytes());
//!
//! let mut welcomed = false;
//! while let Some(output) = engine.poll_output() {
//!     match output {
//!         Output::ToConns { conns, msg } => {
//!             let text = msg.to_json(); // push `text` to every channel in `conns`
//!             welcomed |= matches!(msg, ServerMsg::Welcome(_)) && conns == [7] && text.contains("\"v\":1");
//!         }
//!         Output::Close { .. } | Output::ToPeer { .. } => {}
//!         Output::PersistRequested => {
//!             let _bytes = engine.persisted().to_bytes(); // save with set-state
//!         }
//!     }
//! }
//! assert!(welcomed);
//!
//! // Every 20 ms:
//! engine.handle_tick(30);
//! engine.flush_peer_batches(|_node, _batch| { /* one fire-and-forget request per peer */ });
//! ```

pub mod api;
pub mod audio;
pub mod commands;
pub mod config;
pub mod engine;
pub mod error;
pub mod event_log;
pub mod ids;
pub mod limits;
pub mod loudest;
pub mod metrics;
pub mod outbox;
pub mod peer;
pub mod peering;
pub mod persist;
pub mod protocol;
pub mod relay;
pub mod roles;
pub mod room;
pub mod seen_window;
pub mod speaking;

/// The runtime's WebSocket channel id.
pub type ConnId = u32;

pub use api::{EventsSince, RoomCreated, RoomSummary};
pub use config::Config;
pub use engine::{ConnKind, Engine, Output};
pub use error::{EngineError, ErrorCode};
pub use event_log::Since;
pub use ids::{Entropy, SeededEntropy};
pub use metrics::{DropReason, Metrics};
pub use peer::{PeerEnvelope, PeerMsg};
pub use peering::PeerRefusal;
pub use persist::PersistedState;
pub use protocol::{ClientMsg, Event, LoggedEvent, Presence, ServerMsg, Settings, SettingsPatch, Snapshot, Welcome};
pub use relay::Relay;
pub use roles::{Action, Role};
