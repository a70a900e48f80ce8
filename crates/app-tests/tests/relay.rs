//! Audio relay across two nodes: three participants on alice.os (the owner and two guests) and
//! two users of bob.os joining `room@alice.os` through bob's own process.
mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const N: u32 = 12;

async fn send_turn(c: &mut Client, forged_stream: Option<u16>) {
    for _ in 0..N {
        match forged_stream {
            Some(s) => c.send_frame_as(s),
            None => c.send_frame(),
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn metric(m: &Value, path: &[&str]) -> u64 {
    let mut v = m;
    for p in path {
        v = &v[*p];
    }
    v.as_u64().unwrap_or_else(|| panic!("metric {path:?} missing in {m}"))
}

#[tokio::test]
async fn mix_minus_holds_locally_and_across_nodes_and_viewers_are_not_heard() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let (alice_api, bob_api) = (Api::new(alice), Api::new(bob));
    let (room, invite) = alice_api.create_room("Voices", true).await;

    let mut a0 = Client::owner(alice, "A0").await;
    let welcome = a0.join(&room, "Alice", None, None).await;
    assert_eq!(welcome["role"], "host");
    let mut g1 = Client::guest(alice, "G1").await;
    assert_eq!(g1.join(&room, "Guest one", Some(&invite), None).await["role"], "speaker");
    let mut g2 = Client::guest(alice, "G2").await;
    g2.join(&room, "Guest two", Some(&invite), None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    let w = b1.join(&room, "Bob one", Some(&invite), Some("alice.os")).await;
    assert_eq!(w["host"], "alice.os");
    assert_eq!(w["role"], "speaker");
    let mut b2 = Client::owner(bob, "B2").await;
    let w = b2.join(&room, "Bob two", Some(&invite), Some("alice.os")).await;
    assert_eq!(w["snapshot"]["participants"].as_array().unwrap().len(), 5, "{w}");

    let snap = alice_api.room(&room).await;
    assert_eq!(participant(&snap, "Bob one")["node"], "bob.os");
    assert_eq!(participant(&snap, "Bob two")["node"], "bob.os");
    assert_eq!(participant(&snap, "Guest two")["node"], "alice.os");
    let streams: std::collections::BTreeSet<u64> =
        snap["participants"].as_array().unwrap().iter().map(|p| p["stream"].as_u64().unwrap()).collect();
    assert_eq!(streams.len(), 5, "every participant has its own stream: {snap}");
    // Everyone, on both nodes, has seen the last join before audio starts.
    for c in [&a0, &g1, &g2, &b1] {
        c.event("joined", |e| e["participant"]["name"] == "Bob two").await;
    }

    // Each participant speaks in turn (never more than the K = 3 loudest at once). G2 and B2
    // write someone else's stream id into their frames.
    let forged = [None, None, Some(a0.stream), None, Some(b1.stream)];
    let mut clients = vec![a0, g1, g2, b1, b2];
    let mut first_seq = vec![0; clients.len()];
    for i in 0..clients.len() {
        let (alice_before, bob_before) = (alice_api.metrics().await, bob_api.metrics().await);
        first_seq[i] = clients[i].next_seq();
        send_turn(&mut clients[i], forged[i]).await;
        let speaker = clients[i].label.clone();
        for (j, listener) in clients.iter().enumerate() {
            if j != i {
                listener
                    .wait_until(&format!("{N} frames from {speaker}"), WAIT, |_, frames, _| {
                        frames.iter().filter(|f| f.payload.starts_with(format!("{speaker}#").as_bytes())).count() >= N as usize
                    })
                    .await;
            }
        }
        // Anything that should not arrive (an echo, a duplicate through the host) was sent
        // before the speaker's own marker and one from the other node; everyone waits for both.
        let other_node = if i < 3 { 4 } else { 0 };
        let marks = [
            (i, clients[i].send_marker(&format!("turn{i}"), 127)),
            (other_node, clients[other_node].send_marker(&format!("turn{i}"), 127)),
        ];
        for (sender, mark) in &marks {
            for (j, listener) in clients.iter().enumerate() {
                if j != *sender {
                    listener.wait_marker(mark).await;
                }
            }
        }
        let (alice_after, bob_after) = (alice_api.metrics().await, bob_api.metrics().await);
        // Counters less the markers' own copies: alice's marker went to its 2 other sockets,
        // in 1 batch to bob, to bob's 2 users; bob's to its other user, in 1 batch to alice,
        // to alice's 3 sockets.
        let delta = |after: &Value, before: &Value, k: &str, markers: u64| metric(after, &[k]) - metric(before, &[k]) - markers;
        let alice_delta = |k: &str| delta(&alice_after, &alice_before, k, if k == "frames_out" { 2 + 3 } else { 1 });
        let bob_delta = |k: &str| delta(&bob_after, &bob_before, k, if k == "frames_out" { 2 + 1 } else { 1 });
        let on_alice = i < 3;
        if on_alice {
            assert_eq!(alice_delta("frames_out"), 2 * N as u64, "{speaker}: one copy to each other local socket");
            assert_eq!(alice_delta("frames_to_peers"), N as u64, "{speaker}: one copy per peer node, not per remote user");
            assert_eq!(bob_delta("frames_out"), 2 * N as u64, "bob fans {speaker} out to both its users");
        } else {
            assert_eq!(alice_delta("frames_out"), 3 * N as u64, "{speaker}: to alice's three sockets");
            assert_eq!(alice_delta("frames_to_peers"), 0, "{speaker}'s frames are not sent back to bob");
            assert_eq!(bob_delta("frames_to_peers"), N as u64, "{speaker}: one copy to alice");
            assert_eq!(bob_delta("frames_out"), N as u64, "{speaker}: bob delivers to its other user directly");
        }
    }

    for (i, speaker) in clients.iter().enumerate() {
        for (j, listener) in clients.iter().enumerate() {
            let got = frames_from(listener, &speaker.label);
            if i == j {
                assert!(got.is_empty(), "{} heard its own frames back: {got:?}", speaker.label);
                continue;
            }
            let seqs: Vec<u32> = got.iter().map(|f| f.header.sequence).collect();
            let sent: Vec<u32> = (first_seq[i]..first_seq[i] + N).collect();
            assert_eq!(seqs, sent, "{} hears {} once each, in order", listener.label, speaker.label);
            assert!(
                got.iter().all(|f| f.header.stream_id == speaker.stream),
                "{} sees {}'s frames under its own stream {}: {:?}",
                listener.label,
                speaker.label,
                speaker.stream,
                got.iter().map(|f| f.header.stream_id).collect::<Vec<_>>()
            );
        }
        assert_eq!(speaker.bad_binary(), 0);
    }

    // Viewers: a local guest and one of bob's users are demoted; their frames reach nobody
    // and are counted as dropped (not_allowed).
    let [a0, g1, g2, b1, b2]: [Client; 5] = clients.try_into().ok().unwrap();
    let mut g2 = g2;
    let mut b2 = b2;
    let mut a0 = a0;
    alice_api.ok("SetRole", json!([room, g2.participant, "viewer"])).await;
    alice_api.ok("SetRole", json!([room, b2.participant, "viewer"])).await;
    let b2_id = b2.participant.clone();
    b2.event("role_changed", |e| e["participant"] == b2_id.as_str() && e["role"] == "viewer").await;
    b1.event("role_changed", |e| e["participant"] == b2_id.as_str() && e["role"] == "viewer").await;
    let g2_id = g2.participant.clone();
    g2.event("role_changed", |e| e["participant"] == g2_id.as_str() && e["role"] == "viewer").await;
    let (alice_before, bob_before) = (alice_api.metrics().await, bob_api.metrics().await);
    let heard_before: Vec<(usize, usize)> =
        [&a0, &g1, &g2, &b1, &b2].iter().map(|c| (frames_from(c, "G2").len(), frames_from(c, "B2").len())).collect();
    send_turn(&mut g2, None).await;
    send_turn(&mut b2, None).await;
    // A speaker afterwards: once everyone has its frames, the viewers' frames would have too.
    let before_a0: Vec<usize> = [&g1, &g2, &b1, &b2].iter().map(|c| frames_from(c, "A0").len()).collect();
    send_turn(&mut a0, None).await;
    for (c, before) in [&g1, &g2, &b1, &b2].iter().zip(before_a0) {
        c.wait_until("A0's frames after the viewers spoke", WAIT, |_, frames, _| {
            frames.iter().filter(|f| f.payload.starts_with(b"A0#")).count() >= before + N as usize
        })
        .await;
    }
    let heard_after: Vec<(usize, usize)> =
        [&a0, &g1, &g2, &b1, &b2].iter().map(|c| (frames_from(c, "G2").len(), frames_from(c, "B2").len())).collect();
    assert_eq!(heard_after, heard_before, "nobody hears a viewer");
    let (alice_after, bob_after) = (alice_api.metrics().await, bob_api.metrics().await);
    let not_allowed = |m: &Value| metric(m, &["frames_dropped", "not_allowed"]);
    let alice_drops = not_allowed(&alice_after) - not_allowed(&alice_before);
    let bob_drops = not_allowed(&bob_after) - not_allowed(&bob_before);
    assert!(alice_drops >= N as u64, "alice drops its local viewer's frames: {alice_drops}");
    assert_eq!(alice_drops + bob_drops, 2 * N as u64, "every viewer frame is dropped and counted once (alice {alice_drops}, bob {bob_drops})");
    // Speaking indicators cross nodes: A0's loud voice frames made it "speaking" for bob's
    // users, and it stopped after the pause.
    let a0_id = a0.participant.clone();
    for c in [&b1, &b2] {
        c.text("A0 speaking", |v| v["type"] == "presence" && v["event"]["participant"] == a0_id.as_str() && v["event"]["speaking"] == true).await;
        c.text("A0 no longer speaking", |v| v["type"] == "presence" && v["event"]["participant"] == a0_id.as_str() && v["event"]["speaking"] == false).await;
    }

    // Only the K = 3 loudest streams are forwarded, across nodes too: four speakers at once,
    // the quietest (a guest on alice) is not heard while the three louder ones talk.
    alice_api.ok("SetRole", json!([room, g2.participant, "speaker"])).await;
    g2.event("role_changed", |e| e["participant"] == g2_id.as_str() && e["role"] == "speaker").await;
    let mut b1 = b1;
    let mut g1 = g1;
    let loudest_before = alice_api.metrics().await["frames_dropped"]["not_loudest"].as_u64().unwrap();
    let heard_before: Vec<usize> = ["A0", "G1", "B1", "G2"].iter().map(|s| frames_from(&b2, s).len()).collect();
    const ROUNDS: usize = 40;
    for _ in 0..ROUNDS {
        a0.send_frame_at(10);
        g1.send_frame_at(20);
        b1.send_frame_at(30);
        g2.send_frame_at(60);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for speaker in ["A0", "G1", "B1"] {
        let before = heard_before[["A0", "G1", "B1"].iter().position(|s| *s == speaker).unwrap()];
        b2.wait_until(&format!("{speaker}'s frames"), WAIT, |_, f, _| {
            f.iter().filter(|f| f.payload.starts_with(format!("{speaker}#").as_bytes())).count() >= before + ROUNDS * 9 / 10
        })
        .await;
    }
    // G2's own marker follows its quiet frames on the same path.
    let mark = g2.send_marker("after the four", 0);
    b2.wait_marker(&mark).await;
    let quiet_heard = frames_from(&b2, "G2").len() - heard_before[3];
    assert!(quiet_heard <= 3, "the fourth, quietest stream is held back while three louder ones talk ({quiet_heard} frames heard)");
    let not_loudest = alice_api.metrics().await["frames_dropped"]["not_loudest"].as_u64().unwrap() - loudest_before;
    assert!(not_loudest as usize >= ROUNDS - 3, "dropped as not_loudest: {not_loudest}");

    cluster.shutdown().await;
}
