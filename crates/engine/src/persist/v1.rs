//! Format 1, written by voice-chat 0.1.0 (format 2 replaced it in 0.2.0).
//!
//! Frozen: these types describe bytes that exist on users' nodes, so they never change, even
//! when the live types (`Settings`, `Role`, `ChatMessage`) or format 2's do. Unknown fields are refused, so
//! a state that carries more than this format knows is kept aside rather than loaded with
//! parts silently dropped.
use crate::persist::v2;
use serde::Deserialize;
use std::collections::BTreeMap;

pub const VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Always 1; read before this type is chosen (`VersionOnly`), named here so
    /// `deny_unknown_fields` accepts it.
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
    pub chat: Vec<Chat>,
    pub next_chat_id: u64,
    pub last_seq: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSettings {
    pub name: String,
    pub capacity: u32,
    pub default_role: RoomRole,
    pub guests_allowed: bool,
    pub guests_may_speak: bool,
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
    fn into_v2(self) -> v2::RoomRole {
        match self {
            RoomRole::Viewer => v2::RoomRole::Viewer,
            RoomRole::Speaker => v2::RoomRole::Speaker,
            RoomRole::Moderator => v2::RoomRole::Moderator,
            RoomRole::Host => v2::RoomRole::Host,
        }
    }
}

impl State {
    /// Format 2 added each room's ban list; a format-1 room has none.
    pub fn into_v2(self) -> v2::State {
        v2::State {
            version: v2::VERSION,
            rooms: self
                .rooms
                .into_iter()
                .map(|r| v2::Room {
                    id: r.id,
                    settings: v2::RoomSettings {
                        name: r.settings.name,
                        capacity: r.settings.capacity,
                        default_role: r.settings.default_role.into_v2(),
                        guests_allowed: r.settings.guests_allowed,
                        guests_may_speak: r.settings.guests_may_speak,
                        e2ee: false,
                    },
                    invite: r.invite,
                    created_ms: r.created_ms,
                    roles: r.roles.into_iter().map(|(who, role)| (who, role.into_v2())).collect(),
                    bans: Vec::new(),
                    chat: r.chat.into_iter().map(|c| v2::Chat { id: c.id, from: c.from, name: c.name, text: c.text, at_ms: c.at_ms }).collect(),
                    next_chat_id: r.next_chat_id,
                    last_seq: r.last_seq,
                })
                .collect(),
        }
    }
}
