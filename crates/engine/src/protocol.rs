//! Control messages (JSON) between browsers and this node: client→server, server→client,
//! room events, snapshots. docs/protocol.md documents each one.

use crate::error::{EngineError, ErrorCode};
use crate::roles::Role;
use serde::{Deserialize, Serialize};

pub const PROTOCOL_VERSION: u32 = 1;
pub const MAX_REF_CHARS: usize = 64;

pub type RoomId = String;
pub type ParticipantId = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub name: String,
    pub capacity: u32,
    pub default_role: Role,
    pub guests_allowed: bool,
    pub guests_may_speak: bool,
    /// End-to-end encrypted room (docs/protocol.md, "End-to-end encrypted rooms"): set only
    /// when the room is created; absent means false.
    #[serde(default)]
    pub e2ee: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            name: "Room".into(),
            capacity: 50,
            default_role: Role::Speaker,
            guests_allowed: false,
            guests_may_speak: false,
            e2ee: false,
        }
    }
}

/// A partial update of [`Settings`]; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guests_allowed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guests_may_speak: Option<bool>,
    /// Not a setting that can change: `e2ee` is fixed when the room is created. Named here
    /// only so that a patch carrying it is refused (`invalid_settings`) instead of ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2ee: Option<serde_json::Value>,
}

pub const MAX_ROOM_NAME_CHARS: usize = 64;

impl SettingsPatch {
    /// The settings after the patch, or `invalid_settings` (the original stays untouched).
    pub fn applied_to(&self, current: &Settings, max_participants: u32) -> Result<Settings, EngineError> {
        if self.e2ee.is_some() {
            return Err(EngineError::with(ErrorCode::InvalidSettings, "e2ee is set when the room is created and cannot change"));
        }
        let mut s = current.clone();
        if let Some(name) = &self.name {
            s.name = name.trim().to_string();
        }
        if let Some(c) = self.capacity {
            s.capacity = c;
        }
        if let Some(r) = self.default_role {
            s.default_role = r;
        }
        if let Some(g) = self.guests_allowed {
            s.guests_allowed = g;
        }
        if let Some(g) = self.guests_may_speak {
            s.guests_may_speak = g;
        }
        validate_settings(&s, max_participants)?;
        Ok(s)
    }
}

pub fn validate_settings(s: &Settings, max_participants: u32) -> Result<(), EngineError> {
    let chars = s.name.chars().count();
    if chars == 0 || chars > MAX_ROOM_NAME_CHARS || s.name.chars().any(char::is_control) {
        return Err(EngineError::with(ErrorCode::InvalidSettings, "room name must be 1 to 64 characters"));
    }
    if s.capacity == 0 || s.capacity > max_participants {
        return Err(EngineError::with(
            ErrorCode::InvalidSettings,
            format!("capacity must be 1 to {max_participants}"),
        ));
    }
    if s.default_role > Role::Speaker {
        return Err(EngineError::with(ErrorCode::InvalidSettings, "default role must be speaker or viewer"));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: ParticipantId,
    pub name: String,
    pub role: Role,
    pub stream: u16,
    pub muted: bool,
    pub self_muted: bool,
    pub reconnecting: bool,
    pub guest: bool,
    /// Home node of the participant (this node for locals and guests).
    pub node: String,
    /// What it announced with `e2ee_hello` (end-to-end encrypted rooms), or null.
    #[serde(default)]
    pub e2ee: Option<E2eeAnnounce>,
}

/// A participant's announced public key and its proof of holding the room key (opaque to
/// the node; docs/security.md says what is in them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct E2eeAnnounce {
    pub public_key: String,
    pub proof: String,
}

/// One entry of `e2ee_keys`: a room key wrapped for participant `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub to: ParticipantId,
    pub wrapped: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: u64,
    pub from: ParticipantId,
    pub name: String,
    pub text: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub room: RoomId,
    pub host: String,
    pub settings: Settings,
    pub participants: Vec<ParticipantInfo>,
    pub hands: Vec<ParticipantId>,
    pub chat: Vec<ChatMessage>,
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Kicked,
    /// Removed and kept out (see [`BanEntry`]).
    Banned,
}

