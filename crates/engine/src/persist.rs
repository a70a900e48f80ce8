//! What survives a process restart: rooms, settings, invites, roles, ban lists, chat, event
//! counters.
//! Participants do not (their sockets die with the process); clients re-join or resume.
//!
//! # Formats
//!
//! The state slot holds [`slot`]'s wrapper around the JSON of [`PersistedState`], whose
//! `version` says which format it is. Each format that ever shipped has a frozen module
//! (`v1` = voice-chat 0.1.0, `v2` = 0.2.0, which added ban lists) that reads exactly that format and converts it one step
//! forward; loading reads `version` first and migrates step by step to the current one.
//! Bytes that cannot be read (damaged, not ours, or from a newer version) are [`Unreadable`]:
//! the shell keeps them and does not save over them ([`guard`]).
//!
//! # Changing what is saved
//!
//! The test `crates/engine/tests/persist_formats.rs` fails when the live types save
//! differently from the current format's fixture. Then:
//! 1. add `persist/v<N+1>.rs`, a frozen copy of the types as they are now saved, with
//!    `into_current`; turn `v<N>::into_current` into `into_v<N+1>`;
//! 2. bump [`PERSISTED_VERSION`] and add the step to [`PersistedState::from_bytes_versioned`];
//! 3. add `tests/fixtures/state/v<N+1>.*` written by the new version (see the README there);
//! 4. bump the crates' and `metadata.json`'s versions and say what changed in CHANGELOG.md.

pub mod guard;
pub mod slot;
mod v1;
mod v2;

use crate::protocol::{BanEntry, ChatMessage, RoomId, Settings};
use crate::room::Ban;
use crate::roles::Role;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The format this version saves.
pub const PERSISTED_VERSION: u32 = 2;

/// Each saved-state format and the first release that wrote it, oldest first.
pub const FORMATS: &[(u32, &str)] = &[(v1::VERSION, "0.1.0"), (v2::VERSION, "0.2.0")];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedState {
    pub version: u32,
    pub rooms: Vec<PersistedRoom>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedRoom {
    pub id: RoomId,
    /// `e2ee` is written only when true (format 2 from before it existed reads the same).
    #[serde(serialize_with = "saved_settings")]
    pub settings: Settings,
    pub invite: String,
    pub created_ms: u64,
    pub roles: BTreeMap<String, Role>,
    /// The room's ban list, oldest first (format 2 on).
    pub bans: Vec<PersistedBan>,
    pub chat: Vec<ChatMessage>,
    pub next_chat_id: u64,
    /// Seq of the last event, so numbering continues after a restart.
    pub last_seq: u64,
}

/// A room's settings as saved: those of the wire, without `e2ee` when it is false.
fn saved_settings<S: serde::Serializer>(settings: &Settings, ser: S) -> Result<S::Ok, S::Error> {
    let mut value = serde_json::to_value(settings).map_err(serde::ser::Error::custom)?;
    if !settings.e2ee {
        if let Some(obj) = value.as_object_mut() {
            obj.remove("e2ee");
        }
    }
    value.serialize(ser)
}

/// One ban as saved: the shown entry and, for a guest, the resume token that keeps it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedBan {
    pub ban_id: String,
    pub name: String,
    pub node: Option<String>,
    pub guest_token: Option<String>,
    pub banned_ms: u64,
}

impl From<&Ban> for PersistedBan {
    fn from(b: &Ban) -> Self {
        let e = &b.entry;
        Self { ban_id: e.ban_id.clone(), name: e.name.clone(), node: e.node.clone(), guest_token: b.guest_token.clone(), banned_ms: e.banned_ms }
    }
}

impl From<PersistedBan> for Ban {
    fn from(b: PersistedBan) -> Self {
        let guest = b.guest_token.is_some();
        Ban {
            entry: BanEntry { ban_id: b.ban_id, name: b.name, node: if guest { None } else { b.node }, guest, banned_ms: b.banned_ms },
            guest_token: b.guest_token,
        }
    }
}

/// Saved state this version cannot read. It is kept, never overwritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("the saved state is damaged or not voice-chat's: {0}")]
    NotState(String),
    #[error("the saved state is format {found}, newer than the format {PERSISTED_VERSION} this version reads: it was written by a later voice-chat")]
    Newer { found: u32 },
    #[error("the saved state (format {version}) is damaged: {error}")]
    Damaged { version: u32, error: String },
}

/// Just the field every format has.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

impl PersistedState {
    /// The JSON of the current format.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("state serializes")
    }

    /// Any format since 0.1.0, migrated to the current one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Unreadable> {
        Self::from_bytes_versioned(bytes).map(|(state, _)| state)
    }

    /// Like [`from_bytes`](Self::from_bytes), also saying which format the bytes were in.
    pub fn from_bytes_versioned(bytes: &[u8]) -> Result<(Self, u32), Unreadable> {
        let VersionOnly { version } = serde_json::from_slice(bytes).map_err(|e| Unreadable::NotState(e.to_string()))?;
        let damaged = |error: String| Unreadable::Damaged { version, error };
        let state = match version {
            v1::VERSION => serde_json::from_slice::<v1::State>(bytes).map_err(|e| damaged(e.to_string()))?.into_v2().into_current(),
            v2::VERSION => serde_json::from_slice::<v2::State>(bytes).map_err(|e| damaged(e.to_string()))?.into_current(),
            found if found > PERSISTED_VERSION => return Err(Unreadable::Newer { found }),
            other => return Err(Unreadable::NotState(format!("unknown format {other}"))),
        };
        state.check().map_err(damaged)?;
        Ok((state, version))
    }

    /// What no format allows, whatever its version.
    fn check(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        for room in &self.rooms {
            if room.id.is_empty() || !ids.insert(room.id.as_str()) {
                return Err(format!("room id {:?} is empty or appears twice", room.id));
            }
            for ban in &room.bans {
                if ban.node.is_some() == ban.guest_token.is_some() {
                    return Err(format!("ban {:?} of room {:?} names neither or both a node and a guest", ban.ban_id, room.id));
                }
            }
        }
        Ok(())
    }
}
