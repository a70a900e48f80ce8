//! The bytes in the node's state slot (`get_state`/`set_state`): msgpack (rmp_serde) of the
//! process's `{saved: Option<Vec<u8>>}` wrapper, whose `saved` bytes are the versioned JSON of
//! [`PersistedState`]. Every release since 0.1.0 writes this wrapper.
use crate::persist::{PersistedState, Unreadable};
use serde::{Deserialize, Serialize};

/// The wrapper as 0.1.0's `VoiceChatState` serializes it: a one-field struct, which rmp_serde
/// writes as a one-element array whose `saved` is an array of byte values.
#[derive(Serialize, Deserialize)]
struct Wrapper {
    saved: Option<Vec<u8>>,
}

/// What the state slot held at start.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotContent {
    /// Nothing was ever saved (a fresh install).
    Empty,
    /// Rooms to restore; `from_version` is the format they were saved in (older ones were
    /// migrated step by step).
    Loaded { state: PersistedState, from_version: u32 },
    /// Something is there that this version cannot read: keep it, never write over it.
    Unreadable(Unreadable),
}

/// The state slot's bytes for `state`.
pub fn encode_slot(state: &PersistedState) -> Vec<u8> {
    rmp_serde::to_vec(&Wrapper { saved: Some(state.to_bytes()) }).expect("the wrapper serializes")
}

/// Reads what `get_state` returned (`None`: nothing saved).
pub fn decode_slot(raw: Option<&[u8]>) -> SlotContent {
    let Some(raw) = raw else { return SlotContent::Empty };
    let wrapper: Wrapper = match rmp_serde::from_slice(raw) {
        Ok(wrapper) => wrapper,
        Err(err) => return SlotContent::Unreadable(Unreadable::NotState(format!("not voice-chat's state wrapper: {err}"))),
    };
    // rmp_serde stops at the end of the value; bytes after it mean the slot is not what we wrote.
    if rmp_serde::to_vec(&wrapper).map_or(true, |again| again.len() != raw.len()) {
        return SlotContent::Unreadable(Unreadable::NotState("bytes after voice-chat's state wrapper".into()));
    }
    let Some(saved) = wrapper.saved else { return SlotContent::Empty };
    match PersistedState::from_bytes_versioned(&saved) {
        Ok((state, from_version)) => SlotContent::Loaded { state, from_version },
        Err(why) => SlotContent::Unreadable(why),
    }
}
