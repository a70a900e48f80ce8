//! 128-bit identifiers (room ids, participant ids, invite and resume tokens) as URL-safe text.
//!
//! The engine never draws randomness itself (it runs as a wasm process and in deterministic
//! tests alike): the caller hands it an [`Entropy`] source.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Source of unguessable 128-bit values. The process shell backs it with the runtime's OS
/// randomness; tests back it with a seeded generator.
pub trait Entropy {
    fn random_128(&mut self) -> [u8; 16];
}

/// 22 characters of URL-safe base64 without padding.
pub fn encode_id(bytes: [u8; 16]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh id from the entropy source.
pub fn new_id(entropy: &mut dyn Entropy) -> String {
    encode_id(entropy.random_128())
}

/// Deterministic entropy for tests and benchmarks (splitmix64); never for production ids.
#[derive(Debug, Clone)]
pub struct SeededEntropy(u64);

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Entropy for SeededEntropy {
    fn random_128(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_url_safe_chars_and_distinct() {
        let mut e = SeededEntropy::new(7);
        let a = new_id(&mut e);
        let b = new_id(&mut e);
        assert_eq!(a.len(), 22);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
    }

    #[test]
    fn encoding_is_base64url_without_padding() {
        assert_eq!(encode_id([0xff; 16]), "_____________________w");
    }
}
