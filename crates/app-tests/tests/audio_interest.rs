//! Audio follows subscriptions between nodes (issue 12) with the real package on devnode: when
//! every user of bob.os has unsubscribed alice's stream, alice.os puts none of her frames in
//! bob.os's batches (its `/api/metrics`: `frames_to_peers` counts only carol.os's copies,
//! `frames_not_wanted_by_peers` the ones left out), while alice.os's guest and carol.os still
//! hear her; after one user of bob.os subscribes again, her frames go to bob.os again.
mod common;
use common::*;
use serde_json::{json, Value};

async fn confirmed(c: &Client, ty: &str, pattern: &str) {
    let from = c.text_count();
    c.send_msg(ty, json!({ "pattern": pattern }));
    let answer = format!("{ty}d");
    c.text_from(from, &answer, |v| v["type"] == answer.as_str() && v["pattern"] == pattern).await;
}

fn counter(m: &Value, name: &str) -> u64 {
    m[name].as_u64().unwrap_or_else(|| panic!("metrics has {name}: {m}"))
}

/// Copies alice.os put in peer batches, and copies it left out as not wanted.
async fn peer_copies(api: &Api) -> (u64, u64) {
    let m = api.metrics().await;
    (counter(&m, "frames_to_peers"), counter(&m, "frames_not_wanted_by_peers"))
}

#[tokio::test]
async fn a_stream_no_user_of_a_node_wants_is_not_sent_to_that_node() {
    let cluster = boot(&["alice.os", "bob.os", "carol.os"], &[]).await;
    let (alice, bob, carol) = (cluster.node("alice.os"), cluster.node("bob.os"), cluster.node("carol.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Between nodes", true).await;

    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut g1 = Client::guest(alice, "G1").await;
    g1.join(&room, "Guest", Some(&invite), None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob one", Some(&invite), Some("alice.os")).await;
    let mut b2 = Client::owner(bob, "B2").await;
    b2.join(&room, "Bob two", Some(&invite), Some("alice.os")).await;
    let mut c1 = Client::owner(carol, "C1").await;
    c1.join(&room, "Carol", Some(&invite), Some("alice.os")).await;
    for c in [&a0, &g1, &b1, &b2] {
        c.event("joined", |e| e["participant"]["name"] == "Carol").await;
    }
    let a0_audio = format!("room.{room}.audio.{}", a0.stream);

    // Both users of bob.os stop alice's audio; bob.os tells alice.os. Probe with markers of
    // alice (each reaches g1 after alice.os relayed it) until alice.os leaves one out.
    confirmed(&b1, "unsubscribe", &a0_audio).await;
    confirmed(&b2, "unsubscribe", &a0_audio).await;
    let (_, not_wanted_before) = peer_copies(&api).await;
    let mut applied = false;
    for i in 0..100 {
        let probe = a0.send_marker(&format!("probe{i}"), 127);
        g1.wait_marker(&probe).await;
        c1.wait_marker(&probe).await;
        if peer_copies(&api).await.1 > not_wanted_before {
            applied = true;
            break;
        }
    }
    assert!(applied, "alice.os never left alice's frames out of bob.os's batches");

    // Five frames and a marker: six copies for carol.os, none for bob.os.
    let (to_peers, not_wanted) = peer_copies(&api).await;
    for _ in 0..5 {
        a0.send_frame();
    }
    let mark = a0.send_marker("five", 127);
    g1.wait_marker(&mark).await;
    c1.wait_marker(&mark).await;
    let (to_peers2, not_wanted2) = peer_copies(&api).await;
    assert_eq!(to_peers2 - to_peers, 6, "one copy per frame, to carol.os only");
    assert_eq!(not_wanted2 - not_wanted, 6, "each left out of bob.os's batch");
    assert_eq!(frames_from(&g1, "A0").len(), 5, "alice.os's own guest still hears alice");
    assert_eq!(frames_from(&c1, "A0").len(), 5, "carol.os still hears alice");
    // g1's marker, relayed by alice.os after alice's frames, reaches bob.os's users after anything
    // alice.os sent them before; they got none of alice's frames, and still hear g1.
    let g1_mark = g1.send_marker("after alice", 127);
    b1.wait_marker(&g1_mark).await;
    b2.wait_marker(&g1_mark).await;
    assert!(frames_from(&b1, "A0").is_empty() && frames_from(&b2, "A0").is_empty());

    // b1 subscribes again: bob.os tells alice.os, and alice's frames go to bob.os again (to b1
    // only: b2 is filtered at bob.os).
    confirmed(&b1, "subscribe", &a0_audio).await;
    let mut back = None;
    for i in 0..100 {
        let (before, _) = peer_copies(&api).await;
        let probe = a0.send_marker(&format!("back{i}"), 127);
        g1.wait_marker(&probe).await;
        if peer_copies(&api).await.0 - before == 2 {
            back = Some(probe);
            break;
        }
    }
    let back = back.expect("alice.os never sent alice's frames to bob.os again");
    b1.wait_marker(&back).await;
    let (to_peers, not_wanted) = peer_copies(&api).await;
    for _ in 0..5 {
        a0.send_frame();
    }
    let mark = a0.send_marker("again", 127);
    b1.wait_marker(&mark).await;
    g1.wait_marker(&mark).await;
    c1.wait_marker(&mark).await;
    let (to_peers2, not_wanted2) = peer_copies(&api).await;
    assert_eq!(to_peers2 - to_peers, 12, "copies for bob.os and carol.os");
    assert_eq!(not_wanted2, not_wanted);
    assert_eq!(frames_from(&b1, "A0").len(), 5);
    let g1_mark = g1.send_marker("after again", 127);
    b2.wait_marker(&g1_mark).await;
    assert!(frames_from(&b2, "A0").is_empty(), "b2 is still unsubscribed");
}
