//! The voice-chat process: a thin `#[hyperapp]` shell around the room engine
//! (`voice-chat-engine`). Handlers translate runtime messages into engine inputs; the shell
//! module carries the engine's outputs out. docs/http-api.md and docs/protocol.md describe
//! what goes over the wire.
mod api_types;
mod caller;
mod clock;
mod entropy;
mod peer_requests;
mod polling;
mod shell;
mod state_store;
mod ws_push;

use api_types::{ApiError, AppInfo, RoomCreated};
use clock::now_ms;
use hyperapp_macro::hyperapp;
use hyperware_process_lib::hyperapp::{set_response_status, SaveOptions};
use hyperware_process_lib::http::server::WsMessageType;
use hyperware_process_lib::http::StatusCode;
use hyperware_process_lib::LazyLoadBlob;
use serde::Serialize;
use voice_chat_engine::protocol::PROTOCOL_VERSION;
use voice_chat_engine::{EngineError, Role, Settings, SettingsPatch};

/// What the hyperapp state holds: the engine's persisted state, serialized.
/// Its `Deserialize` is in state_store: the slot is read and judged there, never by the macro.
#[derive(Default, Debug, Serialize)]
pub struct VoiceChatState {
    pub saved: Option<Vec<u8>>,
}

#[hyperapp(
    name = "Voice Chat",
    ui = Some(HttpBindingConfig::new(false, false, false, None)),
    endpoints = vec![
        Binding::Http { path: "/api", config: HttpBindingConfig::default() },
        Binding::Http { path: "/api/info", config: HttpBindingConfig::default() },
        Binding::Http { path: "/api/rooms", config: HttpBindingConfig::default() },
        Binding::Http { path: "/api/metrics", config: HttpBindingConfig::default() },
        Binding::Http { path: "/api/saved-state", config: HttpBindingConfig::default() },
        // Unauthenticated: only the polling calls answer here (`caller::owner_only`).
        Binding::Http { path: "/guest-api", config: HttpBindingConfig::new(false, false, false, None) },
        Binding::Ws { path: "/ws", config: WsBindingConfig::new(true, false, false) },
        Binding::Ws { path: "/guest-ws", config: WsBindingConfig::new(false, false, false) },
    ],
    save_config = SaveOptions::Never,
    wit_world = "voice-chat-template-dot-os-v0"
)]
impl VoiceChatState {
    #[init]
    async fn initialize(&mut self) {
        // Warnings only: the default (debug to a vfs file) would write on every message.
        hyperware_process_lib::logging::init_logging(
            hyperware_process_lib::logging::Level::WARN,
            hyperware_process_lib::logging::Level::INFO,
            None,
            None,
            None,
        )
        .ok();
        // The macro adds a homepage tile only with both an icon and a widget; we want the tile.
        hyperware_process_lib::homepage::add_to_homepage("Voice Chat", Some(&homepage_icon()), Some("/"), None);
        shell::start(state_store::load(now_ms()));
        self.saved = None;
    }

    #[http(method = "GET", path = "/api/info")]
    async fn get_info(&mut self) -> AppInfo {
        json_content();
        AppInfo {
            name: "voice-chat".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol_version: PROTOCOL_VERSION,
            node: hyperware_process_lib::our().node,
        }
    }

    #[http(method = "GET", path = "/api/rooms")]
    async fn list_rooms(&mut self) -> serde_json::Value {
        if let Err(refused) = caller::owner_only() {
            return serde_json::json!({ "Err": refused });
        }
        json_content();
        shell::with(|s| serde_json::to_value(s.engine.list_rooms()).unwrap_or_default())
    }

    #[http(method = "GET", path = "/api/metrics")]
    async fn get_metrics(&mut self) -> serde_json::Value {
        if let Err(refused) = caller::owner_only() {
            return serde_json::json!({ "Err": refused });
        }
        json_content();
        shell::with(|s| serde_json::to_value(s.engine.metrics()).unwrap_or_default())
    }

    /// Whether the saved rooms were read (docs/http-api.md, "Saved state").
    #[http(method = "GET", path = "/api/saved-state")]
    async fn saved_state(&mut self) -> serde_json::Value {
        if let Err(refused) = caller::owner_only() {
            return serde_json::json!({ "Err": refused });
        }
        json_content();
        serde_json::to_value(state_store::status()).unwrap_or_default()
    }

    /// The owner gives up saved state that could not be read; `kept_in` names its kept copy.
    #[http(method = "POST")]
    async fn discard_unreadable_state(&mut self, kept_in: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        json_content();
        shell::with(|s| state_store::discard_unreadable(&kept_in, &s.engine.persisted())).map_err(|refused| {
            if let Ok(status) = StatusCode::from_u16(refused.http_status()) {
                set_response_status(status);
            }
            ApiError { code: refused.code().into(), message: refused.to_string() }
        })
    }

    #[http(method = "POST")]
    async fn create_room(&mut self, settings: serde_json::Value) -> Result<RoomCreated, ApiError> {
        caller::owner_only()?;
        let settings: Settings = parse(settings)?;
        answer(shell::with(|s| s.engine.create_room(now_ms(), settings)))
            .map(|created| RoomCreated { id: created.id, invite: created.invite })
    }