/// One entry of a room's ban list as clients and the owner see it. A guest's resume token,
/// which is what keeps it out, is never shown: `ban_id` is a separate random id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanEntry {
    pub ban_id: String,
    /// Display name of the participant when it was banned.
    pub name: String,
    /// The banned node, or null for a guest.
    pub node: Option<String>,
    pub guest: bool,
    pub banned_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandReason {
    Lowered,
    Accepted,
    Dismissed,
}

/// A logged room event. `by` = None means the system (hand-over, the node owner via HTTP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Joined { participant: ParticipantInfo },
    Left { participant: ParticipantId, reason: LeaveReason },
    GhostRemoved { participant: ParticipantId },
    Reconnecting { participant: ParticipantId },
    Reconnected { participant: ParticipantId },
    RoleChanged { participant: ParticipantId, role: Role, by: Option<ParticipantId> },
    Muted { participant: ParticipantId, muted: bool, by: Option<ParticipantId> },
    SelfMuted { participant: ParticipantId, muted: bool },
    HandRaised { participant: ParticipantId },
    HandLowered { participant: ParticipantId, reason: HandReason },
    Chat { message: ChatMessage },
    ChatCleared { by: Option<ParticipantId> },
    SettingsChanged { settings: Settings },
    Closed { by: Option<ParticipantId> },
    /// A participant announced (or changed) its end-to-end public key.
    KeyAnnounced { participant: ParticipantId, public_key: String, proof: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    pub seq: u64,
    pub event: Event,
}

/// Ephemeral state changes: no seq, never replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Presence {
    Speaking { participant: ParticipantId, speaking: bool },
    Typing { participant: ParticipantId, typing: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub token: String,
    pub last_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Join {
        room: RoomId,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
    },
    Leave {},
    Ping { t: f64 },
    Sync { last_seq: u64 },
    Chat { text: String },
    Typing {},
    RaiseHand {},
    LowerHand {},
    AcceptHand { participant: ParticipantId },
    DismissHand { participant: ParticipantId },
    SetRole { participant: ParticipantId, role: Role },
    Mute { participant: ParticipantId },
    Unmute { participant: ParticipantId },
    MuteAll {},
    SelfMute { muted: bool },
    Kick { participant: ParticipantId },
    Ban { participant: ParticipantId },
    ListBans {},
    Unban { ban_id: String },
    RotateInvite {},
    UpdateSettings { settings: SettingsPatch },
    CloseRoom {},
    ClearChat {},
    /// Add the topics a pattern matches (docs/protocol.md, "Subscriptions").
    Subscribe { pattern: String },
    /// Remove the topics a pattern matches.
    Unsubscribe { pattern: String },
    /// Announce this participant's public key (end-to-end encrypted rooms).
    E2eeHello { public_key: String, proof: String },
    /// Hand a room key, wrapped for each addressee, to those participants (Host, Moderator).
    E2eeKeys { epoch: u32, keys: Vec<WrappedKey> },
}

pub const CLIENT_TYPES: [&str; 27] = [
    "join",
    "leave",
    "ping",
    "sync",
    "chat",
    "typing",
    "raise_hand",
    "lower_hand",
    "accept_hand",
    "dismiss_hand",
    "set_role",
    "mute",
    "unmute",
    "mute_all",
    "self_mute",
    "kick",
    "ban",
    "list_bans",
    "unban",
    "rotate_invite",
    "update_settings",
    "close_room",
    "clear_chat",
    "subscribe",
    "unsubscribe",
    "e2ee_hello",
    "e2ee_keys",
];

/// A decoded client message with its envelope fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientEnvelope {
    pub reference: Option<String>,
    pub msg: ClientMsg,
}

