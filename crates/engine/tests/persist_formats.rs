//! Saved state of every released format loads into the current engine: rooms, settings,
//! invites, roles, chat and event numbering come back. What cannot be read is reported as
//! unreadable, never loaded half. The fixtures are the state slot's bytes as the released
//! packages wrote them on devnode (tests/fixtures/state/README.md says how they were made).
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use voice_chat_engine::persist::slot::{decode_slot, encode_slot, SlotContent};
use voice_chat_engine::persist::{PersistedBan, PersistedRoom, Unreadable, FORMATS, PERSISTED_VERSION};
use voice_chat_engine::{Config, Engine, EventsSince, PersistedState, Role, SeededEntropy, Settings};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state")
}

/// `v<format>-<release>.state` (the slot's bytes) and `.expected.json` (what the release's
/// HTTP API showed when the bytes were saved).
fn fixture(format: u32, release: &str) -> (Vec<u8>, Value) {
    let read = |ext: &str| {
        let path = fixture_dir().join(format!("v{format}-{release}.{ext}"));
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; every saved-state format needs its fixture (tests/fixtures/state/README.md)", path.display())
        })
    };
    (read("state"), serde_json::from_slice(&read("expected.json")).expect("expected.json is JSON"))
}

fn loaded(bytes: &[u8]) -> (PersistedState, u32) {
    match decode_slot(Some(bytes)) {
        SlotContent::Loaded { state, from_version } => (state, from_version),
        other => panic!("the fixture does not load: {other:?}"),
    }
}

#[test]
fn the_formats_list_ends_with_the_current_format_and_each_has_a_fixture() {
    assert_eq!(FORMATS.last().map(|f| f.0), Some(PERSISTED_VERSION), "FORMATS must list the format this version saves");
    let versions: Vec<u32> = FORMATS.iter().map(|f| f.0).collect();
    assert_eq!(versions, (1..=PERSISTED_VERSION).collect::<Vec<_>>(), "every format from 1 on, in order");
    for (format, release) in FORMATS {
        let (bytes, expected) = fixture(*format, release);
        assert!(!bytes.is_empty());
        assert_eq!(expected["format"], json!(format));
        assert_eq!(expected["release"], json!(release));
    }
}

#[test]
fn every_released_format_loads_into_the_current_engine() {
    for (format, release) in FORMATS {
        let (bytes, expected) = fixture(*format, release);
        let (state, from_version) = loaded(&bytes);
        assert_eq!(from_version, *format, "{release}");
        assert_eq!(state.version, PERSISTED_VERSION, "migrated to the current format");
        let node = expected["node"].as_str().unwrap();
        let mut engine = Engine::restore(state.clone(), Config::default(), node, Box::new(SeededEntropy::new(7)));

        let rooms = expected["rooms"].as_array().unwrap();
        assert!(rooms.len() >= 2, "the fixture has several rooms");
        let listed: BTreeSet<String> = engine.list_rooms().into_iter().map(|r| r.id).collect();
        let wanted: BTreeSet<String> = rooms.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(listed, wanted, "{release}: the same rooms");

        for room in rooms {
            let id = room["id"].as_str().unwrap();
            let snapshot = engine.room_snapshot(id).unwrap();
            // Rooms saved before `e2ee` existed load as clear rooms (the API shows the field now).
            let mut settings = room["settings"].clone();
            settings.as_object_mut().unwrap().entry("e2ee").or_insert(json!(false));
            assert_eq!(serde_json::to_value(&snapshot.settings).unwrap(), settings, "{release} {id}: settings");
            assert_eq!(engine.invite(id).unwrap(), room["invite"].as_str().unwrap(), "{release} {id}: invite");
            assert_eq!(serde_json::to_value(engine.chat_history(id).unwrap()).unwrap(), room["chat"], "{release} {id}: chat");
            let seq = room["seq"].as_u64().unwrap();
            assert_eq!(snapshot.seq, seq, "{release} {id}: event numbering");
            let saved = state.rooms.iter().find(|r| r.id == id).unwrap();
            assert_eq!(serde_json::to_value(&saved.roles).unwrap(), room["roles"], "{release} {id}: roles");
            // Ban lists from format 2 on (format 1 had none).
            let bans = serde_json::to_value(engine.bans(id).unwrap()).unwrap();
            assert_eq!(bans, room.get("bans").cloned().unwrap_or(json!([])), "{release} {id}: bans");

            // Numbering continues after the saved events, and chat ids after the saved ones.
            engine.clear_chat(1, id).unwrap();
            match engine.events_since(id, seq).unwrap() {
                EventsSince::Missed { events } => {
                    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![seq + 1], "{release} {id}")
                }
                other => panic!("{release} {id}: {other:?}"),
            }
        }
        let chatty = state.rooms.iter().find(|r| !r.chat.is_empty()).expect("the fixture has chat");
        assert!(chatty.next_chat_id > chatty.chat.iter().map(|c| c.id).max().unwrap());
        if *format >= 2 {
            assert!(state.rooms.iter().any(|r| !r.bans.is_empty()), "{release}: the fixture has a ban");
        }
        let roles: BTreeSet<Role> = state.rooms.iter().flat_map(|r| r.roles.values().copied()).collect();
        assert!(roles.len() >= 2, "{release}: the fixture has more than the host's role: {roles:?}");
    }
}

