//! Saving rooms, roles, settings and chat in the node's state slot, and keeping state that
//! cannot be read.
//!
//! The macro can save after every message, every N messages or on a diff, and each of those
//! serializes the state on every audio frame; `EveryNSeconds` is not implemented in
//! process_lib 3.0.0. So the macro is told `Never`, and the shell saves when the engine
//! reports a durable change, in the wrapper every release since 0.1.0 writes
//! (`voice_chat_engine::persist::slot`).
//!
//! State this version cannot read (damaged, not ours, from a newer version) is copied to a
//! file in the package's `saved-state` vfs drive, and nothing is saved over it until the
//! owner calls `DiscardUnreadableState` (docs/http-api.md, "Saved state"). Rooms created
//! meanwhile live in memory only.
use crate::VoiceChatState;
use hyperware_process_lib::vfs;
use hyperware_process_lib::{get_state, our, print_to_terminal, set_state};
use serde::{Deserialize, Deserializer};
use std::cell::RefCell;
use voice_chat_engine::persist::guard::{DiscardRefused, KeptState, SaveGuard, SavedStateStatus};
use voice_chat_engine::persist::slot::{decode_slot, encode_slot, SlotContent};
use voice_chat_engine::PersistedState;

/// The vfs drive the unreadable state is copied to: `/<package>/saved-state/`.
pub const KEEP_DRIVE: &str = "saved-state";
const KEPT_PREFIX: &str = "unreadable-";
const VFS_TIMEOUT_S: u64 = 5;

thread_local! {
    static GUARD: RefCell<SaveGuard> = RefCell::new(SaveGuard::writable(None));
}

/// The macro decodes the state slot into the state struct before `init` and panics when it
/// cannot, which would crash the process at every start on one damaged byte. The slot is
/// read and judged by [`load`] instead, so this decoding never fails and reads nothing.
impl<'de> Deserialize<'de> for VoiceChatState {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Ok(VoiceChatState::default())
    }
}

/// Reads the state slot at start: the rooms to restore (migrated from older formats), or
/// `None` for a fresh node or when the slot cannot be read (then it is kept, see above).
pub fn load(now_ms: u64) -> Option<PersistedState> {
    let raw = get_state();
    let (guard, state) = match decode_slot(raw.as_deref()) {
        SlotContent::Empty => (SaveGuard::writable(None), None),
        SlotContent::Loaded { state, from_version } => (SaveGuard::writable(Some(from_version)), Some(state)),
        SlotContent::Unreadable(why) => {
            let bytes = raw.unwrap_or_default();
            let (kept_in, kept_at_ms) = match keep_aside(&bytes, now_ms) {
                Ok((path, at)) => (Some(path), at),
                Err(err) => {
                    print_to_terminal(0, &format!("voice-chat: could not copy the unreadable saved state to the vfs: {err}"));
                    (None, now_ms)
                }
            };
            print_to_terminal(
                0,
                &format!(
                    "voice-chat: saved state unreadable ({why}); kept in {}; nothing is saved until the owner decides",
                    kept_in.as_deref().unwrap_or("the state slot only")
                ),
            );
            let kept = KeptState { reason: why.to_string(), kept_in, kept_at_ms, size: bytes.len() as u64 };
            (SaveGuard::holding(kept), None)
        }
    };
    GUARD.with(|g| *g.borrow_mut() = guard);
    state
}

/// Saves `state`, unless the slot holds state that could not be read.
pub fn save(state: &PersistedState) {
    if GUARD.with(|g| g.borrow_mut().may_write()) {
        set_state(&encode_slot(state));
    }
}

pub fn status() -> SavedStateStatus {
    GUARD.with(|g| g.borrow().status().clone())
}

/// The owner gives up the unreadable state (`kept_in` names the copy they were shown, which
/// stays): `current` is saved over it at once and saving goes on as usual.
pub fn discard_unreadable(kept_in: &str, current: &PersistedState) -> Result<(), DiscardRefused> {
    GUARD.with(|g| g.borrow_mut().discard(kept_in))?;
    save(current);
    Ok(())
}

/// Copies the unreadable bytes to `/<package>/saved-state/unreadable-<ms>.bin` and returns
/// the path and its time. A restart finds the same bytes in the slot again: it points at the
/// copy made then instead of writing another.
fn keep_aside(bytes: &[u8], now_ms: u64) -> Result<(String, u64), vfs::VfsError> {
    let drive = vfs::create_drive(our().package_id(), KEEP_DRIVE, Some(VFS_TIMEOUT_S))?;
    for entry in vfs::open_dir(&drive, false, Some(VFS_TIMEOUT_S))?.read()? {
        let path = format!("/{}", entry.path.trim_start_matches('/'));
        let Some(at) = kept_time(&path) else { continue };
        if entry.file_type == vfs::FileType::File && vfs::File::new(path.as_str(), VFS_TIMEOUT_S).read().is_ok_and(|b| b == bytes) {
            return Ok((path, at));
        }
    }
    let path = format!("{drive}/{KEPT_PREFIX}{now_ms}.bin");
    vfs::create_file(&path, Some(VFS_TIMEOUT_S))?.write(bytes)?;
    Ok((path, now_ms))
}

/// The time in a kept copy's name `.../unreadable-<ms>.bin`.
fn kept_time(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    name.strip_prefix(KEPT_PREFIX)?.strip_suffix(".bin")?.parse().ok()
}
