//! Commands behind the shell's HTTP API. The caller is the node owner (authenticated path),
//! who outranks every role in rooms of this node; permission checks and error codes are the
//! same as on the WebSocket path.

use crate::engine::Engine;
use crate::error::{EngineError, ErrorCode};
use crate::event_log::EventLog;
use crate::loudest::LoudestSet;
use crate::protocol::{validate_settings, BanEntry, ChatMessage, ClientMsg, ParticipantId, RoomId, Settings, SettingsPatch, Snapshot};
use crate::roles::{Authority, Role};
use crate::room::Room;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCreated {
    pub id: RoomId,
    pub invite: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub id: RoomId,
    pub settings: Settings,
    pub participants: usize,
    pub seq: u64,
    pub created_ms: u64,
}

pub use crate::room::EventsSince;

impl Engine {
    fn room_ref(&self, room: &str) -> Result<&Room, EngineError> {
        self.rooms.get(room).ok_or(EngineError::new(ErrorCode::RoomNotFound))
    }

    /// Creates a room; the owner (this node) is recorded as its Host.
    /// Runs an owner command, then settles its outputs as after any input.
    fn owner<T>(&mut self, now_ms: u64, command: impl FnOnce(&mut Self) -> Result<T, EngineError>) -> Result<T, EngineError> {
        let result = command(self);
        self.settle(now_ms);
        result
    }

    pub fn create_room(&mut self, now_ms: u64, settings: Settings) -> Result<RoomCreated, EngineError> {
        self.owner(now_ms, |e| e.create_room_now(now_ms, settings))
    }

    fn create_room_now(&mut self, now_ms: u64, settings: Settings) -> Result<RoomCreated, EngineError> {
        if self.rooms.len() >= self.cfg.max_rooms {
            return Err(EngineError::new(ErrorCode::TooManyRooms));
        }
        let mut settings = settings;
        settings.name = settings.name.trim().to_string();
        validate_settings(&settings, self.cfg.max_participants)?;
        let id = self.fresh_id();
        let invite = self.fresh_id();
        let mut roles = BTreeMap::new();
        roles.insert(self.our_node.clone(), Role::Host);
        let room = Room {
            id: id.clone(),
            settings,
            invite: invite.clone(),
            created_ms: now_ms,
            roles,
            participants: Vec::new(),
            hands: Vec::new(),
            log: EventLog::new(self.cfg.event_ring, 0),
            chat: VecDeque::new(),
            next_chat_id: 1,
            next_stream: 0,
            loudest: LoudestSet::with_capacity(16),
            access: Default::default(),
        };
        self.rooms.insert(id.clone(), room);
        self.out.mark_dirty();
        Ok(RoomCreated { id, invite })
    }

    pub fn list_rooms(&self) -> Vec<RoomSummary> {
        self.rooms
            .values()
            .map(|r| RoomSummary {
                id: r.id.clone(),
                settings: r.settings.clone(),
                participants: r.participants.len(),
                seq: r.log.last_seq(),
                created_ms: r.created_ms,
            })
            .collect()
    }

    pub fn room_snapshot(&self, room: &str) -> Result<Snapshot, EngineError> {
        Ok(self.room_ref(room)?.snapshot(&self.our_node))
    }

    pub fn update_settings(&mut self, now_ms: u64, room: &str, patch: SettingsPatch) -> Result<Settings, EngineError> {
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, ClientMsg::UpdateSettings { settings: patch }))?;
        Ok(self.room_ref(room)?.settings.clone())
    }

    pub fn close_room(&mut self, now_ms: u64, room: &str) -> Result<(), EngineError> {
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, ClientMsg::CloseRoom {}))
    }

    pub fn invite(&self, room: &str) -> Result<String, EngineError> {
        Ok(self.room_ref(room)?.invite.clone())
    }

    /// A new invite token; the old one stops working (people already in stay).
    pub fn rotate_invite(&mut self, now_ms: u64, room: &str) -> Result<String, EngineError> {
        self.owner(now_ms, |e| {
            e.room_ref(room)?;
            let token = e.fresh_id();
            e.rooms.get_mut(room).expect("checked").invite = token.clone();
            e.out.mark_dirty();
            Ok(token)
        })
    }

    pub fn set_role(&mut self, now_ms: u64, room: &str, participant: &str, role: Role) -> Result<(), EngineError> {
        let msg = ClientMsg::SetRole { participant: participant.to_string(), role };
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, msg))
    }

    pub fn kick(&mut self, now_ms: u64, room: &str, participant: &str) -> Result<(), EngineError> {
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, ClientMsg::Kick { participant: participant.to_string() }))
    }

    /// Removes the participant and keeps its identity out (docs/protocol.md, "Bans").
    pub fn ban(&mut self, now_ms: u64, room: &str, participant: &str) -> Result<(), EngineError> {
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, ClientMsg::Ban { participant: participant.to_string() }))
    }

    /// The room's ban list, oldest first.
    pub fn bans(&self, room: &str) -> Result<Vec<BanEntry>, EngineError> {
        Ok(self.room_ref(room)?.ban_list())
    }

    /// Lifts a ban; `ban_not_found` if the room has no ban with that id.
    pub fn unban(&mut self, now_ms: u64, room: &str, ban_id: &str) -> Result<(), EngineError> {
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, ClientMsg::Unban { ban_id: ban_id.to_string() }))
    }

    /// How many identities' roles the room remembers (at most `room::MAX_REMEMBERED_ROLES`).
    pub fn remembered_roles(&self, room: &str) -> Result<usize, EngineError> {
        Ok(self.room_ref(room)?.roles.len())
    }

    pub fn mute(&mut self, now_ms: u64, room: &str, participant: &str, muted: bool) -> Result<(), EngineError> {
        let participant: ParticipantId = participant.to_string();
        let msg = if muted { ClientMsg::Mute { participant } } else { ClientMsg::Unmute { participant } };
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, msg))
    }

    pub fn mute_all(&mut self, now_ms: u64, room: &str) -> Result<(), EngineError> {
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, ClientMsg::MuteAll {}))
    }

    pub fn clear_chat(&mut self, now_ms: u64, room: &str) -> Result<(), EngineError> {
        self.owner(now_ms, |e| e.room_command(now_ms, room, Authority::Owner, ClientMsg::ClearChat {}))
    }

    pub fn chat_history(&self, room: &str) -> Result<Vec<ChatMessage>, EngineError> {
        Ok(self.room_ref(room)?.chat.iter().cloned().collect())
    }

    pub fn events_since(&self, room: &str, seq: u64) -> Result<EventsSince, EngineError> {
        Ok(self.room_ref(room)?.events_since(seq, &self.our_node))
    }
}