/// Refusal of an undecodable message; `reference` is echoed when it could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    pub reference: Option<String>,
}

#[derive(Deserialize)]
struct Probe {
    v: Option<serde_json::Value>,
    #[serde(rename = "type")]
    ty: Option<serde_json::Value>,
    #[serde(rename = "ref")]
    reference: Option<serde_json::Value>,
}

/// Decodes one client text message: size, JSON, version, type, then fields.
pub fn decode_client(bytes: &[u8], max_bytes: usize) -> Result<ClientEnvelope, DecodeError> {
    let fail = |code: ErrorCode, message: String, reference: Option<String>| DecodeError { code, message, reference };
    if bytes.len() > max_bytes {
        return Err(fail(ErrorCode::TooLarge, format!("control messages are at most {max_bytes} bytes"), None));
    }
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| fail(ErrorCode::Malformed, format!("not a JSON object: {e}"), None))?;
    let reference = match probe.reference {
        Some(serde_json::Value::String(s)) if s.chars().count() <= MAX_REF_CHARS => Some(s),
        _ => None,
    };
    match probe.v {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(PROTOCOL_VERSION as u64) => {}
        Some(other) => {
            return Err(fail(
                ErrorCode::UnsupportedVersion,
                format!("protocol version {other} is not supported; this server speaks {PROTOCOL_VERSION}"),
                reference,
            ))
        }
        None => return Err(fail(ErrorCode::Malformed, "missing \"v\"".into(), reference)),
    }
    let ty = match probe.ty {
        Some(serde_json::Value::String(t)) => t,
        _ => return Err(fail(ErrorCode::Malformed, "missing \"type\"".into(), reference)),
    };
    if !CLIENT_TYPES.contains(&ty.as_str()) {
        let shown: String = ty.chars().take(40).collect();
        return Err(fail(ErrorCode::UnknownType, format!("unknown message type {shown:?}"), reference));
    }
    let msg: ClientMsg = serde_json::from_slice(bytes)
        .map_err(|e| fail(ErrorCode::Malformed, format!("bad {ty} message: {e}"), reference.clone()))?;
    Ok(ClientEnvelope { reference, msg })
}

/// Encodes a client message (the UI's job; used by tests and the peer proxy).
pub fn encode_client(msg: &ClientMsg, reference: Option<&str>) -> String {
    let mut value = serde_json::to_value(msg).expect("client messages serialize");
    let obj = value.as_object_mut().expect("tagged enum is an object");
    obj.insert("v".into(), PROTOCOL_VERSION.into());
    if let Some(r) = reference {
        obj.insert("ref".into(), r.into());
    }
    value.to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub room: RoomId,
    pub host: String,
    pub participant: ParticipantId,
    pub stream: u16,
    pub role: Role,
    pub resume_token: String,
    pub resumed: bool,
    pub seq: u64,
    pub snapshot: Option<Snapshot>,
}

/// One room as the `node.rooms` topic shows it (a lobby line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyRoom {
    pub id: RoomId,
    pub name: String,
    /// Participants, reconnecting ones included.
    pub participants: u32,
    pub capacity: u32,
    pub guests_allowed: bool,
    /// End-to-end encrypted room.
    pub e2ee: bool,
    pub created_ms: u64,
    /// Who is speaking now, in participant order.
    pub speaking: Vec<LobbySpeaker>,
}

