//! Format 2, written by voice-chat 0.2.0 (and every later release until format 3): format 1
//! plus each room's ban list.
//!
//! Frozen, like `v1`: these types describe bytes on users' nodes, so they never change.
//! Settings, roles and chat are saved as in format 1 but have their own copies here (`v1`
//! converts into them; a format module imports no later one's types and no earlier one's).
//! Unknown fields are refused.
use crate::persist::{PersistedBan, PersistedRoom, PersistedState};
use crate::protocol::{ChatMessage, Settings};
use crate::roles::Role;
use serde::Deserialize;
use std::collections::BTreeMap;

pub const VERSION: u32 = 2;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Always 2; read before this type is chosen, named here so `deny_unknown_fields`
    /// accepts it.
    #[allow(dead_code)]
    pub version: u32,
    pub rooms: Vec<Room>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    pub id: String,
    pub settings: RoomSettings,
    pub invite: String,
    pub created_ms: u64,
    pub roles: BTreeMap<String, RoomRole>,
    pub bans: Vec<RoomBan>,
    pub chat: Vec<Chat>,
    pub next_chat_id: u64,
    pub last_seq: u64,
}

/// A banned node (`node` set, `guest_token` null) or guest (`node` null, `guest_token` the
/// resume token it had).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomBan {
    pub ban_id: String,
    pub name: String,
    pub node: Option<String>,
    pub guest_token: Option<String>,
    pub banned_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSettings {
    pub name: String,
    pub capacity: u32,
    pub default_role: RoomRole,
    pub guests_allowed: bool,
    pub guests_may_speak: bool,
    /// End-to-end encrypted room. Added before 0.2.0 shipped (no released package wrote
    /// format 2 without reading it); written only when true, absent means false.
    #[serde(default)]
    pub e2ee: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomRole {
    Viewer,
    Speaker,
    Moderator,
    Host,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chat {
    pub id: u64,
    pub from: String,
    pub name: String,
    pub text: String,
    pub at_ms: u64,
}

impl RoomRole {
    fn current(self) -> Role {
        match self {
            RoomRole::Viewer => Role::Viewer,
            RoomRole::Speaker => Role::Speaker,
            RoomRole::Moderator => Role::Moderator,
            RoomRole::Host => Role::Host,
        }
    }
}

impl State {
    /// Format 2 is the current format: every field maps one to one. When format 3 comes,
    /// this becomes `into_v3` and the new module gets `into_current`.
    pub fn into_current(self) -> PersistedState {
        PersistedState {
            version: crate::persist::PERSISTED_VERSION,
            rooms: self
                .rooms
                .into_iter()
                .map(|r| PersistedRoom {
                    id: r.id,
                    settings: Settings {
                        name: r.settings.name,
                        capacity: r.settings.capacity,
                        default_role: r.settings.default_role.current(),
                        guests_allowed: r.settings.guests_allowed,
                        guests_may_speak: r.settings.guests_may_speak,
                        e2ee: r.settings.e2ee,
                    },
                    invite: r.invite,
                    created_ms: r.created_ms,
                    roles: r.roles.into_iter().map(|(who, role)| (who, role.current())).collect(),
                    bans: r
                        .bans
                        .into_iter()
                        .map(|b| PersistedBan { ban_id: b.ban_id, name: b.name, node: b.node, guest_token: b.guest_token, banned_ms: b.banned_ms })
                        .collect(),
                    chat: r
                        .chat
                        .into_iter()
                        .map(|c| ChatMessage { id: c.id, from: c.from, name: c.name, text: c.text, at_ms: c.at_ms })
                        .collect(),
                    next_chat_id: r.next_chat_id,
                    last_seq: r.last_seq,
                })
                .collect(),
        }
    }
}
