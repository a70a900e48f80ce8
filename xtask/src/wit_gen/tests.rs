//! Tests of the WIT generator.
//!
//! The golden fixtures under `xtask/tests/fixtures/<name>/` hold a crate's `src/` and, in
//! `api/`, what kit 3.2.1 writes for it. kit's own template files cannot serve as expected
//! output: the file-explorer example's committed `api/file-explorer.wit` predates kit 3.x (it
//! has one field per parameter instead of `arg-types`, no `// args:` comments, and a
//! `variant` for a unit-only enum). So the expected files were produced by kit 3.2.1's
//! `src/build/wit_generator.rs` (tag v3.2.1, commit 2b1eac5) itself, built as a stand-alone
//! program and run on each fixture laid out as a kit package; see `tests/fixtures/README.md`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::generate;
use super::types::wit_type;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn expected_api(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(dir.join("api"))
        .expect("fixture has an api/ dir")
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Byte equality, with the first differing line named so a failure is readable.
fn assert_same_files(actual: &[(String, String)], expected: &[(String, String)]) {
    let names = |files: &[(String, String)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "file names differ");
    for ((name, got), (_, want)) in actual.iter().zip(expected) {
        if got == want {
            continue;
        }
        let first_diff = got
            .split_inclusive('\n')
            .zip(want.split_inclusive('\n'))
            .position(|(a, b)| a != b);
        panic!(
            "{name} differs (first differing line index: {first_diff:?})\n--- got:\n{got}\n--- expected:\n{want}"
        );
    }
}

fn golden(name: &str) {
    let dir = fixture(name);
    let actual = generate(&dir).unwrap_or_else(|e| panic!("generate({name}): {e:#}"));
    assert_same_files(&actual, &expected_api(&dir));
}

#[test]
fn golden_file_explorer_example_app() {
    golden("file-explorer");
}

#[test]
fn golden_skeleton_template_app() {
    golden("skeleton");
}

#[test]
fn golden_quirks() {
    golden("quirks");
}

/// A throwaway crate directory, removed when dropped.
struct TempCrate {
    dir: PathBuf,
}

impl TempCrate {
    fn new(lib_rs: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-wit-gen-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(dir.join("src/lib.rs"), lib_rs).unwrap();
        Self { dir }
    }

    fn with_file(self, rel: &str, text: &str) -> Self {
        let path = self.dir.join("src").join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        self
    }

    fn generate(&self) -> anyhow::Result<Vec<(String, String)>> {
        generate(&self.dir)
    }

    fn interface(&self, name: &str) -> String {
        let files = self.generate().unwrap_or_else(|e| panic!("{e:#}"));
        files
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name} generated"))
            .1
    }

    fn error(&self) -> String {
        match self.generate() {
            Ok(files) => panic!("expected an error, got {files:#?}"),
            Err(e) => format!("{e:#}"),
        }
    }
}

