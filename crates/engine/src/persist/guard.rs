//! Whether a save may write the state slot. While the slot holds state this version could
//! not read, nothing is written there until the owner decides (docs/http-api.md, "Saved
//! state"): a later version may read those bytes, or the owner may want them back.
use serde::Serialize;

/// State that could not be read at start, and where a copy of its bytes was put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptState {
    /// Why it could not be read.
    pub reason: String,
    /// vfs path of the copy (`/<package>/<drive>/<file>`), or `None` when the copy could not
    /// be written; the bytes stay in the state slot either way.
    pub kept_in: Option<String>,
    /// When the copy was written (wall clock, ms since the Unix epoch).
    pub kept_at_ms: u64,
    /// Size of the unreadable state in bytes.
    pub size: u64,
}

/// The answer of `GET /api/saved-state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedStateStatus {
    /// The format this version saves.
    pub format: u32,
    /// The format of the state loaded at start (older ones were migrated); `None` when nothing
    /// was saved or it could not be read.
    pub loaded_from: Option<u32>,
    /// Set while unreadable state is kept and nothing is saved.
    pub unreadable: Option<KeptState>,
    /// Rooms were created or changed since start and are not saved (only while `unreadable`).
    pub unsaved_changes: bool,
}

/// Why `DiscardUnreadableState` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscardRefused {
    #[error("there is no unreadable saved state to discard")]
    NothingKept,
    #[error("that is not the kept copy of the unreadable state (it is {0:?})")]
    OtherCopy(Option<String>),
}

impl DiscardRefused {
    /// The stable code of the HTTP API's error (docs/http-api.md).
    pub fn code(&self) -> &'static str {
        match self {
            DiscardRefused::NothingKept => "no_unreadable_state",
            DiscardRefused::OtherCopy(_) => "stale_kept_copy",
        }
    }

    pub fn http_status(&self) -> u16 {
        409
    }
}

#[derive(Debug, Clone)]
pub struct SaveGuard {
    status: SavedStateStatus,
}

impl SaveGuard {
    /// Saving as usual: nothing was saved (`None`) or the state of that format was read.
    pub fn writable(loaded_from: Option<u32>) -> Self {
        Self {
            status: SavedStateStatus {
                format: super::PERSISTED_VERSION,
                loaded_from,
                unreadable: None,
                unsaved_changes: false,
            },
        }
    }

    /// The slot holds what could not be read: no save until the owner decides.
    pub fn holding(kept: KeptState) -> Self {
        Self {
            status: SavedStateStatus {
                format: super::PERSISTED_VERSION,
                loaded_from: None,
                unreadable: Some(kept),
                unsaved_changes: false,
            },
        }
    }

    /// Asked before every save: true when it may write the slot. A refused save is
    /// remembered, so the owner is told that there are changes that were not saved.
    pub fn may_write(&mut self) -> bool {
        if self.status.unreadable.is_some() {
            self.status.unsaved_changes = true;
            return false;
        }
        true
    }

    pub fn status(&self) -> &SavedStateStatus {
        &self.status
    }

    /// The owner gives up the unreadable state (its copy stays where `kept_in` says):
    /// saving resumes, and the caller saves the current rooms at once. `kept_in` must name
    /// the copy the owner was shown (`""` when no copy could be written), so a stale page
    /// cannot discard state it never showed.
    pub fn discard(&mut self, kept_in: &str) -> Result<(), DiscardRefused> {
        let Some(kept) = &self.status.unreadable else { return Err(DiscardRefused::NothingKept) };
        if kept.kept_in.as_deref().unwrap_or("") != kept_in {
            return Err(DiscardRefused::OtherCopy(kept.kept_in.clone()));
        }
        self.status.unreadable = None;
        self.status.unsaved_changes = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> KeptState {
        KeptState {
            reason: "damaged".into(),
            kept_in: Some("/voice-chat:template.os/saved-state/unreadable-5.bin".into()),
            kept_at_ms: 5,
            size: 9,
        }
    }

    #[test]
    fn a_writable_guard_lets_every_save_through() {
        let mut guard = SaveGuard::writable(Some(1));
        assert!(guard.may_write());
        assert!(!guard.status().unsaved_changes);
        assert_eq!(guard.discard("x"), Err(DiscardRefused::NothingKept));
    }

    #[test]
    fn holding_refuses_saves_until_the_named_copy_is_discarded() {
        let mut guard = SaveGuard::holding(kept());
        assert!(!guard.status().unsaved_changes);
        assert!(!guard.may_write());
        assert!(!guard.may_write());
        assert!(guard.status().unsaved_changes, "refused saves are reported");
        let refused = guard.discard("/voice-chat:template.os/saved-state/other.bin").unwrap_err();
        assert_eq!(refused.code(), "stale_kept_copy");
        assert!(!guard.may_write(), "a refused discard changes nothing");
        guard.discard("/voice-chat:template.os/saved-state/unreadable-5.bin").unwrap();
        assert!(guard.may_write());
        assert_eq!(guard.status().unreadable, None);
        assert!(!guard.status().unsaved_changes);
        assert_eq!(guard.discard("/voice-chat:template.os/saved-state/unreadable-5.bin").unwrap_err().code(), "no_unreadable_state");
    }

    #[test]
    fn without_a_copy_the_owner_discards_with_an_empty_name() {
        let mut guard = SaveGuard::holding(KeptState { kept_in: None, ..kept() });
        assert!(guard.discard("/voice-chat:template.os/saved-state/unreadable-5.bin").is_err());
        guard.discard("").unwrap();
        assert!(guard.may_write());
    }
}
