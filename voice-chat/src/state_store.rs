//! Saving rooms, roles, settings and chat in the hyperapp state.
//!
//! The macro can save after every message, every N messages or on a diff, and each of those
//! serializes the state on every audio frame; `EveryNSeconds` is not implemented in
//! process_lib 3.0.0. So the macro is told `Never`, and the shell saves when the engine
//! reports a durable change (at once, or within 250 ms during a burst), in the format the macro's
//! `initialize_state` reads back at start.
use crate::VoiceChatState;
use voice_chat_engine::PersistedState;

pub fn save(state: &PersistedState) {
    let wrapper = VoiceChatState { saved: Some(state.to_bytes()) };
    match rmp_serde::to_vec(&wrapper) {
        Ok(bytes) => hyperware_process_lib::set_state(&bytes),
        Err(err) => hyperware_process_lib::print_to_terminal(0, &format!("voice-chat: state not saved: {err}")),
    }
}

pub fn load(state: &VoiceChatState) -> Option<PersistedState> {
    let bytes = state.saved.as_ref()?;
    match PersistedState::from_bytes(bytes) {
        Ok(state) => Some(state),
        Err(err) => {
            hyperware_process_lib::print_to_terminal(0, &format!("voice-chat: saved state unreadable, starting empty: {err}"));
            None
        }
    }
}