impl Drop for TempCrate {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A crate whose `#[hyperapp]` impl holds `handlers`, next to the `items` it needs.
fn app(items: &str, handlers: &str) -> TempCrate {
    TempCrate::new(&format!(
        "{items}\npub struct DemoState;\n\n#[hyperapp(name = \"demo\", wit_world = \"demo-v\")]\nimpl DemoState {{\n{handlers}\n}}\n"
    ))
}

fn map(ty: &str) -> (String, BTreeSet<String>) {
    let parsed: syn::Type = syn::parse_str(ty).unwrap();
    let mut used = BTreeSet::new();
    let wit = wit_type(&parsed, &mut used).unwrap_or_else(|e| panic!("{ty}: {e:#}"));
    (wit, used)
}

#[test]
fn primitive_and_std_types_map_like_kit() {
    let cases = [
        ("String", "string"),
        ("bool", "bool"),
        ("u8", "u8"),
        ("u16", "u16"),
        ("u32", "u32"),
        ("u64", "u64"),
        ("i8", "s8"),
        ("i16", "s16"),
        ("i32", "s32"),
        ("i64", "s64"),
        ("usize", "u64"),
        ("isize", "s64"),
        ("u128", "string"),
        ("i128", "string"),
        ("f32", "f32"),
        ("f64", "f64"),
        ("Vec<u8>", "list<u8>"),
        ("std::vec::Vec<String>", "list<string>"),
        ("Option<Vec<i32>>", "option<list<s32>>"),
        ("Result<u32, String>", "result<u32, string>"),
        ("Result<(), String>", "result<_, string>"),
        ("Result<u32, ()>", "result<u32>"),
        ("Result<(), ()>", "result"),
        ("(u8, String, bool)", "tuple<u8, string, bool>"),
        (
            "HashMap<String, Vec<u32>>",
            "list<tuple<string, list<u32>>>",
        ),
        (
            "std::collections::BTreeMap<u8, bool>",
            "list<tuple<u8, bool>>",
        ),
        ("HashSet<String>", "list<string>"),
        ("BTreeSet<u64>", "list<u64>"),
        ("&String", "string"),
        ("()", "_"),
    ];
    for (rust, wit) in cases {
        let (got, used) = map(rust);
        assert_eq!(got, wit, "mapping of {rust}");
        assert!(
            used.is_empty(),
            "{rust} should need no definitions, got {used:?}"
        );
    }
}

#[test]
fn own_types_are_kebab_cased_by_last_segment_and_recorded() {
    let (wit, used) = map("Result<Vec<voice_chat_engine::RoomInfo>, ApiError>");
    assert_eq!(wit, "result<list<room-info>, api-error>");
    assert_eq!(
        used,
        BTreeSet::from(["room-info".into(), "api-error".into()])
    );

    // Generic arguments of an own type are dropped, as kit drops them.
    assert_eq!(map("Page<Member>").0, "page");
    // kit's kebab-casing of acronyms and of names with underscores.
    assert_eq!(map("HTTPInfo").0, "h-t-t-p-info");
    assert_eq!(map("Room_Info").0, "Room-Info");
    // `&str` is not special-cased by kit: it is an (undefined) type named `str`.
    assert_eq!(
        map("&str"),
        ("str".to_string(), BTreeSet::from(["str".into()]))
    );
    // `Address` and `char` are WIT built-ins once kebab-cased.
    assert_eq!(map("hyperware_process_lib::Address").0, "address");
    assert_eq!(map("char").0, "char");
}

#[test]
fn unmappable_types_are_errors() {
    for ty in [
        "[u8; 4]",
        "&[u8]",
        "Result<u32>",
        "Vec",
        "Box<dyn Fn()>",
        "HashMap<String>",
    ] {
        let parsed: syn::Type = syn::parse_str(ty).unwrap();
        let mut used = BTreeSet::new();
        // `Box<dyn Fn()>` is only a custom type `box` to kit; it fails later, at lookup.
        let result = wit_type(&parsed, &mut used);
        if ty == "Box<dyn Fn()>" {
            assert_eq!(result.unwrap(), "box");
        } else {
            assert!(result.is_err(), "{ty} should not map, got {result:?}");
        }
    }
}

#[test]
fn structs_enums_and_variants_are_rendered_as_kit_renders_them() {
    let crate_ = app(
        r#"
pub struct RoomInfo { pub room_id: String, pub speaker_count: usize, pub _private: bool }
pub enum Kind { Open, InviteOnly }
pub enum ApiError { NotFound(String), Full, Limit(u32) }
pub struct Unit;
"#,
        r#"
    #[http(method = "GET", path = "/api/rooms")]
    async fn get_room(&self, room_id: String) -> Result<RoomInfo, ApiError> { unreachable_body() }
    #[remote]
    async fn kind(&self) -> Kind { Kind::Open }
    #[local]
    async fn poke(&self, a: Unit, b: u8) -> Result<(), ApiError> { Ok(()) }
"#,
    );
    let expected = r#"interface demo {
use standard.{address};

    variant api-error {
        not-found(string),
        full,
        limit(u32)
    }

    enum kind {
        open,
        invite-only
    }

    record room-info {
        room-id: string,
        speaker-count: u64,
        private: bool
    }

    record unit {}

    // Function signature for: get-room (http)
    // HTTP: GET /api/rooms
    // args: (room-id: string)
    record get-room-signature-http {
        target: string,
        arg-types: tuple<string>,
        returning: result<room-info, api-error>
    }

    // Function signature for: kind (remote)
    // args: none
    // json fmt: {"Kind": null}
    record kind-signature-remote {
        target: address,
        returning: kind
    }

    // Function signature for: poke (local)
    // args: (a: unit, b: u8)
    // json fmt: {"Poke": [a, b]}
    record poke-signature-local {
        target: address,
        arg-types: tuple<unit, u8>,
        returning: result<_, api-error>
    }
}
"#;
    assert_eq!(crate_.interface("demo.wit"), expected);
    let files = crate_.generate().unwrap();
    assert_eq!(
        files[0],
        (
            "demo-v.wit".to_string(),
            "world demo-v {\n    import demo;\n    include process-v1;\n}".to_string()
        )
    );
    assert_eq!(
        files[2],
        (
            "types-demo-v.wit".to_string(),
            "world types-demo-v {\n    import demo;\n    include lib;\n}".to_string()
        )
    );
}

