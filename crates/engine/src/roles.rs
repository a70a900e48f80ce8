//! Roles and the permission matrix (docs/protocol.md, "Permission matrix").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Speaker,
    Moderator,
    Host,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Host, Role::Moderator, Role::Speaker, Role::Viewer];

    /// Higher outranks lower; moderation only ever targets a strictly lower rank.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

/// Everything that needs a permission. Joined-only actions that every role has (chat, typing,
/// self mute, leave) are listed too so the matrix is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Speak,
    Chat,
    RaiseHand,
    ManageHands,
    MuteOthers,
    MuteAll,
    Kick,
    SetRole,
    ChangeSettings,
    CloseRoom,
    ClearChat,
    /// Hand wrapped room keys to participants (`e2ee_keys`, end-to-end encrypted rooms).
    ShareKeys,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::Speak,
        Action::Chat,
        Action::RaiseHand,
        Action::ManageHands,
        Action::MuteOthers,
        Action::MuteAll,
        Action::Kick,
        Action::SetRole,
        Action::ChangeSettings,
        Action::CloseRoom,
        Action::ClearChat,
        Action::ShareKeys,
    ];
}

/// The permission matrix. Targeted actions (mute, kick, set role) additionally require the
/// target to rank strictly below the actor, see [`may_target`] and [`may_assign`].
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        Speak => role != Viewer,
        Chat => true,
        RaiseHand => role == Viewer,
        ManageHands | MuteOthers | MuteAll | Kick | SetRole | ClearChat | ShareKeys => role >= Moderator,
        ChangeSettings | CloseRoom => role == Host,
    }
}

/// Whether `actor` may mute, kick or re-role `target`.
pub fn may_target(actor: Role, target: Role) -> bool {
    actor > target
}

/// Whether `actor` may give `target_role` to someone currently `current`.
/// A Host may assign anything (assigning Host hands the room over); a Moderator only moves
/// people between Speaker and Viewer.
pub fn may_assign(actor: Role, current: Role, target_role: Role) -> bool {
    if !permits(actor, Action::SetRole) || !may_target(actor, current) {
        return false;
    }
    match actor {
        Role::Host => true,
        Role::Moderator => target_role <= Role::Speaker,
        _ => false,
    }
}

/// Who asks. The node owner (HTTP API) outranks every role in its own rooms.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Authority<'a> {
    Owner,
    Participant(&'a str),
}
