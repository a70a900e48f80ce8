//! Stable error codes shown to clients (docs/protocol.md, "Error codes").

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Error)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    #[error("message is not valid JSON or misses fields")]
    Malformed,
    #[error("unknown message type")]
    UnknownType,
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    #[error("message too large")]
    TooLarge,
    #[error("too many messages; slow down")]
    RateLimited,
    #[error("join a room first")]
    NotJoined,
    #[error("this connection already joined a room")]
    AlreadyJoined,
    #[error("no such room")]
    RoomNotFound,
    #[error("the room is full")]
    RoomFull,
    #[error("this node hosts the maximum number of rooms")]
    TooManyRooms,
    #[error("this room does not admit guests")]
    GuestsNotAllowed,
    #[error("wrong or missing invite token")]
    BadInvite,
    #[error("you may not do that in your role")]
    Forbidden,
    #[error("no such participant")]
    ParticipantNotFound,
    #[error("display name must be 1 to 32 characters")]
    InvalidName,
    #[error("that display name is taken in this room")]
    NameTaken,
    #[error("chat message empty or too long")]
    InvalidChat,
    #[error("invalid settings")]
    InvalidSettings,
    #[error("that hand is not raised")]
    HandNotRaised,
    #[error("the sending node is not a member of that room")]
    NotMember,
    #[error("the node hosting the room does not answer")]
    HostUnreachable,
    #[error("unknown connection; reconnect")]
    UnknownConnection,
    #[error("this node has too many open voice-chat connections")]
    TooManyConnections,
    #[error("no room joined in time; the connection is closed")]
    JoinTimeout,
    #[error("you are banned from this room")]
    Banned,
    #[error("the room's ban list is full; lift a ban first")]
    TooManyBans,
    #[error("no such ban")]
    BanNotFound,
    #[error("invalid subscription pattern")]
    InvalidPattern,
    #[error("too many subscriptions on this connection")]
    TooManySubscriptions,
    #[error("too many polling sessions; try again later")]
    TooManySessions,
    #[error("unknown or expired polling session; join again (with your resume token)")]
    UnknownSession,
    #[error("this room is not end-to-end encrypted")]
    E2eeOff,
    #[error("this room is end-to-end encrypted: chat must be encrypted (\"e1.…\")")]
    E2eeRequired,
    #[error("malformed e2ee_hello or e2ee_keys")]
    InvalidE2ee,
}

/// A refused request: code plus human text. Returned by the HTTP-style commands and sent as
/// `error` messages on the WebSocket path.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct EngineError {
    pub code: ErrorCode,
    pub message: String,
}

impl EngineError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: code.to_string() }
    }

    pub fn with(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// HTTP status the shell should answer with.
    pub fn http_status(&self) -> u16 {
        use ErrorCode::*;
        match self.code {
            RoomNotFound | ParticipantNotFound | BanNotFound | UnknownSession => 404,
            Forbidden | NotMember | BadInvite | GuestsNotAllowed | Banned => 403,
            RateLimited | TooManyRooms | TooManyConnections | TooManyBans | TooManySubscriptions | TooManySessions => 429,
            RoomFull | NameTaken | HandNotRaised | AlreadyJoined => 409,
            TooLarge => 413,
            HostUnreachable => 502,
            _ => 400,
        }
    }
}

impl From<ErrorCode> for EngineError {
    fn from(code: ErrorCode) -> Self {
        EngineError::new(code)
    }
}
