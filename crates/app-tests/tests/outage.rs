//! A peer node taken off the network and brought back: its users are shown as reconnecting,
//! then resume (same participants) and get everything they missed.
mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_node_offline_and_back_resumes_with_nothing_lost() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Flaky", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob one", Some(&invite), Some("alice.os")).await;
    let mut b2 = Client::owner(bob, "B2").await;
    b2.join(&room, "Bob two", Some(&invite), Some("alice.os")).await;
    let (b1_id, b2_id) = (b1.participant.clone(), b2.participant.clone());
    b1.send_msg("chat", json!({"text": "before"}));
    for c in [&a0, &b1, &b2] {
        c.event("chat", |e| e["message"]["text"] == "before").await;
    }

    cluster.set_offline("bob.os", true);
    // A command sent as the link dies cannot arrive; its sender is told so, not left guessing.
    let from = b1.text_count();
    b1.send_msg("chat", json!({"text": "sent as the link died", "ref": "lost"}));
    let err = b1.error_after(from, "host_unreachable").await;
    assert_eq!(err["ref"], "lost");
    // The first event alice cannot deliver marks bob unreachable: its users are reconnecting.
    a0.send_msg("chat", json!({"text": "while bob was away 1"}));
    for id in [&b1_id, &b2_id] {
        a0.event("reconnecting", |e| e["participant"] == id.as_str()).await;
    }
    let snap = api.room(&room).await;
    assert_eq!(participant(&snap, "Bob one")["reconnecting"], true);
    assert_eq!(participant(&snap, "Bob two")["reconnecting"], true);
    assert_eq!(participant(&snap, "Alice")["reconnecting"], false);
    a0.send_msg("chat", json!({"text": "while bob was away 2"}));
    a0.send_msg("chat", json!({"text": "while bob was away 3"}));
    a0.event("chat", |e| e["message"]["text"] == "while bob was away 3").await;
    // Bob's side notices through its heartbeat and tells its users the host is away.
    for c in [&b1, &b2] {
        c.text("host_status reachable: false", |v| v["type"] == "host_status" && v["reachable"] == false && v["room"] == room.as_str()).await;
    }
    assert!(chat_view(&b1).iter().all(|t| !t.starts_with("while")), "nothing crossed while offline");
    // Commands for the unreachable host are refused with a typed error rather than lost.
    let from = b1.text_count();
    b1.send_msg("chat", json!({"text": "is anyone there?", "ref": "away"}));
    let err = b1.error_after(from, "host_unreachable").await;
    assert_eq!(err["ref"], "away");

    cluster.set_offline("bob.os", false);
    for c in [&b1, &b2] {
        c.text("host_status reachable: true", |v| v["type"] == "host_status" && v["reachable"] == true).await;
    }
    for id in [&b1_id, &b2_id] {
        a0.event("reconnected", |e| e["participant"] == id.as_str()).await;
    }
    let expected = ["before", "while bob was away 1", "while bob was away 2", "while bob was away 3"];
    for c in [&b1, &b2] {
        eventually_bool(|| chat_view(c) == expected).await;
        assert_eq!(chat_view(c), expected, "{} sees what was said while its node was away, in order", c.label);
    }
    // Resumed, not replaced: same participants, no longer reconnecting.
    let snap = api.room(&room).await;
    assert_eq!(snap["participants"].as_array().unwrap().len(), 3, "{snap}");
    assert_eq!(participant(&snap, "Bob one")["id"], b1_id.as_str());
    assert_eq!(participant(&snap, "Bob two")["id"], b2_id.as_str());
    assert_eq!(participant(&snap, "Bob one")["reconnecting"], false);
    assert_eq!(participant(&snap, "Bob two")["reconnecting"], false);
    let history: Vec<String> =
        api.ok("ChatHistory", json!(room)).await.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(history, expected);

    // Chat and audio flow both ways again.
    b2.send_msg("chat", json!({"text": "back"}));
    a0.event("chat", |e| e["message"]["text"] == "back").await;
    b1.event("chat", |e| e["message"]["text"] == "back").await;
    for _ in 0..5 {
        b1.send_frame();
        a0.send_frame();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a0.wait_until("B1's audio after the outage", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"B1#")).count() >= 5).await;
    b2.wait_until("A0's audio after the outage", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"A0#")).count() >= 5).await;
    b2.wait_until("B1's audio from its own node", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"B1#")).count() >= 5).await;

    // A user whose socket drops is reconnecting (through its node's detach) and resumes
    // with its token: same participant, and the events it missed are replayed.
    let b2_token = b2.resume_token.clone();
    let b2_seq = b2.events().last().unwrap()["seq"].as_u64().unwrap();
    let from = a0.text_count();
    b2.close();
    a0.event_after(from, "reconnecting", |e| e["participant"] == b2_id.as_str()).await;
    let reconnecting = api.room(&room).await;
    assert_eq!(participant(&reconnecting, "Bob two")["reconnecting"], true);
    a0.send_msg("chat", json!({"text": "said while B2 was gone"}));
    b1.event("chat", |e| e["message"]["text"] == "said while B2 was gone").await;
    let mut b2 = Client::owner(bob, "B2").await;
    let from = b2.text_count();
    b2.send_msg(
        "join",
        json!({"room": room, "name": "Bob two", "host": "alice.os", "resume": {"token": b2_token, "last_seq": b2_seq}}),
    );
    let welcome = b2.join_answer(from).await.expect("resume through bob");
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["participant"], b2_id.as_str());
    assert_eq!(welcome["seq"], b2_seq);
    b2.event("chat", |e| e["message"]["text"] == "said while B2 was gone").await;
    a0.event_after(from, "reconnected", |e| e["participant"] == b2_id.as_str()).await;
    let snap = api.room(&room).await;
    assert_eq!(participant(&snap, "Bob two")["reconnecting"], false);
    assert_eq!(snap["participants"].as_array().unwrap().len(), 3);

    // The same on alice itself: a guest's socket drops and it resumes with its token.
    let mut g = Client::guest(alice, "G").await;
    let g_welcome = g.join(&room, "Guest", Some(&invite), None).await;
    let g_id = g_welcome["participant"].as_str().unwrap().to_string();
    let (g_token, g_seq) = (g.resume_token.clone(), g_welcome["seq"].as_u64().unwrap());
    let from = a0.text_count();
    g.close();
    a0.event_after(from, "reconnecting", |e| e["participant"] == g_id.as_str()).await;
    b1.send_msg("chat", json!({"text": "while the guest was gone"}));
    a0.event("chat", |e| e["message"]["text"] == "while the guest was gone").await;
    let mut g = Client::guest(alice, "G").await;
    let from_g = g.text_count();
    g.send_msg("join", json!({"room": room, "name": "Guest", "resume": {"token": g_token, "last_seq": g_seq}}));
    let welcome = g.join_answer(from_g).await.expect("a guest resumes without the invite");
    assert_eq!((welcome["resumed"].clone(), welcome["participant"].clone()), (json!(true), json!(g_id)));
    g.event("chat", |e| e["message"]["text"] == "while the guest was gone").await;
    a0.event_after(from, "reconnected", |e| e["participant"] == g_id.as_str()).await;

    cluster.shutdown().await;
}

