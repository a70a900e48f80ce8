//! A short network blip between nodes loses nothing: a command whose request (or answer) was
//! lost is sent again and applied once.
mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_command_lost_in_a_blip_is_retried_and_applied_once() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Blip", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob", Some(&invite), Some("alice.os")).await;

    // Everything between the nodes is lost for a moment (requests and answers alike).
    cluster.set_link("alice.os", "bob.os", Duration::ZERO, 1.0);
    let from = b1.text_count();
    b1.send_msg("chat", json!({"text": "through the blip", "ref": "blip"}));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.set_link("alice.os", "bob.os", Duration::ZERO, 0.0);

    for c in [&a0, &b1] {
        c.event("chat", |e| e["message"]["text"] == "through the blip").await;
    }
    let errors: Vec<_> = b1.texts()[from..].iter().filter(|v| v["type"] == "error").cloned().collect();
    assert!(errors.is_empty(), "the sender was told of a failure that did not happen: {errors:?}");
    let history = api.ok("ChatHistory", json!(room)).await;
    let copies = history.as_array().unwrap().iter().filter(|m| m["text"] == "through the blip").count();
    assert_eq!(copies, 1, "applied exactly once: {history}");

    cluster.shutdown().await;
}
