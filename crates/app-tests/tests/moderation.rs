//! Roles, mutes, hands, kicks and chat between alice.os (hosting the room) and bob.os (whose
//! users join through bob's process).
mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn chat_texts(c: &Client) -> Vec<String> {
    c.events()
        .iter()
        .filter(|v| v["event"]["kind"] == "chat")
        .map(|v| v["event"]["message"]["text"].as_str().unwrap().to_string())
        .collect()
}

async fn speak(c: &mut Client, n: u32) {
    for _ in 0..n {
        c.send_frame();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn heard(c: &Client, from: &str) -> usize {
    frames_from(c, from).len()
}

#[tokio::test]
async fn promote_mute_hands_kick_and_chat_order_work_across_nodes() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let bob_api = Api::new(bob);
    let (room, invite) = api.create_room("Town hall", true).await;

    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut g1 = Client::guest(alice, "G1").await;
    g1.join(&room, "Guest", Some(&invite), None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob one", Some(&invite), Some("alice.os")).await;
    let mut b2 = Client::owner(bob, "B2").await;
    b2.join(&room, "Bob two", Some(&invite), Some("alice.os")).await;
    for c in [&a0, &g1, &b1] {
        c.event("joined", |e| e["participant"]["name"] == "Bob two").await;
    }
    let (a0_id, g1_id, b1_id, b2_id) = (a0.participant.clone(), g1.participant.clone(), b1.participant.clone(), b2.participant.clone());

    // Chat crosses nodes in one order: 20 messages alternating between the nodes, sent
    // without waiting; everyone sees the same sequence, each sender's messages in its order.
    for i in 0..20 {
        let (sender, tag) = if i % 2 == 0 { (&a0, "alice") } else { (&b1, "bob") };
        sender.send_msg("chat", json!({"text": format!("{tag} {i}")}));
    }
    for c in [&a0, &g1, &b1, &b2] {
        c.wait_until("all 20 chat messages", WAIT, |texts, _, _| {
            texts.iter().filter(|v| v["type"] == "event" && v["event"]["kind"] == "chat").count() >= 20
        })
        .await;
    }
    let order = chat_texts(&a0);
    assert_eq!(order.len(), 20);
    for c in [&g1, &b1, &b2] {
        assert_eq!(chat_texts(c), order, "{} sees the chat in the host's order", c.label);
    }
    for tag in ["alice", "bob"] {
        let own: Vec<&String> = order.iter().filter(|t| t.starts_with(tag)).collect();
        let sent: Vec<String> = (0..20).filter(|i| (i % 2 == 0) == (tag == "alice")).map(|i| format!("{tag} {i}")).collect();
        assert_eq!(own, sent.iter().collect::<Vec<_>>(), "{tag}'s messages keep their order");
    }
    let history: Vec<String> =
        api.ok("ChatHistory", json!(room)).await.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(history, order);
    for c in [&a0, &g1, &b1, &b2] {
        let seqs: Vec<u64> = c.events().iter().map(|v| v["seq"].as_u64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{}: event seqs without gaps or repeats: {seqs:?}", c.label);
    }

    // Promote across nodes: the host makes one of bob's users a moderator.
    a0.send_msg("set_role", json!({"participant": b1_id, "role": "moderator"}));
    for c in [&a0, &g1, &b1, &b2] {
        c.event("role_changed", |e| e["participant"] == b1_id.as_str() && e["role"] == "moderator" && e["by"] == a0_id.as_str()).await;
    }
    // A speaker may not mute anyone; the refusal reaches bob's user and changes nothing.
    let before = room_state(&api.room(&room).await);
    let from = b2.text_count();
    b2.send_msg("mute", json!({"participant": g1_id, "ref": "try-mute"}));
    let err = b2.error_after(from, "forbidden").await;
    assert_eq!(err["ref"], "try-mute");
    assert_eq!(room_state(&api.room(&room).await), before);

    // The remote moderator mutes a local guest: its frames stop; unmuted, they flow again.
    b1.send_msg("mute", json!({"participant": g1_id}));
    g1.event("muted", |e| e["participant"] == g1_id.as_str() && e["muted"] == true && e["by"] == b1_id.as_str()).await;
    let (heard_a0, heard_b2) = (heard(&a0, "G1"), heard(&b2, "G1"));
    let muted_before = api.metrics().await["frames_dropped"]["muted"].as_u64().unwrap();
    speak(&mut g1, 10).await;
    // A later speaker's frames mark the point by which G1's would have arrived.
    let mark = heard(&a0, "B2");
    speak(&mut b2, 5).await;
    a0.wait_until("B2's marker frames", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"B2#")).count() >= mark + 5).await;
    assert_eq!((heard(&a0, "G1"), heard(&b2, "G1")), (heard_a0, heard_b2), "a muted guest is not heard");
    assert_eq!(api.metrics().await["frames_dropped"]["muted"].as_u64().unwrap() - muted_before, 10);
    b1.send_msg("unmute", json!({"participant": g1_id}));
    g1.event("muted", |e| e["participant"] == g1_id.as_str() && e["muted"] == false).await;
    speak(&mut g1, 5).await;
    b2.wait_until("G1 heard again across nodes", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"G1#")).count() >= heard_b2 + 5).await;

    // The host mutes one of bob's users: nobody hears it until unmuted.
    a0.send_msg("mute", json!({"participant": b2_id}));
    b2.event("muted", |e| e["participant"] == b2_id.as_str() && e["muted"] == true).await;
    b1.event("muted", |e| e["participant"] == b2_id.as_str() && e["muted"] == true).await;
    let (heard_a0, heard_b1) = (heard(&a0, "B2"), heard(&b1, "B2"));
    speak(&mut b2, 10).await;
    let mark = heard(&b2, "G1");
    speak(&mut g1, 5).await;
    b2.wait_until("G1's marker frames", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"G1#")).count() >= mark + 5).await;
    a0.wait_until("G1's marker frames", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"G1#")).count() >= 10).await;
    assert_eq!((heard(&a0, "B2"), heard(&b1, "B2")), (heard_a0, heard_b1), "a muted remote user is heard neither on alice nor by its node-mate");
    let dropped = api.metrics().await["frames_dropped"]["muted"].as_u64().unwrap()
        + bob_api.metrics().await["frames_dropped"]["muted"].as_u64().unwrap();
    assert!(dropped >= 20, "the muted frames are counted: {dropped}");
    a0.send_msg("unmute", json!({"participant": b2_id}));
    b2.event("muted", |e| e["participant"] == b2_id.as_str() && e["muted"] == false).await;

    // Hands: a remote viewer raises its hand, the remote moderator accepts it (speaker now,
    // and heard); raised again as viewer, the host dismisses it.
    a0.send_msg("set_role", json!({"participant": b2_id, "role": "viewer"}));
    b2.event("role_changed", |e| e["participant"] == b2_id.as_str() && e["role"] == "viewer").await;
    b2.send_msg("raise_hand", json!({}));
    for c in [&a0, &g1, &b1, &b2] {
        c.event("hand_raised", |e| e["participant"] == b2_id.as_str()).await;
    }
    assert_eq!(api.room(&room).await["hands"], json!([b2_id]));
    b1.send_msg("accept_hand", json!({"participant": b2_id}));
    for c in [&a0, &b2] {
        c.event("hand_lowered", |e| e["participant"] == b2_id.as_str() && e["reason"] == "accepted").await;
        c.event("role_changed", |e| e["participant"] == b2_id.as_str() && e["role"] == "speaker" && e["by"] == b1_id.as_str()).await;
    }
    let snap = api.room(&room).await;
    assert_eq!(snap["hands"], json!([]));
    assert_eq!(participant(&snap, "Bob two")["role"], "speaker");
    let heard_a0 = heard(&a0, "B2");
    speak(&mut b2, 5).await;
    a0.wait_until("the accepted speaker is heard", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"B2#")).count() >= heard_a0 + 5).await;
    let from = b2.text_count();
    a0.send_msg("set_role", json!({"participant": b2_id, "role": "viewer"}));
    b2.event_after(from, "role_changed", |e| e["participant"] == b2_id.as_str() && e["role"] == "viewer").await;
    let from = b2.text_count();
    b2.send_msg("raise_hand", json!({}));
    b2.text_from(from, "hand raised again", |v| v["type"] == "event" && v["event"]["kind"] == "hand_raised").await;
    a0.send_msg("dismiss_hand", json!({"participant": b2_id}));
    b2.event("hand_lowered", |e| e["participant"] == b2_id.as_str() && e["reason"] == "dismissed").await;
    let snap = api.room(&room).await;
    assert_eq!(snap["hands"], json!([]));
    assert_eq!(participant(&snap, "Bob two")["role"], "viewer", "a dismissed hand keeps its role");
    // Lowering a hand that is not raised is refused with its code.
    let from = b2.text_count();
    b2.send_msg("lower_hand", json!({}));
    b2.error_after(from, "hand_not_raised").await;

    // Kicks across nodes, both ways: the remote moderator kicks the local guest, the host
    // kicks one of bob's users; their sockets close and the others see `left: kicked`.
    let open_sockets = |m: Value| m["connections"].as_u64().unwrap();
    let (alice_sockets, bob_sockets) = (open_sockets(api.metrics().await), open_sockets(bob_api.metrics().await));
    b1.send_msg("kick", json!({"participant": g1_id}));
    g1.wait_until("the kicked guest's socket to close", WAIT, |_, _, closed| closed).await;
    b2.event("left", |e| e["participant"] == g1_id.as_str() && e["reason"] == "kicked").await;
    a0.send_msg("kick", json!({"participant": b2_id}));
    b2.wait_until("bob to close the kicked user's socket", WAIT, |_, _, closed| closed).await;
    b1.event("left", |e| e["participant"] == b2_id.as_str() && e["reason"] == "kicked").await;
    let snap = api.room(&room).await;
    let names: Vec<&str> = snap["participants"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alice", "Bob one"]);
    // Their closed sockets are not mistaken for drops (no "reconnecting" after the kick):
    // checked once each process has let go of the kicked socket.
    eventually("alice and bob to let go of the kicked sockets", || {
        let (api, bob_api) = (api.clone(), bob_api.clone());
        async move {
            let gone = open_sockets(api.metrics().await) == alice_sockets - 1 && open_sockets(bob_api.metrics().await) == bob_sockets - 1;
            gone.then_some(())
        }
    })
    .await;
    a0.send_msg("chat", json!({"text": "after the kicks"}));
    b1.event("chat", |e| e["message"]["text"] == "after the kicks").await;
    for c in [&a0, &b1] {
        let ghosts: Vec<_> = c
            .events()
            .into_iter()
            .filter(|v| v["event"]["kind"] == "reconnecting" && (v["event"]["participant"] == g1_id.as_str() || v["event"]["participant"] == b2_id.as_str()))
            .collect();
        assert!(ghosts.is_empty(), "{}: {ghosts:?}", c.label);
    }
    assert_eq!(participant(&snap, "Bob one")["role"], "moderator");

    // Settings changed by the host reach bob's user; a moderator may not change them.
    let from = b1.text_count();
    b1.send_msg("update_settings", json!({"settings": {"name": "Not yours"}}));
    b1.error_after(from, "forbidden").await;
    a0.send_msg("update_settings", json!({"settings": {"name": "Renamed", "guests_allowed": false}}));
    let changed = b1.event("settings_changed", |e| e["settings"]["name"] == "Renamed").await;
    assert_eq!(changed["event"]["settings"]["guests_allowed"], false);
    let mut late_guest = Client::guest(alice, "LATE").await;
    assert_eq!(late_guest.try_join(&room, "Late", Some(&invite), None).await.unwrap_err()["code"], "guests_not_allowed");

    // A remote user leaves: alice sees it go, and bob stops proxying the room. (It needs the
    // invite: the kick of bob's user above made the room forget bob.os's role.)
    let mut b3 = Client::owner(bob, "B3").await;
    let b3_id = b3.join(&room, "Bob three", Some(&invite), Some("alice.os")).await["participant"].as_str().unwrap().to_string();
    assert_eq!(bob_api.metrics().await["proxied_rooms"], 1);
    b3.send_msg("leave", json!({}));
    a0.event("left", |e| e["participant"] == b3_id.as_str() && e["reason"] == "left").await;
    let from = b3.text_count();
    b3.send_msg("chat", json!({"text": "after leaving"}));
    b3.error_after(from, "not_joined").await;

    // The host leaves: the moderator on bob becomes Host and may now do what a Host does;
    // the owner coming back gets Moderator (the room has a Host).
    a0.send_msg("leave", json!({}));
    b1.event("role_changed", |e| e["participant"] == b1_id.as_str() && e["role"] == "host" && e["by"].is_null()).await;
    b1.send_msg("update_settings", json!({"settings": {"name": "Handed over"}}));
    b1.event("settings_changed", |e| e["settings"]["name"] == "Handed over").await;
    assert_eq!(api.room(&room).await["settings"]["name"], "Handed over");
    let back = a0.join(&room, "Alice", None, None).await;
    assert_eq!(back["role"], "moderator", "{back}");

    // The remote Host closes the room: everyone hears it and is no longer in a room anywhere.
    let from = a0.text_count();
    b1.send_msg("close_room", json!({}));
    a0.event_after(from, "closed", |e| e["by"] == b1_id.as_str()).await;
    b1.event("closed", |e| e["by"] == b1_id.as_str()).await;
    assert_eq!(api.err("GetRoom", json!(room)).await, (404, "room_not_found".into()));
    let from = b1.text_count();
    b1.send_msg("chat", json!({"text": "hello?"}));
    b1.error_after(from, "not_joined").await;
    let proxied = eventually("bob to stop proxying the closed room", || {
        let bob_api = bob_api.clone();
        async move {
            let n = bob_api.metrics().await["proxied_rooms"].as_u64().unwrap();
            (n == 0).then_some(n)
        }
    })
    .await;
    assert_eq!(proxied, 0);

    cluster.shutdown().await;
}
