//! Each node hosts a room the other node's user joins: the two peer links carry both roles at
//! once, rooms stay apart, and a restart of one node sorts out both directions.
mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

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
async fn rooms_hosted_on_both_nodes_stay_apart_and_survive_a_restart() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let (alice_api, bob_api) = (Api::new(alice), Api::new(bob));
    let (r1, r1_invite) = alice_api.create_room("On alice", false).await;
    let (r2, r2_invite) = bob_api.create_room("On bob", false).await;

    let mut a_home = Client::owner(alice, "AH").await; // alice's user in alice's room
    a_home.join(&r1, "Alice", None, None).await;
    let mut a_away = Client::owner(alice, "AA").await; // alice's user in bob's room
    a_away.join(&r2, "Alice abroad", Some(&r2_invite), Some("bob.os")).await;
    let mut b_home = Client::owner(bob, "BH").await;
    b_home.join(&r2, "Bob", None, None).await;
    let mut b_away = Client::owner(bob, "BA").await;
    let w = b_away.join(&r1, "Bob abroad", Some(&r1_invite), Some("alice.os")).await;
    assert_eq!(w["host"], "alice.os");
    a_home.event("joined", |e| e["participant"]["name"] == "Bob abroad").await;
    a_away.event("joined", |e| e["participant"]["name"] == "Bob").await;
    for c in [&a_home, &a_away, &b_home, &b_away] {
        c.start_heartbeat();
    }

    // Chat and audio in each room reach that room only.
    a_home.send_msg("chat", json!({"text": "in r1"}));
    b_home.send_msg("chat", json!({"text": "in r2"}));
    b_away.event("chat", |e| e["message"]["text"] == "in r1").await;
    a_away.event("chat", |e| e["message"]["text"] == "in r2").await;
    speak(&mut a_home, 10).await;
    speak(&mut b_home, 10).await;
    b_away.wait_until("AH's audio in r1", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"AH#")).count() >= 10).await;
    a_away.wait_until("BH's audio in r2", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"BH#")).count() >= 10).await;
    // A stray copy of AH's or BH's frames would have reached the other room's listener before
    // a marker spoken in that room after them.
    let to_a_away = b_home.send_marker("r2 after", 127);
    let to_b_away = a_home.send_marker("r1 after", 127);
    a_away.wait_marker(&to_a_away).await;
    b_away.wait_marker(&to_b_away).await;
    assert_eq!(heard(&a_away, "AH"), 0, "r1's audio stays in r1");
    assert_eq!(heard(&b_away, "BH"), 0, "r2's audio stays in r2");
    assert!(a_away.events().iter().all(|v| v["event"]["message"]["text"] != "in r1"));
    assert!(b_away.events().iter().all(|v| v["event"]["message"]["text"] != "in r2"));
    assert!(b_away.events().iter().all(|v| v["room"] == r1.as_str()));
    assert!(a_away.events().iter().all(|v| v["room"] == r2.as_str()));

    // Bob's process restarts: its room comes back and alice's process joins its user again;
    // bob's own users reconnect and resume (bob's user in alice's room) or rejoin (at home).
    let a_away_first = a_away.participant.clone();
    let b_away_id = b_away.participant.clone();
    let b_away_token = b_away.resume_token.clone();
    let from_home = a_home.text_count();
    cluster.restart_process("bob.os", &app_id()).unwrap();
    bob_api.wait_ready().await;
    let (_, rewelcome) = a_away
        .text_from(0, "alice joining its user in bob's room again", {
            let first = a_away_first.clone();
            move |v| v["type"] == "welcome" && v["participant"] != first.as_str()
        })
        .await;
    assert_eq!(rewelcome["room"], r2.as_str());
    a_away.participant = rewelcome["participant"].as_str().unwrap().to_string();
    a_away.stream = rewelcome["stream"].as_u64().unwrap() as u16;

    let mut b_home = Client::owner(bob, "BH").await;
    assert_eq!(b_home.join(&r2, "Bob", None, None).await["role"], "host");
    let mut b_away = Client::owner(bob, "BA").await;
    let from = b_away.text_count();
    b_away.send_msg("join", json!({"room": r1, "name": "Bob abroad", "host": "alice.os", "resume": {"token": b_away_token, "last_seq": 0}}));
    let w = b_away.join_answer(from).await.expect("resume in alice's room after bob's restart");
    assert_eq!((w["resumed"].clone(), w["participant"].clone()), (json!(true), json!(b_away_id)));
    a_home.event_after(from_home, "reconnected", |e| e["participant"] == b_away_id.as_str()).await;

    // Both directions work again, and still apart.
    let (ah_before, bh_before) = (heard(&b_away, "AH"), heard(&a_away, "BH"));
    speak(&mut a_home, 10).await;
    speak(&mut b_home, 10).await;
    b_away.wait_until("AH's audio after the restart", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"AH#")).count() >= ah_before + 10).await;
    a_away.wait_until("BH's audio after the restart", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"BH#")).count() >= bh_before + 10).await;
    speak(&mut a_away, 5).await;
    b_home.wait_until("alice's user heard in bob's room", WAIT, |_, f, _| f.iter().filter(|f| f.payload.starts_with(b"AA#")).count() >= 5).await;
    assert_eq!(heard(&a_home, "AA"), 0);
    let snap = bob_api.room(&r2).await;
    let mut names: Vec<&str> = snap["participants"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Alice abroad", "Bob"], "{snap}");

    cluster.shutdown().await;
}