    #[http(method = "POST")]
    async fn get_room(&mut self, room: String) -> Result<serde_json::Value, ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.room_snapshot(&room))).and_then(to_value)
    }

    #[http(method = "POST")]
    async fn update_settings(&mut self, room: String, patch: serde_json::Value) -> Result<serde_json::Value, ApiError> {
        caller::owner_only()?;
        let patch: SettingsPatch = parse(patch)?;
        answer(shell::with(|s| s.engine.update_settings(now_ms(), &room, patch))).and_then(to_value)
    }

    #[http(method = "POST")]
    async fn close_room(&mut self, room: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.close_room(now_ms(), &room)))
    }

    #[http(method = "POST")]
    async fn get_invite(&mut self, room: String) -> Result<String, ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.invite(&room)))
    }

    #[http(method = "POST")]
    async fn rotate_invite(&mut self, room: String) -> Result<String, ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.rotate_invite(now_ms(), &room)))
    }

    #[http(method = "POST")]
    async fn set_role(&mut self, room: String, participant: String, role: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        let role: Role = parse(serde_json::Value::String(role))?;
        answer(shell::with(|s| s.engine.set_role(now_ms(), &room, &participant, role)))
    }

    #[http(method = "POST")]
    async fn kick(&mut self, room: String, participant: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.kick(now_ms(), &room, &participant)))
    }

    /// Removes the participant and keeps its node (or a guest's resume token) out.
    #[http(method = "POST")]
    async fn ban(&mut self, room: String, participant: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.ban(now_ms(), &room, &participant)))
    }

    /// The room's ban list: `[{ban_id, name, node, guest, banned_ms}]`, oldest first.
    #[http(method = "POST")]
    async fn bans(&mut self, room: String) -> Result<serde_json::Value, ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.bans(&room))).and_then(to_value)
    }

    #[http(method = "POST")]
    async fn unban(&mut self, room: String, ban_id: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.unban(now_ms(), &room, &ban_id)))
    }

    #[http(method = "POST")]
    async fn mute(&mut self, room: String, participant: String, muted: bool) -> Result<(), ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.mute(now_ms(), &room, &participant, muted)))
    }

    #[http(method = "POST")]
    async fn mute_all(&mut self, room: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.mute_all(now_ms(), &room)))
    }

    #[http(method = "POST")]
    async fn clear_chat(&mut self, room: String) -> Result<(), ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.clear_chat(now_ms(), &room)))
    }

    #[http(method = "POST")]
    async fn chat_history(&mut self, room: String) -> Result<serde_json::Value, ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.chat_history(&room))).and_then(to_value)
    }

    #[http(method = "POST")]
    async fn events_since(&mut self, room: String, seq: u64) -> Result<serde_json::Value, ApiError> {
        caller::owner_only()?;
        answer(shell::with(|s| s.engine.events_since(&room, seq))).and_then(to_value)
    }

    /// `PollJoin`: opens a polling session with a `join` message exactly as on a socket
    /// (docs/http-api.md, "Polling transport"). On `/guest-api` (a guest) or `/api` (the owner).
    #[http(method = "POST")]
    async fn poll_join(&mut self, join: serde_json::Value) -> Result<serde_json::Value, ApiError> {
        polling::join(join)
    }

    /// `PollSend`: a client→server control message over the session.
    #[http(method = "POST")]
    async fn poll_send(&mut self, session: String, message: serde_json::Value) -> Result<(), ApiError> {
        polling::send(&session, message)
    }

    /// `Poll`: what the session was sent after `cursor`, held up to 10 s while there is none.
    #[http(method = "POST")]
    async fn poll(&mut self, session: String, cursor: u64) -> Result<serde_json::Value, ApiError> {
        polling::poll(session, cursor).await
    }

    /// `PollLeave`: leaves the room and ends the session.
    #[http(method = "POST")]
    async fn poll_leave(&mut self, session: String) -> Result<(), ApiError> {
        polling::leave(&session)
    }

    /// A control envelope from the voice-chat process on another node, in the request's
    /// blob (so the engine checks its size before it is parsed, once); the runtime vouches
    /// for the source node.
    #[remote]
    fn peer_message(&mut self) -> Result<(), String> {
        let from = hyperware_process_lib::hyperapp::source().node;
        let Some(blob) = hyperware_process_lib::get_blob() else {
            return Err("control message without a blob".into());
        };
        shell::with(|s| s.on_peer_message(&from, &blob.bytes))
    }

    /// A batch of audio frames from another node, in the request's blob.
    #[remote]
    fn peer_audio(&mut self) -> Result<(), String> {
        let from = hyperware_process_lib::hyperapp::source().node;
        let Some(mut blob) = hyperware_process_lib::get_blob() else {
            return Err("audio batch without a blob".into());
        };
        shell::with(|s| s.on_peer_audio(&from, &mut blob.bytes));
        Ok(())
    }

    #[ws]
    fn websocket(&mut self, channel_id: u32, message_type: WsMessageType, blob: LazyLoadBlob) {
        let mut bytes = blob.bytes;
        shell::with(|s| s.on_ws(channel_id, message_type, &mut bytes));
    }
}

/// The homepage wants its icon as base64 SVG.
fn homepage_icon() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(include_bytes!("icon.svg"))
}

/// The node answers with `application/octet-stream` unless the app says otherwise.
fn json_content() {
    hyperware_process_lib::hyperapp::add_response_header("Content-Type".into(), "application/json".into());
}

/// An engine answer for the HTTP API: errors carry their code and an HTTP status.
fn answer<T>(result: Result<T, EngineError>) -> Result<T, ApiError> {
    json_content();
    result.map_err(|err| {
        if let Ok(status) = StatusCode::from_u16(err.http_status()) {
            set_response_status(status);
        }
        ApiError::from(err)
    })
}

fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    json_content();
    serde_json::from_value(value).map_err(|e| {
        set_response_status(StatusCode::BAD_REQUEST);
        ApiError::invalid_input(e)
    })
}

fn to_value<T: Serialize>(value: T) -> Result<serde_json::Value, ApiError> {
    Ok(serde_json::to_value(value).unwrap_or_default())
}
