//! Upgrades and saved state: rooms made with the released 0.1.0 package survive installing
//! the current package over it, and clients resume; saved state that cannot be read is kept
//! in a vfs file and never saved over until the owner discards it.
mod common;
#[path = "common/upgrade.rs"]
mod upgrade;
use common::*;
use serde_json::{json, Value};
use upgrade::*;
use voice_chat_engine::persist::slot::{decode_slot, encode_slot, SlotContent};
use voice_chat_engine::persist::{PersistedRoom, PERSISTED_VERSION};
use voice_chat_engine::{PersistedState, Role, Settings};

const CURRENT: &str = env!("CARGO_PKG_VERSION");

async fn saved_state(api: &Api) -> Value {
    api.get("/api/saved-state").await
}

/// Regenerates the engine's fixture of format 1: `cargo test -p voice-chat-app-tests --test
/// upgrade -- --ignored capture`. The bytes are those devnode's state module stored for the
/// 0.1.0 process; `expected.json` is what 0.1.0's HTTP API showed at that moment.
#[tokio::test]
#[ignore = "writes crates/engine/tests/fixtures/state/v1-0.1.0.*"]
async fn capture_the_saved_state_of_0_1_0() {
    let cluster = boot_bare(&["alice.os", "bob.os"]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    install(alice, &released_0_1_0_zip(), "0.1.0").await;
    install(bob, &released_0_1_0_zip(), "0.1.0").await;
    let made = make_rooms(alice, bob).await;
    let dir = workspace_root().join("crates/engine/tests/fixtures/state");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("v1-0.1.0.state"), std::fs::read(state_file(alice)).unwrap()).unwrap();
    let mut expected = made.expected.clone();
    expected["format"] = json!(1);
    expected["release"] = json!("0.1.0");
    std::fs::write(dir.join("v1-0.1.0.expected.json"), serde_json::to_vec_pretty(&expected).unwrap()).unwrap();
    cluster.shutdown().await;
}