/// Presence timeout (60 s, swept every 30 s; the app's defaults, which tests do not change):
/// a guest whose socket dropped and the users of a node that stays away are removed as
/// ghosts; when the node comes back, it joins its still-connected user again by itself.
#[tokio::test]
async fn ghosts_are_removed_after_the_presence_timeout_and_rejoined_by_their_node() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Ghosts", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    a0.start_heartbeat();
    let mut g = Client::guest(alice, "G").await;
    let g_id = g.join(&room, "Guest", Some(&invite), None).await["participant"].as_str().unwrap().to_string();
    let mut b1 = Client::owner(bob, "B1").await;
    let b1_first = b1.join(&room, "Bob one", Some(&invite), Some("alice.os")).await["participant"].as_str().unwrap().to_string();
    b1.start_heartbeat();
    a0.event("joined", |e| e["participant"]["name"] == "Bob one").await;

    cluster.set_offline("bob.os", true);
    g.close();
    a0.event("reconnecting", |e| e["participant"] == g_id.as_str()).await;
    a0.event("reconnecting", |e| e["participant"] == b1_first.as_str()).await;
    let removal = Duration::from_secs(100);
    a0.wait_until("the guest removed as a ghost", removal, |texts, _, _| {
        texts.iter().any(|v| v["type"] == "event" && v["event"]["kind"] == "ghost_removed" && v["event"]["participant"] == g_id.as_str())
    })
    .await;
    a0.wait_until("bob's user removed as a ghost", WAIT, |texts, _, _| {
        texts.iter().any(|v| v["type"] == "event" && v["event"]["kind"] == "ghost_removed" && v["event"]["participant"] == b1_first.as_str())
    })
    .await;
    let snap = api.room(&room).await;
    let names: Vec<&str> = snap["participants"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alice"], "the owner, who kept pinging, stays");

    cluster.set_offline("bob.os", false);
    let (_, rewelcome) = b1
        .text_from(0, "bob joining its user again", {
            let first = b1_first.clone();
            move |v| v["type"] == "welcome" && v["participant"] != first.as_str()
        })
        .await;
    assert_eq!(rewelcome["role"], "speaker");
    a0.event("joined", |e| e["participant"]["name"] == "Bob one" && e["participant"]["id"] != b1_first.as_str()).await;
    let snap = api.room(&room).await;
    assert_eq!(participant(&snap, "Bob one")["reconnecting"], false);
    b1.send_msg("chat", json!({"text": "back from the dead"}));
    a0.event("chat", |e| e["message"]["text"] == "back from the dead").await;

    cluster.shutdown().await;
}
