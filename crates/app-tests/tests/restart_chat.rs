//! A chat a user of bob.os sends while the process hosting the room restarts is not lost: the
//! restarted host bounces the command it cannot place (or, while it is down, bob's node tries
//! again), and bob's node sends it again under the participant it gets for him anew. Bob is
//! told no error, and alice, back in the room, sees the message once.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_chat_sent_into_the_hosts_restart_arrives_once() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Restarting", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob", Some(&invite), Some("alice.os")).await;
    let first_id = b1.participant.clone();

    cluster.restart_process("alice.os", &app_id()).unwrap();
    let from = b1.text_count();
    b1.send_msg("chat", json!({"text": "sent into the restart"}));
    assert!(alice.wait_running(&app_id(), WAIT).await);
    api.wait_ready().await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;

    let (_, rewelcome) = b1
        .text_from(from, "bob joined again after the host restarted", move |v| {
            v["type"] == "welcome" && v["participant"] != first_id.as_str()
        })
        .await;
    let new_id = rewelcome["participant"].as_str().unwrap().to_string();
    let saved = eventually("the chat in the host's room", || async {
        let r = api.room(&room).await;
        r["chat"].as_array().unwrap().iter().any(|m| m["text"] == "sent into the restart").then_some(r)
    })
    .await;
    let copies: Vec<_> = saved["chat"].as_array().unwrap().iter().filter(|m| m["text"] == "sent into the restart").collect();
    assert_eq!(copies.len(), 1, "once, not lost and not twice: {saved}");
    assert_eq!(copies[0]["from"], new_id.as_str(), "from bob's new participant: {saved}");
    // Alice has it: in the welcome's snapshot when it came first, else as an event.
    let in_welcome = a0.texts().iter().any(|v| {
        v["type"] == "welcome" && v["snapshot"]["chat"].as_array().is_some_and(|c| c.iter().any(|m| m["text"] == "sent into the restart"))
    });
    if !in_welcome {
        a0.event("chat", |e| e["message"]["text"] == "sent into the restart").await;
    }
    let errors: Vec<_> = b1.texts().into_iter().skip(from).filter(|v| v["type"] == "error").collect();
    assert!(errors.is_empty(), "bob is told no error: {errors:?}");

    cluster.shutdown().await;
}