#[test]
fn an_app_without_exposed_handlers_gets_only_world_files() {
    let crate_ = app("", "    #[init]\n    async fn init(&mut self) {}\n    #[ws]\n    fn ws(&mut self, channel_id: u32) {}");
    assert_eq!(
        crate_.generate().unwrap(),
        vec![
            (
                "demo-v.wit".to_string(),
                "world demo-v {\n\n    include process-v1;\n}".to_string()
            ),
            (
                "types-demo-v.wit".to_string(),
                "world types-demo-v {\n\n    include lib;\n}".to_string()
            ),
        ]
    );
}

fn assert_rejected(crate_: TempCrate, needles: &[&str]) {
    let err = crate_.error();
    for needle in needles {
        assert!(
            err.contains(needle),
            "error {err:?} should mention {needle:?}"
        );
    }
}

#[test]
fn digits_in_names_are_rejected() {
    assert_rejected(
        app(
            "pub struct Info { pub field1: String }",
            "    #[http]\n    async fn a(&self) -> Info { x() }",
        ),
        &["field1", "digit"],
    );
    assert_rejected(
        app(
            "pub struct Sha256 { pub hex: String }",
            "    #[http]\n    async fn a(&self) -> Sha256 { x() }",
        ),
        &["Sha256", "digit"],
    );
    assert_rejected(
        app("", "    #[local]\n    async fn get2(&self) -> u32 { 2 }"),
        &["get2", "digit"],
    );
    assert_rejected(
        app(
            "",
            "    #[local]\n    async fn a(&self, level2: u32) -> u32 { level2 }",
        ),
        &["level2", "digit"],
    );
    // Even handlers kit writes nothing for have their names checked.
    assert_rejected(
        app("", "    #[init]\n    async fn init2(&mut self) {}"),
        &["init2"],
    );
    assert_rejected(
        app(
            "pub enum Codec { Opus48 }",
            "    #[http]\n    async fn a(&self) -> Codec { x() }",
        ),
        &["Opus48", "digit"],
    );
}

#[test]
fn names_containing_stream_are_rejected() {
    assert_rejected(
        app(
            "pub struct DataStream { pub data: String }",
            "    #[http]\n    async fn a(&self) -> DataStream { x() }",
        ),
        &["DataStream", "stream"],
    );
    assert_rejected(
        app(
            "",
            "    #[http]\n    async fn start_stream(&self) -> bool { true }",
        ),
        &["start_stream", "stream"],
    );
    assert_rejected(
        app(
            "pub struct Info { pub upstream: bool }",
            "    #[http]\n    async fn a(&self) -> Info { x() }",
        ),
        &["upstream"],
    );
}

#[test]
fn unsupported_variant_and_struct_shapes_are_rejected() {
    assert_rejected(
        app(
            "pub enum Event { Joined { peer: String } }",
            "    #[remote]\n    async fn a(&self, e: Event) -> bool { true }",
        ),
        &["Event", "Joined", "struct-like"],
    );
    assert_rejected(
        app(
            "pub enum Event { Moved(u32, u32) }",
            "    #[remote]\n    async fn a(&self, e: Event) -> bool { true }",
        ),
        &["Moved", "2 unnamed fields"],
    );
    assert_rejected(
        app(
            "pub struct Pair(u32, u32);",
            "    #[remote]\n    async fn a(&self, p: Pair) -> bool { true }",
        ),
        &["Pair", "2 unnamed fields"],
    );
}

#[test]
fn handler_shapes_kit_refuses_are_rejected() {
    assert_rejected(
        app("", "    #[http]\n    async fn a(&self) {}"),
        &["`a`", "no return type"],
    );
    assert_rejected(
        app("", "    #[http]\n    async fn a(&self) -> () {}"),
        &["`a`", "()"],
    );
    assert_rejected(
        app("", "    async fn helper(&self) -> u32 { 1 }"),
        &["helper", "handler attributes"],
    );
    assert_rejected(
        app(
            "",
            "    #[http(method = GET)]\n    async fn a(&self) -> u32 { 1 }",
        ),
        &["#[http(...)]"],
    );
}

