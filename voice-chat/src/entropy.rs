//! Room ids, invite and resume tokens come from the OS random source (WASI `random_get`).
use rand::RngCore;
use voice_chat_engine::Entropy;

pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn random_128(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes
    }
}