/// A participant whose speaking indicator is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbySpeaker {
    pub participant: ParticipantId,
    pub name: String,
    pub stream: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome(Welcome),
    Event { room: RoomId, seq: u64, event: Event },
    Presence { room: RoomId, event: Presence },
    Snapshot { room: RoomId, seq: u64, snapshot: Snapshot },
    Pong { t: f64, server_ms: u64 },
    HostStatus { room: RoomId, reachable: bool },
    /// Answer to `list_bans`, to the requester only.
    Bans { room: RoomId, bans: Vec<BanEntry> },
    /// Answer to `rotate_invite`: the new invite token, to the requester only.
    Invite { room: RoomId, invite: String },
    /// Answer to `subscribe`: the topics of the socket's room the pattern matches.
    Subscribed { pattern: String, topics: Vec<String> },
    /// Answer to `unsubscribe`.
    Unsubscribed { pattern: String },
    /// `node.rooms`: every room hosted here, sent once right after a `subscribed` that lists
    /// `node.rooms`.
    Rooms { rooms: Vec<LobbyRoom> },
    /// `node.rooms`: a room was created or changed (the whole summary, replacing the last).
    RoomUpdate { room: LobbyRoom },
    /// `node.rooms`: a room was closed (or is gone).
    RoomClosed { id: RoomId },
    /// A room key wrapped for this participant by `from` (`e2ee_keys`), to it only.
    E2eeKey { room: RoomId, epoch: u32, from: ParticipantId, wrapped: String },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
}

impl ServerMsg {
    pub fn error(err: &EngineError, reference: Option<String>) -> Self {
        ServerMsg::Error { code: err.code, message: err.message.clone(), reference }
    }

    /// The JSON text the shell pushes to the WebSocket (with `v`).
    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("server messages serialize");
        value
            .as_object_mut()
            .expect("tagged enum is an object")
            .insert("v".into(), PROTOCOL_VERSION.into());
        value.to_string()
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Snapshot {
    /// Applies one logged event, as a client (or a peer's mirror) does. Events at or below the
    /// snapshot's seq are ignored; returns false for a gap (the caller must sync).
    pub fn apply(&mut self, logged: &LoggedEvent) -> bool {
        if logged.seq <= self.seq {
            return true;
        }
        if logged.seq != self.seq + 1 {
            return false;
        }
        self.seq = logged.seq;
        let find = |ps: &mut Vec<ParticipantInfo>, id: &str| ps.iter_mut().position(|p| p.id == id);
        match &logged.event {
            Event::Joined { participant } => {
                self.participants.retain(|p| p.id != participant.id);
                self.participants.push(participant.clone());
            }
            Event::Left { participant, .. } | Event::GhostRemoved { participant } => {
                self.participants.retain(|p| &p.id != participant);
                self.hands.retain(|h| h != participant);
            }
            Event::Reconnecting { participant } | Event::Reconnected { participant } => {
                let on = matches!(logged.event, Event::Reconnecting { .. });
                if let Some(i) = find(&mut self.participants, participant) {
                    self.participants[i].reconnecting = on;
                }
            }
            Event::RoleChanged { participant, role, .. } => {
                if let Some(i) = find(&mut self.participants, participant) {
                    self.participants[i].role = *role;
                }
            }
            Event::Muted { participant, muted, .. } => {
                if let Some(i) = find(&mut self.participants, participant) {
                    self.participants[i].muted = *muted;
                }
            }
            Event::SelfMuted { participant, muted } => {
                if let Some(i) = find(&mut self.participants, participant) {
                    self.participants[i].self_muted = *muted;
                }
            }
            Event::HandRaised { participant } => {
                if !self.hands.contains(participant) {
                    self.hands.push(participant.clone());
                }
            }
            Event::HandLowered { participant, .. } => self.hands.retain(|h| h != participant),
            Event::Chat { message } => self.chat.push(message.clone()),
            Event::ChatCleared { .. } => self.chat.clear(),
            Event::SettingsChanged { settings } => self.settings = settings.clone(),
            Event::KeyAnnounced { participant, public_key, proof } => {
                if let Some(i) = find(&mut self.participants, participant) {
                    self.participants[i].e2ee = Some(E2eeAnnounce { public_key: public_key.clone(), proof: proof.clone() });
                }
            }
            Event::Closed { .. } => {
                self.participants.clear();
                self.hands.clear();
            }
        }
        true
    }
}
