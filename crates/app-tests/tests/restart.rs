//! Restarting the voice-chat process on the hosting node keeps rooms, settings, invites, chat
//! and roles; connected clients learn their socket is unknown, reconnect and get their role
//! back; bob's process joins its users again by itself.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_process_restart_keeps_rooms_settings_and_roles() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Persistent", true).await;
    let settings = api.ok("UpdateSettings", json!([room, {"name": "Kept", "capacity": 7, "default_role": "viewer"}])).await;
    let (other, _) = api.create_room("Second", false).await;

    let mut a0 = Client::owner(alice, "A0").await;
    assert_eq!(a0.join(&room, "Alice", None, None).await["role"], "host");
    let mut b1 = Client::owner(bob, "B1").await;
    assert_eq!(b1.join(&room, "Bob", Some(&invite), Some("alice.os")).await["role"], "viewer", "the room's default role");
    let b1_first_id = b1.participant.clone();
    a0.send_msg("set_role", json!({"participant": b1_first_id, "role": "moderator"}));
    b1.event("role_changed", |e| e["participant"] == b1_first_id.as_str() && e["role"] == "moderator").await;
    a0.send_msg("chat", json!({"text": "remember me"}));
    b1.event("chat", |e| e["message"]["text"] == "remember me").await;
    let before = api.room(&room).await;
    let seq_before = before["seq"].as_u64().unwrap();

    // The shell saves on the tick after a durable change (a kill inside that 20 ms loses it):
    // wait until the node's state store holds the latest change before killing the process.
    let state_file = devnode::modules::state_dir(&alice.kernel().home).join(APP);
    let saved = eventually_bool(|| std::fs::read(&state_file).is_ok_and(|b| b.windows(11).any(|w| w == b"remember me"))).await;
    assert!(saved, "the chat message reaches the saved state at {}", state_file.display());
    cluster.restart_process("alice.os", &app_id()).unwrap();
    assert!(alice.wait_running(&app_id(), WAIT).await);
    api.wait_ready().await;

    // Rooms, settings, invite and chat survive; participants do not (their sockets died).
    let rooms = api.get("/api/rooms").await;
    let mut ids: Vec<&str> = rooms.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![room.as_str(), other.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    let after = api.room(&room).await;
    assert_eq!(after["settings"], settings);
    assert_eq!(after["chat"], before["chat"]);
    assert!(after["seq"].as_u64().unwrap() >= seq_before, "event numbering continues: {} < {seq_before}", after["seq"]);
    assert_eq!(api.ok("GetInvite", json!(room)).await, json!(invite));

    // The owner's old socket is unknown to the new process: told so, and closed.
    let from = a0.text_count();
    a0.send_msg("ping", json!({"t": 1.0}));
    a0.error_after(from, "unknown_connection").await;
    a0.wait_until("the unknown socket to be closed", WAIT, |_, _, closed| closed).await;
    // Reconnecting with the old resume token falls back to a fresh join, as Host again.
    let mut a0 = Client::owner(alice, "A0").await;
    let from = a0.text_count();
    a0.send_msg("join", json!({"room": room, "name": "Alice", "resume": {"token": "stale-token", "last_seq": seq_before}}));
    let welcome = a0.join_answer(from).await.expect("rejoin after restart");
    assert_eq!(welcome["role"], "host");
    assert_eq!(welcome["resumed"], false);
    assert!(welcome["seq"].as_u64().unwrap() > seq_before, "new events follow the old ones");

    // Bob's process notices the new session and joins its user again: same role as before.
    let (_, rewelcome) = b1
        .text_from(0, "a second welcome after the host restarted", {
            let first = b1_first_id.clone();
            move |v| v["type"] == "welcome" && v["participant"] != first.as_str()
        })
        .await;
    assert_eq!(rewelcome["role"], "moderator", "bob.os gets its role back: {rewelcome}");
    b1.participant = rewelcome["participant"].as_str().unwrap().to_string();
    b1.stream = rewelcome["stream"].as_u64().unwrap() as u16;
    let snap = api.room(&room).await;
    assert_eq!(participant(&snap, "Bob")["role"], "moderator");
    assert_eq!(participant(&snap, "Alice")["role"], "host");
    assert_eq!(snap["participants"].as_array().unwrap().len(), 2, "{snap}");

    // The room works as before: chat and audio cross, the moderator still moderates.
    b1.send_msg("chat", json!({"text": "still here"}));
    let chat = a0.event("chat", |e| e["message"]["text"] == "still here").await;
    let old_id = before["chat"][0]["id"].as_u64().unwrap();
    assert!(chat["event"]["message"]["id"].as_u64().unwrap() > old_id, "chat ids are not reused after a restart: {chat}");
    let mut g = Client::guest(alice, "G").await;
    assert_eq!(g.join(&room, "Guest", Some(&invite), None).await["role"], "viewer");
    let g_id = g.participant.clone();
    b1.send_msg("set_role", json!({"participant": g_id, "role": "speaker"}));
    g.event("role_changed", |e| e["participant"] == g_id.as_str() && e["role"] == "speaker").await;
    for _ in 0..5 {
        g.send_frame();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    b1.wait_until("audio after the restart", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"G#")).count() >= 5).await;
    a0.wait_until("audio after the restart", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"G#")).count() >= 5).await;

    // Now bob's process restarts: its user's socket is unknown there; reconnecting with the
    // resume token takes the same participant back on alice, role and all.
    let b1_id = b1.participant.clone();
    let b1_token = rewelcome["resume_token"].as_str().unwrap().to_string();
    let from_a0 = a0.text_count();
    cluster.restart_process("bob.os", &app_id()).unwrap();
    Api::new(bob).wait_ready().await;
    let from = b1.text_count();
    b1.send_msg("ping", json!({"t": 2.0}));
    b1.error_after(from, "unknown_connection").await;
    let last_seq = b1.events().last().unwrap()["seq"].as_u64().unwrap();
    let mut b1 = Client::owner(bob, "B1").await;
    let from = b1.text_count();
    b1.send_msg(
        "join",
        json!({"room": room, "name": "Bob", "host": "alice.os", "resume": {"token": b1_token, "last_seq": last_seq}}),
    );
    let welcome = b1.join_answer(from).await.expect("resume after bob's restart");
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["participant"], b1_id.as_str());
    assert_eq!(welcome["role"], "moderator");
    a0.event_after(from_a0, "reconnecting", |e| e["participant"] == b1_id.as_str()).await;
    a0.event_after(from_a0, "reconnected", |e| e["participant"] == b1_id.as_str()).await;
    let snap = api.room(&room).await;
    assert_eq!(participant(&snap, "Bob")["id"], b1_id.as_str());
    assert_eq!(participant(&snap, "Bob")["reconnecting"], false);
    assert_eq!(snap["participants"].as_array().unwrap().len(), 3, "{snap}");
    b1.send_msg("chat", json!({"text": "bob restarted, bob is back"}));
    a0.event("chat", |e| e["message"]["text"] == "bob restarted, bob is back").await;

    cluster.shutdown().await;
}
