//! Helpers of the upgrade and saved-state tests: the released 0.1.0 package (a committed
//! fixture), rooms with settings, roles and chat made over the HTTP API and WebSockets, and
//! what the node's state slot holds.
use crate::common::*;
use devnode::Node;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The package zip of voice-chat 0.1.0 as released (crates/app-tests/fixtures/README.md).
pub fn released_0_1_0_zip() -> Vec<u8> {
    let path = workspace_root().join("crates/app-tests/fixtures/voice-chat-0.1.0.zip");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Nodes without any package (they need no build of the current one).
pub async fn boot_bare(names: &[&str]) -> devnode::Cluster {
    devnode::Cluster::start(devnode::ClusterOptions::default().nodes(names)).await.expect("boot devnode cluster")
}

pub fn state_file(node: &Node) -> PathBuf {
    devnode::modules::state_dir(&node.kernel().home).join(APP)
}

/// The vfs path `/<package>/<drive>/<file>` as a file under the node's home.
pub fn vfs_file(node: &Node, vfs_path: &str) -> PathBuf {
    devnode::vfs::vfs_root(&node.kernel().home).join(vfs_path.trim_start_matches('/'))
}

/// Waits until the saved state holds `text` (the shell saves shortly after a change).
pub async fn wait_saved(node: &Node, text: &str) {
    let file = state_file(node);
    let saved = eventually_bool(|| std::fs::read(&file).is_ok_and(|b| b.windows(text.len()).any(|w| w == text.as_bytes()))).await;
    assert!(saved, "{text:?} reaches the saved state at {}", file.display());
}

/// Two rooms on alice.os: "Kept" (guests allowed, settings changed, alice host, bob.os's owner
/// promoted to moderator, chat from both) and "Second" (invite rotated). Returns the open
/// clients and what alice's API shows, in the shape of the engine's state fixtures'
/// `expected.json`.
pub struct Made {
    pub a0: Client,
    pub b1: Client,
    pub kept: String,
    pub expected: Value,
}

pub async fn make_rooms(alice: &Node, bob: &Node) -> Made {
    let api = Api::new(alice);
    let (kept, invite) = api.create_room("Kept", true).await;
    api.ok("UpdateSettings", json!([kept, {"capacity": 7, "default_role": "viewer"}])).await;
    let (second, _) = api.create_room("Second", false).await;
    api.ok("RotateInvite", json!(second)).await;

    let mut a0 = Client::owner(alice, "A0").await;
    assert_eq!(a0.join(&kept, "Alice", None, None).await["role"], "host");
    let mut b1 = Client::owner(bob, "B1").await;
    assert_eq!(b1.join(&kept, "Bob", Some(&invite), Some("alice.os")).await["role"], "viewer");
    let bob_id = b1.participant.clone();
    a0.send_msg("set_role", json!({"participant": bob_id, "role": "moderator"}));
    b1.event("role_changed", |e| e["participant"] == bob_id.as_str() && e["role"] == "moderator").await;
    a0.send_msg("chat", json!({"text": "remember me"}));
    b1.event("chat", |e| e["message"]["text"] == "remember me").await;
    b1.send_msg("chat", json!({"text": "from bob"}));
    a0.event("chat", |e| e["message"]["text"] == "from bob").await;

    let mut rooms = Vec::new();
    for id in [&kept, &second] {
        let snapshot = api.room(id).await;
        let roles: serde_json::Map<String, Value> = snapshot["participants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["guest"] == false)
            .map(|p| (p["node"].as_str().unwrap().to_string(), p["role"].clone()))
            .chain([("alice.os".to_string(), json!("host"))])
            .collect();
        rooms.push(json!({
            "id": id,
            "settings": snapshot["settings"],
            "invite": api.ok("GetInvite", json!(id)).await,
            "chat": snapshot["chat"],
            "seq": snapshot["seq"],
            "roles": roles,
        }));
    }
    let expected = json!({"node": "alice.os", "rooms": rooms});
    assert_eq!(expected["rooms"][0]["roles"], json!({"alice.os": "host", "bob.os": "moderator"}), "{expected}");
    assert_eq!(expected["rooms"][0]["chat"].as_array().unwrap().len(), 2);
    wait_saved(alice, "from bob").await;
    Made { a0, b1, kept, expected }
}