/// The tripwire for format changes: the current format's fixture, loaded into the engine and
/// saved again, gives the same JSON. When it does not, what the engine saves has changed:
/// follow "Changing what is saved" in crates/engine/src/persist.rs.
#[test]
fn the_engine_saves_exactly_the_current_format() {
    let (format, release) = FORMATS.last().unwrap();
    let (bytes, expected) = fixture(*format, release);
    let (state, _) = loaded(&bytes);
    let engine = Engine::restore(state, Config::default(), expected["node"].as_str().unwrap(), Box::new(SeededEntropy::new(7)));
    let saved: Value = serde_json::from_slice(&engine.persisted().to_bytes()).unwrap();
    let original = saved_json(&bytes);
    let sorted = |v: &Value| {
        let mut rooms = v["rooms"].as_array().unwrap().clone();
        rooms.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
        json!({"version": v["version"], "rooms": rooms})
    };
    assert_eq!(
        sorted(&saved),
        sorted(&original),
        "the saved format changed without a new format version (see persist.rs, \"Changing what is saved\")"
    );
}

/// The JSON inside the slot's wrapper, read with nothing of the engine.
fn saved_json(slot: &[u8]) -> Value {
    let (saved,): (Option<Vec<u8>>,) = rmp_serde::from_slice(slot).unwrap();
    serde_json::from_slice(&saved.unwrap()).unwrap()
}

fn sample() -> PersistedState {
    PersistedState {
        version: PERSISTED_VERSION,
        rooms: vec![PersistedRoom {
            id: "r1".into(),
            settings: Settings::default(),
            invite: "inv".into(),
            created_ms: 3,
            roles: [("a.os".to_string(), Role::Host)].into(),
            bans: vec![
                PersistedBan { ban_id: "b1".into(), name: "mallory".into(), node: Some("m.os".into()), guest_token: None, banned_ms: 2 },
                PersistedBan { ban_id: "b2".into(), name: "guest".into(), node: None, guest_token: Some("resume-token".into()), banned_ms: 3 },
            ],
            chat: Vec::new(),
            next_chat_id: 1,
            last_seq: 4,
        }],
    }
}

fn unreadable(bytes: &[u8]) -> Unreadable {
    match decode_slot(Some(bytes)) {
        SlotContent::Unreadable(why) => why,
        other => panic!("read although it should not be: {other:?}"),
    }
}

#[test]
fn what_the_shell_writes_reads_back() {
    let state = sample();
    assert_eq!(decode_slot(Some(&encode_slot(&state))), SlotContent::Loaded { state, from_version: PERSISTED_VERSION });
    assert_eq!(decode_slot(None), SlotContent::Empty, "nothing saved is a fresh node");
}

