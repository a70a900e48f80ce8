//! What survives a process restart: rooms, settings, invites, roles, chat, event counters.
//! Participants do not (their sockets die with the process); clients re-join or resume.

use crate::protocol::{ChatMessage, RoomId, Settings};
use crate::roles::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PERSISTED_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedState {
    pub version: u32,
    pub rooms: Vec<PersistedRoom>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedRoom {
    pub id: RoomId,
    pub settings: Settings,
    pub invite: String,
    pub created_ms: u64,
    pub roles: BTreeMap<String, Role>,
    pub chat: Vec<ChatMessage>,
    pub next_chat_id: u64,
    /// Seq of the last event, so numbering continues after a restart.
    pub last_seq: u64,
}

impl PersistedState {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("state serializes")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
