//! Comparison of secrets (invite tokens, resume tokens) in time that does not depend on
//! where the first difference is, so a remote caller cannot find a token byte by byte by
//! timing refusals. Only the length may leak (every token the engine issues has the same
//! length: 22 characters, `ids.rs`).

/// True when `given` equals `secret`, comparing every byte of equal-length inputs.
#[inline(never)]
pub fn secret_eq(given: &[u8], secret: &[u8]) -> bool {
    if given.len() != secret.len() {
        return false;
    }
    let mut diff = 0u8;
    for (a, b) in given.iter().zip(secret) {
        diff |= a ^ b;
    }
    // Keep the optimizer from turning the fold into an early-exit compare.
    std::hint::black_box(diff) == 0
}

/// [`secret_eq`] for an optional token given by a client against the real one.
#[inline]
pub fn token_matches(given: Option<&str>, secret: &str) -> bool {
    given.is_some_and(|g| secret_eq(g.as_bytes(), secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_every_byte_is() {
        assert!(secret_eq(b"", b""));
        assert!(secret_eq(b"abcDEF-_123", b"abcDEF-_123"));
        assert!(!secret_eq(b"abcDEF-_123", b"abcDEF-_124"), "last byte differs");
        assert!(!secret_eq(b"xbcDEF-_123", b"abcDEF-_123"), "first byte differs");
        assert!(!secret_eq(b"abc", b"abcd"), "prefix");
        assert!(!secret_eq(b"abcd", b"abc"));
        assert!(!secret_eq(b"", b"a"));
        // Bits that cancel in a sum but not in an or of xors.
        assert!(!secret_eq(&[1, 2], &[2, 1]));
        assert!(!secret_eq(&[0x80], &[0x00]));
    }

    #[test]
    fn optional_tokens() {
        assert!(token_matches(Some("tok"), "tok"));
        assert!(!token_matches(None, "tok"));
        assert!(!token_matches(Some("to"), "tok"));
    }
}