#[test]
fn types_not_defined_in_the_crate_are_rejected() {
    // A type from another crate (kit only reads the process crate's own files).
    assert_rejected(
        app("", "    #[http]\n    async fn a(&self) -> Result<voice_chat_engine::RoomInfo, String> { x() }"),
        &["room-info", "another crate"],
    );
    // A re-export is not a definition to kit either.
    assert_rejected(
        app(
            "pub use voice_chat_engine::RoomInfo;",
            "    #[http]\n    async fn a(&self) -> RoomInfo { x() }",
        ),
        &["room-info"],
    );
    // Nor is a type inside an inline module.
    assert_rejected(
        app(
            "mod inner { pub struct Thing { pub a: u32 } }",
            "    #[http]\n    async fn a(&self) -> inner::Thing { x() }",
        ),
        &["thing"],
    );
    // A missing type needed only through another type's field is found as well.
    assert_rejected(
        app(
            "pub struct Outer { pub inner: Missing }",
            "    #[http]\n    async fn a(&self) -> Outer { x() }",
        ),
        &["missing"],
    );
}

#[test]
fn a_type_defined_in_two_files_is_rejected_not_guessed() {
    let crate_ = app(
        "mod a;\nmod b;",
        "    #[http]\n    async fn get(&self) -> Info { x() }",
    )
    .with_file("a.rs", "pub struct Info { pub x: u32 }")
    .with_file("b.rs", "pub struct Info { pub y: u32 }");
    assert_rejected(crate_, &["info", "a.rs", "b.rs"]);
}

#[test]
fn missing_or_ambiguous_world_is_rejected() {
    assert_rejected(
        TempCrate::new("pub struct AState;\n#[hyperapp(name = \"a\")]\nimpl AState {}\n"),
        &["wit_world"],
    );
    assert_rejected(
        TempCrate::new("pub struct AState;\nimpl AState {}\n"),
        &["#[hyperapp]"],
    );
}

/// The committed-`api/` check relies on the output following the handlers: each change
/// below must show in the generated text.
#[test]
fn changing_a_handler_changes_the_output() {
    let original = fs::read_to_string(fixture("skeleton").join("src/lib.rs")).unwrap();
    let baseline = TempCrate::new(&original).interface("app.wit");
    let changes = [
        // parameter type
        (
            "increment_counter(&mut self, amount: u32)",
            "increment_counter(&mut self, amount: u64)",
            "arg-types: tuple<u64>",
        ),
        // parameter name
        (
            "increment_counter(&mut self, amount: u32)",
            "increment_counter(&mut self, step: u32)",
            "// args: (step: u32)",
        ),
        // return type
        (
            "Result<Vec<String>, String>",
            "Result<Vec<u8>, String>",
            "returning: result<list<u8>, string>",
        ),
        // handler name
        (
            "async fn get_messages",
            "async fn list_messages",
            "record list-messages-signature-http",
        ),
        // handler kind
        (
            "#[local]\n    #[http]\n    async fn get_status",
            "#[remote]\n    async fn get_status",
            "get-status-signature-remote",
        ),
        // a field of a type used by a handler
        (
            "    node: String,\n}",
            "    node: String,\n    uptime: u64,\n}",
            "uptime: u64",
        ),
    ];
    for (from, to, expected_line) in changes {
        assert!(
            original.contains(from),
            "fixture no longer contains {from:?}"
        );
        let changed = TempCrate::new(&original.replacen(from, to, 1)).interface("app.wit");
        assert_ne!(
            changed, baseline,
            "changing {from:?} to {to:?} left the WIT unchanged"
        );
        assert!(
            changed.contains(expected_line),
            "changing {from:?} to {to:?} should give {expected_line:?}:\n{changed}"
        );
        assert!(!baseline.contains(expected_line));
    }

    // Adding an HTTP path shows in the record's comment.
    let with_path = original.replacen(
        "#[http]\n    async fn get_messages",
        "#[http(method = \"get\", path = \"/api/messages\")]\n    async fn get_messages",
        1,
    );
    let changed = TempCrate::new(&with_path).interface("app.wit");
    assert!(
        changed.contains("// HTTP: GET /api/messages\n"),
        "{changed}"
    );
}

#[test]
fn the_process_crate_generates() {
    // The real process crate must stay within what kit can generate WIT for; whether the
    // committed api/ matches is checked by `cargo xtask wit`.
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../voice-chat");
    let files = generate(&crate_dir).unwrap_or_else(|e| panic!("{e:#}"));
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "types-voice-chat-template-dot-os-v0.wit",
            "voice-chat-template-dot-os-v0.wit",
            "voice-chat.wit"
        ]
    );
}
