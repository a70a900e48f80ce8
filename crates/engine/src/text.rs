//! What text a client may put in a display name or a chat message: no control characters
//! (chat keeps newline) and no bidi embeddings, overrides or isolates (U+202A–U+202E,
//! U+2066–U+2069), which would let one name or message reorder what others see around it.
//! Such text is refused (`invalid_name` / `invalid_chat`), never silently changed.

/// A bidi embedding, override, pop or isolate.
#[inline]
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// No control character and no bidi control.
pub fn name_ok(name: &str) -> bool {
    !name.chars().any(|c| c.is_control() || is_bidi_control(c))
}

/// As [`name_ok`], but newlines are allowed.
pub fn chat_ok(text: &str) -> bool {
    !text.chars().any(|c| (c.is_control() && c != '\n') || is_bidi_control(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_are_refused_everywhere() {
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            let s = format!("evil{c}gpj.exe");
            assert!(!name_ok(&s), "{:04X} in a name", c as u32);
            assert!(!chat_ok(&s), "{:04X} in chat", c as u32);
        }
        // Neighbours stay allowed (marks, not overrides; and ordinary letters).
        for ok in ["\u{2029}x", "a\u{200E}b", "Zoë", "日本語", "مرحبا", "\u{2065}"] {
            assert!(chat_ok(ok), "{ok:?}");
        }
        assert!(name_ok("Zoë 日本"));
    }

    #[test]
    fn control_characters_newline_only_in_chat() {
        assert!(chat_ok("line one\nline two"));
        assert!(!name_ok("two\nlines"));
        for c in ['\0', '\t', '\r', '\u{1B}', '\u{7F}', '\u{85}', '\u{9F}'] {
            let s = format!("a{c}b");
            assert!(!chat_ok(&s), "{:02X} in chat", c as u32);
            assert!(!name_ok(&s), "{:02X} in a name", c as u32);
        }
    }
}