/// Regenerates the engine's fixture of format 2 (first written by 0.2.0): `cargo xtask build`,
/// then `cargo test -p voice-chat-app-tests --test upgrade -- --ignored capture`. The rooms of
/// the format-1 capture, made with the current package, plus a banned guest in "Kept" (the ban
/// list is what format 2 adds).
#[tokio::test]
#[ignore = "writes crates/engine/tests/fixtures/state/v2-0.2.0.*"]
async fn capture_the_saved_state_of_0_2_0() {
    assert_eq!(CURRENT, "0.2.0", "format 2's fixture is written by 0.2.0");
    let current_zip = std::fs::read(package_zip()).unwrap();
    let cluster = boot_bare(&["alice.os", "bob.os"]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    install(alice, &current_zip, CURRENT).await;
    install(bob, &current_zip, CURRENT).await;
    let made = make_rooms(alice, bob).await;
    let api = Api::new(alice);
    let invite = made.expected["rooms"][0]["invite"].as_str().unwrap().to_string();
    let mut g = Client::guest(alice, "G").await;
    g.join(&made.kept, "Banned guest", Some(&invite), None).await;
    api.ok("Ban", json!([made.kept, g.participant])).await;
    wait_saved(alice, "Banned guest").await;
    let mut expected = made.expected.clone();
    for room in expected["rooms"].as_array_mut().unwrap() {
        let id = room["id"].as_str().unwrap().to_string();
        room["seq"] = api.room(&id).await["seq"].clone();
        room["bans"] = api.ok("Bans", json!(id)).await;
    }
    assert_eq!(expected["rooms"][0]["bans"].as_array().unwrap().len(), 1, "{expected}");
    let dir = workspace_root().join("crates/engine/tests/fixtures/state");
    std::fs::write(dir.join("v2-0.2.0.state"), std::fs::read(state_file(alice)).unwrap()).unwrap();
    expected["format"] = json!(2);
    expected["release"] = json!("0.2.0");
    std::fs::write(dir.join("v2-0.2.0.expected.json"), serde_json::to_vec_pretty(&expected).unwrap()).unwrap();
    cluster.shutdown().await;
}

/// Installs a package zip and waits until that version answers.
async fn install(node: &devnode::Node, zip: &[u8], version: &str) {
    node.install(zip, PACKAGE_ID).unwrap_or_else(|e| panic!("installing voice-chat {version} on {}: {e:#}", node.name()));
    let api = Api::new(node);
    api.wait_ready().await;
    let what = format!("voice-chat {version} answering on {}", node.name());
    eventually(&what, || {
        let api = api.clone();
        async move { (api.get("/api/info").await["version"] == version).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn rooms_made_with_0_1_0_survive_installing_the_current_package() {
    let current_zip = std::fs::read(package_zip()).unwrap();
    let cluster = boot_bare(&["alice.os", "bob.os"]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    install(alice, &released_0_1_0_zip(), "0.1.0").await;
    install(bob, &released_0_1_0_zip(), "0.1.0").await;
    let Made { a0, b1, kept, expected } = make_rooms(alice, bob).await;
    let bob_first_id = b1.participant.clone();
    let a0_token = a0.resume_token.clone();

    // The owner installs the current package over 0.1.0.
    install(alice, &current_zip, CURRENT).await;
    let api = Api::new(alice);
    let status = saved_state(&api).await;
    assert_eq!(status["loaded_from"], 1, "{status}");
    assert_eq!(status["format"], PERSISTED_VERSION, "{status}");
    assert_eq!(status["unreadable"], Value::Null, "{status}");

    // Every room, setting, invite, chat line and role is there; numbering continues.
    let listed: Vec<String> = api.get("/api/rooms").await.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect();
    let rooms = expected["rooms"].as_array().unwrap();
    assert_eq!(listed.len(), rooms.len(), "{listed:?}");
    for room in rooms {
        let id = room["id"].as_str().unwrap();
        assert!(listed.iter().any(|l| l == id), "{id} missing after the upgrade: {listed:?}");
        let snapshot = api.room(id).await;
        // 0.1.0 had no `e2ee`: its rooms come back as clear rooms.
        let mut settings = room["settings"].clone();
        settings.as_object_mut().unwrap().entry("e2ee").or_insert(json!(false));
        assert_eq!(snapshot["settings"], settings, "{id}");
        assert_eq!(snapshot["chat"], room["chat"], "{id}");
        assert_eq!(snapshot["seq"], room["seq"], "{id}");
        assert_eq!(api.ok("GetInvite", json!(id)).await, room["invite"], "{id}");
    }

    // The owner's socket belonged to the old process: it reconnects and joins again as Host,
    // with the chat so far in its snapshot and events numbered after the old ones.
    let from = a0.text_count();
    a0.send_msg("ping", json!({"t": 1.0}));
    a0.wait_until("the old socket to be refused or closed", WAIT, |texts, _, closed| {
        closed || texts.iter().skip(from).any(|v| v["type"] == "error" && v["code"] == "unknown_connection")
    })
    .await;
    drop(a0);
    let mut a0 = Client::owner(alice, "A0").await;
    let from = a0.text_count();
    let seq_before = expected["rooms"][0]["seq"].as_u64().unwrap();
    a0.send_msg("join", json!({"room": kept, "name": "Alice", "resume": {"token": a0_token, "last_seq": seq_before}}));
    let welcome = a0.join_answer(from).await.expect("the owner joins again after the upgrade");
    assert_eq!(welcome["role"], "host");
    assert!(welcome["seq"].as_u64().unwrap() > seq_before, "{welcome}");
    let chat: Vec<&str> = welcome["snapshot"]["chat"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(chat, ["remember me", "from bob"]);

    // bob.os is upgraded too (a 0.1.0 node and a current one do not talk: see CHANGELOG.md).
    // Its owner's socket belonged to the old process; it opens a new one and joins alice's
    // room again, as the moderator it was made under 0.1.0.
    install(bob, &current_zip, CURRENT).await;
    let from = b1.text_count();
    b1.send_msg("ping", json!({"t": 2.0}));
    b1.wait_until("the old socket to be refused or closed", WAIT, |texts, _, closed| {
        closed || texts.iter().skip(from).any(|v| v["type"] == "error" && v["code"] == "unknown_connection")
    })
    .await;
    drop(b1);
    let mut b1 = Client::owner(bob, "B1").await;
    let invite = expected["rooms"][0]["invite"].as_str().unwrap().to_string();
    let welcome = b1.join(&kept, "Bob", Some(&invite), Some("alice.os")).await;
    assert_eq!(welcome["role"], "moderator", "{welcome}");
    assert_ne!(welcome["participant"], bob_first_id.as_str());
    b1.send_msg("chat", json!({"text": "after the upgrade"}));
    let line = a0.event("chat", |e| e["message"]["text"] == "after the upgrade").await;
    let last_old_id = expected["rooms"][0]["chat"][1]["id"].as_u64().unwrap();
    assert!(line["event"]["message"]["id"].as_u64().unwrap() > last_old_id, "chat ids go on: {line}");
    wait_saved(alice, "after the upgrade").await;
    cluster.shutdown().await;
}

/// The state file as the engine reads it.
fn slot(node: &devnode::Node) -> SlotContent {
    decode_slot(std::fs::read(state_file(node)).ok().as_deref())
}

fn kept_files(node: &devnode::Node) -> Vec<String> {
    let dir = vfs_file(node, &format!("/{PACKAGE_ID}/saved-state"));
    let mut names: Vec<String> =
        std::fs::read_dir(dir).map(|d| d.map(|e| e.unwrap().file_name().into_string().unwrap()).collect()).unwrap_or_default();
    names.sort();
    names
}

async fn restart(cluster: &devnode::Cluster, node: &str) {
    cluster.restart_process(node, &app_id()).unwrap();
    assert!(cluster.node(node).wait_running(&app_id(), WAIT).await);
    Api::new(cluster.node(node)).wait_ready().await;
}

#[tokio::test]
async fn unreadable_saved_state_is_kept_and_never_saved_over_until_the_owner_discards_it() {
    let cluster = boot(&["alice.os"], &[]).await;
    let alice = cluster.node("alice.os");
    let api = Api::new(alice);
    api.create_room("Doomed", false).await;
    wait_saved(alice, "Doomed").await;

    // One damaged byte in the saved JSON (the quote before the room's name).
    let mut damaged = std::fs::read(state_file(alice)).unwrap();
    let at = damaged.windows(6).position(|w| w == b"Doomed").unwrap() - 1;
    assert_eq!(damaged[at], b'"');
    damaged[at] = b'x';
    std::fs::write(state_file(alice), &damaged).unwrap();
    restart(&cluster, "alice.os").await;

    // The process runs, says so, and kept the bytes in a vfs file.
    let status = saved_state(&api).await;
    let unreadable = &status["unreadable"];
    assert!(unreadable["reason"].as_str().unwrap().contains("damaged"), "{status}");
    assert_eq!(unreadable["size"], damaged.len(), "{status}");
    let kept_in = unreadable["kept_in"].as_str().unwrap().to_string();
    assert!(kept_in.starts_with(&format!("/{PACKAGE_ID}/saved-state/unreadable-")), "{kept_in}");
    assert_eq!(std::fs::read(vfs_file(alice, &kept_in)).unwrap(), damaged, "the copy holds exactly the unreadable bytes");
    assert_eq!(status["unsaved_changes"], false);
    assert!(alice.log().lines().iter().any(|l| l.text.contains("saved state unreadable")), "the node's terminal says so");
    assert_eq!(api.get("/api/rooms").await, json!([]));

    // A durable change while the state is held: the save is refused (the status says so),
    // and the saved bytes stay exactly as they were.
    api.create_room("Meanwhile", false).await;
    let refused = eventually("the refused save", || {
        let api = api.clone();
        async move { (saved_state(&api).await["unsaved_changes"] == true).then_some(()) }
    });
    refused.await;
    assert_eq!(std::fs::read(state_file(alice)).unwrap(), damaged, "nothing saved over the unreadable state");

    // After a restart: still held, the same copy (no second one), the room made meanwhile gone.
    restart(&cluster, "alice.os").await;
    let status = saved_state(&api).await;
    assert_eq!(status["unreadable"]["kept_in"], kept_in.as_str(), "{status}");
    assert_eq!(kept_files(alice).len(), 1, "{:?}", kept_files(alice));
    assert_eq!(api.get("/api/rooms").await, json!([]), "rooms made while the state is held are not saved");
    assert_eq!(std::fs::read(state_file(alice)).unwrap(), damaged);

    // The owner decides: a stale or wrong name changes nothing; the shown one starts fresh,
    // saving the rooms there are now. The copy stays.
    let (created, _) = api.create_room("Fresh", false).await;
    assert_eq!(api.err("DiscardUnreadableState", json!("/voice-chat:template.os/saved-state/other.bin")).await, (409, "stale_kept_copy".into()));
    assert_eq!(std::fs::read(state_file(alice)).unwrap(), damaged);
    assert_eq!(api.ok("DiscardUnreadableState", json!(kept_in)).await, Value::Null);
    let status = saved_state(&api).await;
    assert_eq!(status["unreadable"], Value::Null, "{status}");
    match slot(alice) {
        SlotContent::Loaded { state, .. } => assert_eq!(state.rooms.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [created.as_str()]),
        other => panic!("the discard saved the current rooms: {other:?}"),
    }
    assert_eq!(std::fs::read(vfs_file(alice, &kept_in)).unwrap(), damaged, "the copy is the owner's to keep");
    assert_eq!(api.err("DiscardUnreadableState", json!(kept_in)).await, (409, "no_unreadable_state".into()));
    restart(&cluster, "alice.os").await;
    assert_eq!(saved_state(&api).await["loaded_from"], PERSISTED_VERSION);
    assert_eq!(api.get("/api/rooms").await.as_array().unwrap().len(), 1);

    // State from a later version (a downgrade): held the same way, with its own copy.
    let newer = PersistedState {
        version: PERSISTED_VERSION + 1,
        rooms: vec![PersistedRoom {
            id: "from-the-future".into(),
            settings: Settings::default(),
            invite: "x".into(),
            created_ms: 1,
            roles: [("alice.os".to_string(), Role::Host)].into(),
            bans: Vec::new(),
            chat: Vec::new(),
            next_chat_id: 1,
            last_seq: 1,
        }],
    };
    let newer_bytes = encode_slot(&newer);
    std::fs::write(state_file(alice), &newer_bytes).unwrap();
    restart(&cluster, "alice.os").await;
    let status = saved_state(&api).await;
    assert!(status["unreadable"]["reason"].as_str().unwrap().contains("later voice-chat"), "{status}");
    assert_eq!(kept_files(alice).len(), 2, "{:?}", kept_files(alice));
    assert_eq!(std::fs::read(vfs_file(alice, status["unreadable"]["kept_in"].as_str().unwrap())).unwrap(), newer_bytes);
    api.create_room("Not saved", false).await;
    let refused = eventually("the refused save", || {
        let api = api.clone();
        async move { (saved_state(&api).await["unsaved_changes"] == true).then_some(()) }
    });
    refused.await;
    assert_eq!(std::fs::read(state_file(alice)).unwrap(), newer_bytes);
    cluster.shutdown().await;
}
