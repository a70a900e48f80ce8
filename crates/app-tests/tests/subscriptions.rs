//! Topic subscriptions with the real package on devnode: unsubscribing typing stops typing
//! presence to that socket only (here and for a user of another node), chat still arrives,
//! subscribing brings it back; a bad pattern gets its typed error. A user of another node who
//! unsubscribes one speaker's audio gets none of its frames while the others still do.
mod common;
use common::*;
use serde_json::{json, Value};

fn typing_from(c: &Client, participant: &str) -> Vec<bool> {
    c.texts()
        .iter()
        .filter(|v| v["type"] == "presence" && v["event"]["kind"] == "typing" && v["event"]["participant"] == participant)
        .map(|v| v["event"]["typing"].as_bool().unwrap())
        .collect()
}

async fn confirmed(c: &Client, ty: &str, pattern: &str) -> Value {
    let from = c.text_count();
    c.send_msg(ty, json!({ "pattern": pattern }));
    let answer = format!("{ty}d");
    c.text_from(from, &answer, |v| v["type"] == answer.as_str() && v["pattern"] == pattern).await.1
}

#[tokio::test]
async fn unsubscribing_typing_stops_typing_presence_to_that_socket_only() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Quiet please", true).await;

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
    let a0_id = a0.participant.clone();
    let typing_topic = format!("room.{room}.presence.typing");

    // g1 (a guest of alice.os) and b1 (a user of bob.os) stop typing indicators.
    confirmed(&g1, "unsubscribe", &typing_topic).await;
    confirmed(&b1, "unsubscribe", &typing_topic).await;

    a0.send_msg("typing", json!({}));
    // b2 got it: bob's process has handled the presence, and pushed it to b1 too if at all.
    b2.text("alice typing", |v| v["type"] == "presence" && v["event"]["kind"] == "typing" && v["event"]["participant"] == a0_id.as_str())
        .await;
    g1.round_trip().await;
    b1.round_trip().await;
    assert!(typing_from(&g1, &a0_id).is_empty(), "g1 unsubscribed typing");
    assert!(typing_from(&b1, &a0_id).is_empty(), "b1 unsubscribed typing");
    assert_eq!(typing_from(&b2, &a0_id), [true]);

    // Chat still reaches both (and the typing:false it ends does not).
    a0.send_msg("chat", json!({"text": "still here"}));
    for c in [&g1, &b1, &b2] {
        c.event("chat", |e| e["message"]["text"] == "still here").await;
    }
    b2.text("alice stopped typing", |v| v["type"] == "presence" && v["event"]["kind"] == "typing" && v["event"]["typing"] == false).await;
    g1.round_trip().await;
    b1.round_trip().await;
    assert!(typing_from(&g1, &a0_id).is_empty());
    assert!(typing_from(&b1, &a0_id).is_empty());

    // Subscribing again brings it back; the confirmation lists the topic.
    let answer = confirmed(&g1, "subscribe", &typing_topic).await;
    assert_eq!(answer["topics"], json!([typing_topic]));
    a0.send_msg("typing", json!({}));
    g1.text("alice typing again", |v| v["type"] == "presence" && v["event"]["kind"] == "typing" && v["event"]["participant"] == a0_id.as_str())
        .await;

    // A bad pattern: a typed error echoing ref, nothing else.
    let from = g1.text_count();
    g1.send_msg("subscribe", json!({"pattern": "room..chat", "ref": "p1"}));
    let err = g1.error_after(from, "invalid_pattern").await;
    assert_eq!(err["ref"], "p1");
    // node.rooms is the owner's (docs/protocol.md, "The lobby"): a guest is refused it.
    let from = g1.text_count();
    g1.send_msg("subscribe", json!({"pattern": "node.rooms", "ref": "p2"}));
    assert_eq!(g1.error_after(from, "forbidden").await["ref"], "p2");
}

#[tokio::test]
async fn a_user_of_another_node_unsubscribes_a_speaker_and_gets_none_of_its_frames() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Not that one", true).await;

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
    let a0_audio = format!("room.{room}.audio.{}", a0.stream);

    // b1 (a user of bob.os) stops alice's audio; the wildcard's confirmation lists her stream.
    let answer = confirmed(&b1, "subscribe", &format!("room.{room}.audio.*")).await;
    assert!(answer["topics"].as_array().unwrap().contains(&json!(a0_audio)), "{answer}");
    confirmed(&b1, "unsubscribe", &a0_audio).await;

    for _ in 0..5 {
        a0.send_frame();
    }
    let a0_mark = a0.send_marker("after five", 127);
    // b2 and g1 got alice's frames: bob's process has fanned them out to b1 too, if at all.
    b2.wait_marker(&a0_mark).await;
    g1.wait_marker(&a0_mark).await;
    // A marker of g1, sent after that, reaches b1 after anything pushed to it before.
    let g1_mark = g1.send_marker("after alice", 127);
    b1.wait_marker(&g1_mark).await;
    assert_eq!(frames_from(&b2, "A0").len(), 5, "b2 still hears alice");
    assert_eq!(frames_from(&g1, "A0").len(), 5, "g1 still hears alice");
    assert!(frames_from(&b1, "A0").is_empty(), "b1 unsubscribed alice: {:?}", frames_from(&b1, "A0"));
    assert!(!b1.frames().iter().any(|f| f.payload == a0_mark.as_bytes()), "nor her marker");
    // b1 still hears g1, and speaks to the others.
    assert!(b1.frames().iter().any(|f| f.payload == g1_mark.as_bytes()));
    let b1_mark = b1.send_marker("bob one", 127);
    for c in [&a0, &g1, &b2] {
        c.wait_marker(&b1_mark).await;
    }

    // Subscribing again brings alice back to b1.
    confirmed(&b1, "subscribe", &a0_audio).await;
    a0.send_frame();
    let again = a0.send_marker("again", 127);
    b1.wait_marker(&again).await;
    assert_eq!(frames_from(&b1, "A0").len(), 1);
}
