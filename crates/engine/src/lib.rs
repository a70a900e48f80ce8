//! Sans-IO room engine of voice-chat (wire formats: docs/protocol.md).
//!
//! The engine never touches the runtime, a clock or OS randomness. It is a state machine with
//! one I/O contract (the shape of str0m and quinn-proto):
//!
//! - [`Engine::handle`]`(now_ms, input)` for everything that happens outside: a socket opened,
//!   sent text or binary, or closed ([`Input::Open`], or [`Input::OpenFrom`] with the client's
//!   address, [`Input::Text`], [`Input::Binary`], [`Input::Close`]); the runtime's list of
//!   live sockets ([`Input::LiveSockets`]); a peer
//!   node's control request or audio batch ([`Input::PeerControl`], [`Input::PeerAudio`]); the
//!   outcome of a control request we sent ([`Input::PeerDelivered`], [`Input::PeerSendFailed`]);
//!   and the timer ([`Input::Timeout`]). `now_ms` is any monotonic millisecond clock.
//! - [`Engine::poll_output`]`(&mut buf)`, drained after every input until `None`: each
//!   [`Output`] is one thing for the shell to do, with its payload written into the caller's
//!   reusable [`OutBuf`] (so the audio path allocates nothing): push text or an audio frame to
//!   sockets, close a socket, send a control request or an audio batch to a peer node, save
//!   the state, or report the live sockets.
//! - [`Engine::poll_timeout`]: when to send [`Input::Timeout`], from one timer table (presence
//!   sweep, heartbeat, typing/speaking indicators, save coalescing, control retries, sync
//!   retries, socket checks).
//!
//! The owner's HTTP commands (`create_room`, `list_rooms`, `room_snapshot`, `update_settings`,
//! `close_room`, `invite`, `rotate_invite`, `set_role`, `kick`, `mute`, `mute_all`,
//! `clear_chat`, `chat_history`, `events_since`, `metrics`) are typed methods that answer at
//! once; what they cause comes out of `poll_output` too. Errors are [`EngineError`] with a
//! stable code and [`EngineError::http_status`]. Randomness (ids, tokens) comes from the
//! [`Entropy`] the shell passes in.
//!
//! The HTTP long-polling transport (any participant, when a WebSocket cannot open) is typed
//! methods too: `poll_join`, `poll_send`, `poll` / `poll_again` (a held poll), `poll_leave`
//! ([`poll_sessions`]). A session is a connection inside the engine whose pushes wait in its
//! queue; the shell never sees its id in an output.
//!
//! Every rule is here, with native tests: retrying a control request (after 1 s, then 2 s)
//! and calling its peer unreachable only after every try failed, coalescing saves, which
//! sockets are open, and when audio for a peer leaves (at once, one batch per peer per input).
//!
//! # How the shell drives it
//!
//! ```
//! use voice_chat_engine::{Config, ConnKind, Engine, Input, OutBuf, Output, SeededEntropy, ServerMsg, Settings};
//!
//! // The shell uses the runtime's randomness; a seeded source keeps this example repeatable.
//! let mut engine = Engine::new(Config::default(), "alice.os", Box::new(SeededEntropy::new(1)));
//! let mut buf = OutBuf::new();
//! let room = engine.create_room(0, Settings::default()).unwrap();
//!
//! engine.handle(10, Input::Open { conn: 7, kind: ConnKind::Owner }).unwrap();
//! let join = format!(r#"{{"v":1,"type":"join","room":"{}","name":"Alice"}}"#, room.id);
//! engine.handle(10, Input::Text { conn: 7, text: join.as_bytes() }).unwrap();
//!
//! let mut welcomed = false;
//! while let Some(output) = engine.poll_output(&mut buf) {
//!     match output {
//!         // Push buf.bytes as Text to every channel in buf.conns.
//!         Output::Text => {
//!             let msg = ServerMsg::from_json(std::str::from_utf8(&buf.bytes).unwrap()).unwrap();
//!             welcomed |= matches!(msg, ServerMsg::Welcome(_)) && buf.conns == [7];
//!         }
//!         // Push buf.bytes as Binary to every channel in buf.conns.
//!         Output::Binary => {}
//!         Output::Close { conn: _ } => {}
//!         // Send buf.bytes to `engine.peer_name(node)`; report PeerDelivered or PeerSendFailed.
//!         Output::PeerControl { node: _, request: _, timeout_ms: _ } => {}
//!         // Send buf.bytes to `engine.peer_name(node)`, fire and forget.
//!         Output::PeerAudio { node: _ } => {}
//!         Output::Persist(state) => {
//!             let _bytes = state.to_bytes(); // save it
//!         }
//!         // Answer with Input::LiveSockets { conns: <the runtime's channel ids> }.
//!         Output::ListSockets => {}
//!     }
//! }
//! assert!(welcomed);
//!
//! // Wake the engine when it asks to be woken.
//! let at = engine.poll_timeout().expect("a socket is open, so the socket check is armed");
//! engine.handle(at, Input::Timeout).unwrap();
//! assert_eq!(engine.poll_output(&mut buf), Some(Output::ListSockets));
//! ```

pub mod api;
pub mod audio;
pub mod audio_interest;
mod commands;
pub mod config;
mod e2ee;
mod effects;
pub mod engine;
pub mod error;
pub mod event_log;
pub mod ids;
pub mod io;
pub mod limits;
mod lobby;
mod lobby_push;
pub mod loudest;
pub mod metrics;
mod outbox;
mod peer_interest;
mod peer_links;
pub mod peer_wire;
pub mod persist;
mod poll_queue;
pub mod poll_sessions;
pub mod protocol;
mod relay;
mod remote_rooms;
pub mod roles;
pub mod secret;
pub mod room;
mod save;
mod subscribers;
pub mod seen_window;
pub mod speaking;
pub mod text;
mod timers;
pub mod topics;

/// The runtime's WebSocket channel id.
pub type ConnId = u32;

pub use api::{EventsSince, RoomCreated, RoomSummary};
pub use config::Config;
pub use engine::Engine;
pub use io::{ConnKind, Input, OutBuf, Output, PeerId, Refusal};
pub use error::{EngineError, ErrorCode};
pub use event_log::Since;
pub use ids::{Entropy, SeededEntropy};
pub use metrics::{DropReason, Metrics};
pub use peer_wire::{PeerEnvelope, PeerMsg, PeerRefusal};
pub use persist::PersistedState;
pub use poll_sessions::{PollAnswer, PollStart, PollStep};
pub use protocol::{ClientMsg, E2eeAnnounce, Event, LobbyRoom, LobbySpeaker, LoggedEvent, Presence, ServerMsg, Settings, SettingsPatch, Snapshot, Welcome, WrappedKey};
pub use roles::{Action, Role};
