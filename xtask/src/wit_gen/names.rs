//! Naming rules of kit's WIT generator: how Rust identifiers become WIT identifiers and
//! which names kit refuses.

use anyhow::{bail, Result};

/// Words that kit writes with a leading `%` so they can be used as identifiers.
/// The list is kit's, not the WIT spec's: kit 3.2.1 escapes exactly these.
const WIT_KEYWORDS: &[&str] = &[
    "use",
    "type",
    "resource",
    "func",
    "record",
    "enum",
    "flags",
    "variant",
    "static",
    "interface",
    "world",
    "import",
    "export",
    "package",
    "constructor",
    "include",
    "with",
    "as",
    "from",
    "list",
    "option",
    "result",
    "tuple",
    "future",
    "stream",
    "own",
    "borrow",
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s16",
    "s32",
    "s64",
    "f32",
    "f64",
    "char",
    "bool",
    "string",
];

/// kit's kebab-casing. It is not a general case converter: a name holding any `_` only has
/// its underscores swapped for `-` (case is kept, so `Foo_Bar` gives `Foo-Bar`), and any other
/// name gets a `-` before every uppercase letter but the first (`HTTPThing` gives
/// `h-t-t-p-thing`). Output must match kit's byte for byte, oddities included.
pub fn kebab(name: &str) -> String {
    if name.contains('_') {
        return name.replace('_', "-");
    }
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('-');
            }
            // kit keeps only the first char of a multi-char lowercase mapping.
            out.extend(c.to_lowercase().next());
        } else {
            out.push(c);
        }
    }
    out
}

/// A kebab name as it appears in WIT text: keywords get kit's `%` prefix.
pub fn wit_ident(kebab_name: &str) -> String {
    if WIT_KEYWORDS.contains(&kebab_name) {
        format!("%{kebab_name}")
    } else {
        kebab_name.to_string()
    }
}

/// `get-room-info` → `GetRoomInfo`: the key of a handler's JSON request, as kit documents it
/// in the `// json fmt:` comment.
pub fn pascal(kebab_name: &str) -> String {
    kebab_name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// kit refuses every name with an ASCII digit or containing "stream" in any case, whatever
/// the WIT spec allows; `kind` says what the name belongs to ("Type", "Field", ...).
pub fn validate(name: &str, kind: &str) -> Result<()> {
    if name.chars().any(|c| c.is_ascii_digit()) {
        bail!(
            "{kind} name '{name}' contains a digit; kit's WIT generator rejects digits in \
             identifiers. Spell the number out (e.g. 'level2' -> 'level_two')."
        );
    }
    if name.to_lowercase().contains("stream") {
        bail!(
            "{kind} name '{name}' contains 'stream', which kit's WIT generator rejects \
             (reserved in WIT). Use another word, e.g. 'flow' or 'channel'."
        );
    }
    Ok(())
}

/// kit drops one leading underscore from field and parameter names (WIT names cannot start
/// with one).
pub fn strip_leading_underscore(name: &str) -> &str {
    name.strip_prefix('_').unwrap_or(name)
}

/// The WIT types kit never looks up as type definitions: primitives, `address` (imported from
/// `standard`) and anything built from a generic WIT constructor.
pub fn is_builtin(wit_type: &str) -> bool {
    matches!(
        wit_type,
        "s8" | "u8"
            | "s16"
            | "u16"
            | "s32"
            | "u32"
            | "s64"
            | "u64"
            | "f32"
            | "f64"
            | "bool"
            | "char"
            | "string"
            | "address"
    ) || ["list<", "option<", "result<", "tuple<"]
        .iter()
        .any(|prefix| wit_type.starts_with(prefix))
}
