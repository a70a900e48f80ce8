//! End-to-end encrypted rooms, the node's side (docs/protocol.md, "End-to-end encrypted
//! rooms"): what `e2ee_hello`, `e2ee_keys` and chat in such a room must look like, and what
//! the node keeps per participant. The node never sees a key: it checks the shape of a few
//! opaque strings, stores the announced ones and relays wrapped keys to their addressees.

use crate::error::{EngineError, ErrorCode};
use crate::protocol::{E2eeAnnounce, ServerMsg, WrappedKey};
use std::collections::BTreeSet;

/// Longest `public_key` / `proof` of `e2ee_hello`, in characters.
pub const MAX_ANNOUNCE_CHARS: usize = 128;
/// Longest `wrapped` of an `e2ee_keys` entry, in characters.
pub const MAX_WRAPPED_CHARS: usize = 256;
/// Highest key epoch.
pub const MAX_EPOCH: u32 = 255;
/// What an encrypted chat text starts with.
pub const CHAT_PREFIX: &str = "e1.";

/// Per participant: what it announced, and the newest key delivered to it (sent again right
/// after the `welcome` of a resume, since the page may have missed it while reconnecting).
#[derive(Debug, Clone, Default)]
pub struct E2eeSlot {
    pub announced: Option<E2eeAnnounce>,
    pub last_key: Option<ServerMsg>,
}

impl E2eeSlot {
    /// Stores an announcement; true if it differs from the one held (an event is due).
    pub fn announce(&mut self, announce: E2eeAnnounce) -> bool {
        if self.announced.as_ref() == Some(&announce) {
            return false;
        }
        self.announced = Some(announce);
        true
    }
}

fn token_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::with(ErrorCode::InvalidE2ee, message)
}

fn room_is_e2ee(e2ee: bool) -> Result<(), EngineError> {
    if e2ee {
        Ok(())
    } else {
        Err(EngineError::new(ErrorCode::E2eeOff))
    }
}

/// `e2ee_hello` in a room whose setting is `e2ee`.
pub fn check_hello(e2ee: bool, public_key: &str, proof: &str) -> Result<(), EngineError> {
    room_is_e2ee(e2ee)?;
    if !token_ok(public_key, MAX_ANNOUNCE_CHARS) || !token_ok(proof, MAX_ANNOUNCE_CHARS) {
        return Err(invalid(format!("public_key and proof are 1 to {MAX_ANNOUNCE_CHARS} characters of A-Z a-z 0-9 _ . -")));
    }
    Ok(())
}

/// `e2ee_keys` in a room whose setting is `e2ee`: the epoch, 1 to `max_entries` entries, no
/// addressee twice, each `wrapped` well-formed; then every addressee must be in the room
/// (`is_participant`), else `participant_not_found`.
pub fn check_keys(
    e2ee: bool,
    epoch: u32,
    keys: &[WrappedKey],
    max_entries: usize,
    is_participant: impl Fn(&str) -> bool,
) -> Result<(), EngineError> {
    room_is_e2ee(e2ee)?;
    if epoch > MAX_EPOCH {
        return Err(invalid(format!("epoch is 0 to {MAX_EPOCH}")));
    }
    if keys.is_empty() || keys.len() > max_entries {
        return Err(invalid(format!("keys has 1 to {max_entries} entries")));
    }
    let mut seen = BTreeSet::new();
    for k in keys {
        if !seen.insert(k.to.as_str()) {
            return Err(invalid("a participant is addressed twice"));
        }
        if !token_ok(&k.wrapped, MAX_WRAPPED_CHARS) {
            return Err(invalid(format!("wrapped is 1 to {MAX_WRAPPED_CHARS} characters of A-Z a-z 0-9 _ . -")));
        }
    }
    if let Some(k) = keys.iter().find(|k| !is_participant(&k.to)) {
        let shown: String = k.to.chars().take(40).collect();
        return Err(EngineError::with(ErrorCode::ParticipantNotFound, format!("no participant {shown:?} in this room")));
    }
    Ok(())
}

/// Chat text (trimmed) in a room whose setting is `e2ee`: `e1.` and 1+ base64url characters.
pub fn check_chat(e2ee: bool, text: &str) -> Result<(), EngineError> {
    if !e2ee {
        return Ok(());
    }
    let ok = text
        .strip_prefix(CHAT_PREFIX)
        .is_some_and(|body| !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')));
    if ok {
        Ok(())
    } else {
        Err(EngineError::new(ErrorCode::E2eeRequired))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(check_hello(true, "abc-_.9", "1.x").is_ok());
        assert_eq!(check_hello(false, "a", "b").unwrap_err().code, ErrorCode::E2eeOff);
        assert_eq!(check_hello(true, "", "b").unwrap_err().code, ErrorCode::InvalidE2ee);
        assert_eq!(check_hello(true, "a b", "b").unwrap_err().code, ErrorCode::InvalidE2ee);
        assert_eq!(check_hello(true, &"a".repeat(129), "b").unwrap_err().code, ErrorCode::InvalidE2ee);
        assert!(check_hello(true, &"a".repeat(128), "b").is_ok());
        assert!(check_chat(true, "e1.AbC-_").is_ok());
        for bad in ["e1.", "hello", "e1.a.b", "e1.a=", "E1.abc"] {
            assert_eq!(check_chat(true, bad).unwrap_err().code, ErrorCode::E2eeRequired, "{bad}");
        }
        assert!(check_chat(false, "hello").is_ok());
    }
}
