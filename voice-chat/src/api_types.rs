//! Types of the HTTP API that appear in handler signatures. kit generates the app's WIT from
//! types defined in this crate only, so the engine's richer types travel as JSON values
//! (`serde_json::Value`, which kit maps to `value = string`).
use serde::{Deserialize, Serialize};
use voice_chat_engine::EngineError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub protocol_version: u32,
    pub node: String,
}

/// A refused API call: the engine's stable error code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomCreated {
    pub id: String,
    pub invite: String,
}

impl ApiError {
    pub fn invalid_input(message: impl std::fmt::Display) -> Self {
        Self { code: "invalid_input".into(), message: message.to_string() }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        let code = serde_json::to_value(err.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| err.code.to_string());
        Self { code, message: err.message }
    }
}