#[test]
fn one_damaged_byte_makes_the_state_unreadable_not_empty() {
    let good = encode_slot(&sample());
    // Every single-byte change is either refused or reads back as exactly what was written:
    // nothing in between (no half-loaded or silently emptied state).
    for i in 0..good.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            match decode_slot(Some(&bad)) {
                SlotContent::Unreadable(_) => {}
                SlotContent::Loaded { state, .. } => {
                    assert_eq!(state.rooms.len(), 1, "byte {i} ^ {flip:#x} loaded {state:?}");
                }
                SlotContent::Empty => panic!("byte {i} ^ {flip:#x} turned saved rooms into an empty node"),
            }
        }
    }
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 3);
    assert!(matches!(unreadable(&truncated), Unreadable::NotState(_)));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(unreadable(&longer), Unreadable::NotState(_)));
    assert!(matches!(unreadable(b""), Unreadable::NotState(_)));
    assert!(matches!(unreadable(b"\xc1garbage"), Unreadable::NotState(_)));
}

#[test]
fn a_newer_format_is_unreadable_and_says_so() {
    let newer = PersistedState { version: PERSISTED_VERSION + 1, ..sample() };
    let why = unreadable(&encode_slot(&newer));
    assert_eq!(why, Unreadable::Newer { found: PERSISTED_VERSION + 1 });
    assert!(why.to_string().contains("later voice-chat"), "{why}");
}

#[test]
fn fields_a_format_does_not_know_make_it_unreadable_not_dropped() {
    let mut json: Value = serde_json::from_slice(&sample().to_bytes()).unwrap();
    json["rooms"][0]["mutes"] = json!(["x.os"]);
    let bytes = serde_json::to_vec(&json).unwrap();
    let why = PersistedState::from_bytes(&bytes).unwrap_err();
    assert!(matches!(&why, Unreadable::Damaged { version: 2, error } if error.contains("mutes")), "{why}");
    // Format 1 did not know bans: a format-1 state that carries them is not read half.
    let mut json: Value = serde_json::from_slice(&sample().to_bytes()).unwrap();
    json["version"] = json!(1);
    let bytes = serde_json::to_vec(&json).unwrap();
    let why = PersistedState::from_bytes(&bytes).unwrap_err();
    assert!(matches!(&why, Unreadable::Damaged { version: 1, error } if error.contains("bans")), "{why}");
}

/// Format 2 added ban lists: format-1 rooms load with none, and bans saved now read back with
/// what keeps each one out (a node's name, a guest's resume token).
#[test]
fn bans_are_saved_from_format_2_on_and_format_1_rooms_have_none() {
    let (bytes, _) = fixture(1, "0.1.0");
    let (state, from) = loaded(&bytes);
    assert_eq!(from, 1);
    assert!(state.rooms.iter().all(|r| r.bans.is_empty()));
    let with_bans = sample();
    let (back, from) = loaded(&encode_slot(&with_bans));
    assert_eq!((back, from), (with_bans.clone(), 2));
    let engine = Engine::restore(with_bans.clone(), Config::default(), "a.os", Box::new(SeededEntropy::new(7)));
    let shown = engine.bans("r1").unwrap();
    assert_eq!(shown.iter().map(|b| (b.ban_id.as_str(), b.node.as_deref(), b.guest)).collect::<Vec<_>>(), vec![("b1", Some("m.os"), false), ("b2", None, true)]);
    assert_eq!(engine.persisted(), with_bans, "saved again unchanged");
    // A ban that names neither or both a node and a guest is no state of ours.
    let mut odd = with_bans;
    odd.rooms[0].bans[0].guest_token = Some("t".into());
    assert!(matches!(PersistedState::from_bytes(&odd.to_bytes()), Err(Unreadable::Damaged { version: 2, .. })));
}

#[test]
fn states_no_format_allows_are_unreadable() {
    let no_version = br#"{"rooms":[]}"#;
    assert!(matches!(PersistedState::from_bytes(no_version), Err(Unreadable::NotState(_))));
    assert!(matches!(PersistedState::from_bytes(br#"{"version":0,"rooms":[]}"#), Err(Unreadable::NotState(_))));
    let mut twice = sample();
    twice.rooms.push(twice.rooms[0].clone());
    assert!(matches!(PersistedState::from_bytes(&twice.to_bytes()), Err(Unreadable::Damaged { .. })));
}
