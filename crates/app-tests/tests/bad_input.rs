//! Bad input from browsers and from other nodes gets a typed error (or is dropped and
//! counted) and changes nothing in the room.
mod common;
use common::*;
use serde_json::{json, Value};
use voice_chat_engine::audio;

async fn assert_unchanged(api: &Api, room: &str, baseline: &Value, after: &str) {
    assert_eq!(&room_state(&api.room(room).await), baseline, "the room changed after {after}");
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_changes_nothing() {
    let cluster = boot(&["alice.os", "bob.os"], &["carol.os"]).await;
    let (alice, bob, carol) = (cluster.node("alice.os"), cluster.node("bob.os"), cluster.node("carol.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Strict", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut g1 = Client::guest(alice, "G1").await;
    g1.join(&room, "Guest", Some(&invite), None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob", Some(&invite), Some("alice.os")).await;
    a0.event("joined", |e| e["participant"]["name"] == "Bob").await;
    a0.send_msg("chat", json!({"text": "baseline"}));
    g1.event("chat", |e| e["message"]["text"] == "baseline").await;
    let baseline = room_state(&api.room(&room).await);
    let (a0_id, g1_id, b1_id) = (a0.participant.clone(), g1.participant.clone(), b1.participant.clone());

    // Control messages a browser might send wrong, each answered with its code (and `ref`
    // echoed when it could be read).
    let cases: Vec<(String, &str, Value)> = vec![
        ("{not json".into(), "malformed", Value::Null),
        ("[1, 2, 3]".into(), "malformed", Value::Null),
        (r#"{"type": "chat", "text": "no version"}"#.into(), "malformed", Value::Null),
        (r#"{"v": 1, "text": "no type", "ref": "t1"}"#.into(), "malformed", json!("t1")),
        (r#"{"type": "explode", "v": 1, "ref": "t2"}"#.into(), "unknown_type", json!("t2")),
        (r#"{"type": "chat", "v": 2, "text": "from the future", "ref": "t3"}"#.into(), "unsupported_version", json!("t3")),
        (r#"{"type": "chat", "v": 1, "text": 42, "ref": "t4"}"#.into(), "malformed", json!("t4")),
        (json!({"type": "chat", "v": 1, "text": "x".repeat(70_000)}).to_string(), "too_large", Value::Null),
        (json!({"type": "chat", "v": 1, "text": "x".repeat(2_001), "ref": "t5"}).to_string(), "invalid_chat", json!("t5")),
        (json!({"type": "chat", "v": 1, "text": "   "}).to_string(), "invalid_chat", Value::Null),
        (json!({"type": "join", "v": 1, "room": room, "name": "Again", "invite": invite}).to_string(), "already_joined", Value::Null),
        (json!({"type": "close_room", "v": 1}).to_string(), "forbidden", Value::Null),
        (json!({"type": "update_settings", "v": 1, "settings": {"capacity": 1}}).to_string(), "forbidden", Value::Null),
        (json!({"type": "kick", "v": 1, "participant": a0_id}).to_string(), "forbidden", Value::Null),
        (json!({"type": "mute", "v": 1, "participant": b1_id}).to_string(), "forbidden", Value::Null),
        (json!({"type": "accept_hand", "v": 1, "participant": g1_id}).to_string(), "forbidden", Value::Null),
    ];
    for (text, code, reference) in &cases {
        let from = g1.text_count();
        g1.send_text(text.clone());
        let err = g1.error_after(from, code).await;
        assert_eq!(&err["ref"], reference, "ref echo for {code}");
        assert!(!err["message"].as_str().unwrap().is_empty());
        let shown: String = text.chars().take(60).collect();
        assert_unchanged(&api, &room, &baseline, &shown).await;
    }
    // The host, too, is refused what the matrix forbids, and bad settings are typed.
    let from = a0.text_count();
    a0.send_msg("kick", json!({"participant": "nobody-here"}));
    a0.error_after(from, "participant_not_found").await;
    a0.send_msg("update_settings", json!({"settings": {"capacity": 0}}));
    a0.error_after(from, "invalid_settings").await;
    a0.send_msg("kick", json!({"participant": a0_id}));
    a0.error_after(from, "forbidden").await;
    assert_unchanged(&api, &room, &baseline, "the host's refused commands").await;

    // Joins that must fail: forged room id, missing or wrong invite, guest to another node.
    let stranger = Client::guest(alice, "X").await;
    let cases = [
        (json!({"room": "forged-room-id", "name": "X", "invite": invite}), "room_not_found"),
        (json!({"room": room, "name": "X"}), "bad_invite"),
        (json!({"room": room, "name": "X", "invite": "guessed"}), "bad_invite"),
        (json!({"room": room, "name": "X", "invite": invite, "host": "bob.os"}), "forbidden"),
        (json!({"room": room, "name": "", "invite": invite}), "invalid_name"),
        (json!({"room": room, "name": "GUEST", "invite": invite}), "name_taken"),
    ];
    for (join, code) in cases {
        let from = stranger.text_count();
        stranger.send_msg("join", join.clone());
        stranger.error_after(from, code).await;
        assert_unchanged(&api, &room, &baseline, &join.to_string()).await;
    }
    let from = stranger.text_count();
    stranger.send_msg("chat", json!({"text": "let me in"}));
    stranger.error_after(from, "not_joined").await;
    // A room id forged by one of bob's users: alice refuses it through bob.
    let mut b2 = Client::owner(bob, "B2").await;
    let refused = b2.try_join("forged-room-id", "Bob two", Some(&invite), Some("alice.os")).await.unwrap_err();
    assert_eq!(refused["code"], "room_not_found");
    assert_unchanged(&api, &room, &baseline, "a forged room id from bob").await;
    // Hosts that cannot answer: a node without the app (the request times out) and a node
    // that does not exist (offline). The join fails with a typed error, not silence.
    for host in ["carol.os", "nobody.os"] {
        let mut c = Client::owner(bob, "B3").await;
        let refused = c.try_join(&room, "Bob three", Some(&invite), Some(host)).await.unwrap_err();
        assert_eq!(refused["code"], "host_unreachable", "joining a room on {host}: {refused}");
    }

    // Audio that is not a valid frame is dropped and counted; nobody hears it.
    let before = api.metrics().await;
    // The codec refuses to encode an oversize frame, so grow a valid one by hand.
    let mut oversize = frame(g1.stream, 0, 10, b"G1#big");
    oversize.resize(1600, 7);
    oversize[14..16].copy_from_slice(&((1600 - audio::HEADER_LEN) as u16).to_be_bytes());
    g1.send_binary(oversize);
    let mut bad_flags = frame(g1.stream, 1, 10, b"G1#bad");
    bad_flags[1] = 0xFC;
    g1.send_binary(bad_flags);
    let mut short = frame(g1.stream, 2, 10, b"G1#short");
    short.truncate(20);
    g1.send_binary(short);
    g1.send_binary(vec![0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    // A valid frame afterwards shows the bad ones were processed (in order) and not passed on.
    let marker = frame(g1.stream, 3, 10, b"G1#marker");
    g1.send_binary(marker);
    a0.wait_until("G1's valid marker frame", WAIT, |_, f, _| f.iter().any(|f| f.payload == b"G1#marker")).await;
    b1.wait_until("G1's valid marker frame", WAIT, |_, f, _| f.iter().any(|f| f.payload == b"G1#marker")).await;
    for c in [&a0, &b1] {
        assert_eq!(frames_from(c, "G1").len(), 1, "{} heard only the valid frame", c.label);
        assert_eq!(c.bad_binary(), 0);
    }
    let after = api.metrics().await;
    let malformed = |m: &Value| m["frames_dropped"]["malformed"].as_u64().unwrap();
    assert_eq!(malformed(&after) - malformed(&before), 4, "each bad frame is counted: {after}");
    assert_unchanged(&api, &room, &baseline, "bad audio").await;

    // Floods: control messages past the burst get `rate_limited` (and do nothing); audio past
    // its burst is dropped and counted.
    let before = api.metrics().await;
    let from = g1.text_count();
    for i in 0..40 {
        g1.send_msg("typing", json!({"ref": format!("f{i}")}));
    }
    g1.error_after(from, "rate_limited").await;
    let flood_audio = 250;
    for i in 0..flood_audio {
        g1.send_binary(frame(g1.stream, 100 + i, 10, format!("G1#flood{i}").as_bytes()));
    }
    let after = eventually("the audio flood to be counted", || {
        let api = api.clone();
        async move {
            let m = api.metrics().await;
            let seen = m["frames_in"].as_u64().unwrap() + m["frames_dropped"]["rate_limited"].as_u64().unwrap();
            (m["frames_dropped"]["rate_limited"].as_u64().unwrap() > 0 && seen >= flood_audio as u64).then_some(m)
        }
    })
    .await;
    assert!(after["control_rate_limited"].as_u64().unwrap() > before["control_rate_limited"].as_u64().unwrap());
    let limited = after["frames_dropped"]["rate_limited"].as_u64().unwrap() - before["frames_dropped"]["rate_limited"].as_u64().unwrap();
    assert!(limited >= 100, "an instant flood of {flood_audio} frames is mostly over the 100-frame burst: {limited} dropped");
    // Every flood frame was handled (counted above), so whatever was forwarded to A0 was
    // pushed before the answer to a ping sent now.
    a0.round_trip().await;
    let heard = frames_from(&a0, "G1").len() - 1;
    assert!(heard <= flood_audio as usize - limited as usize, "rate-limited frames are not forwarded ({heard} heard)");
    let state = room_state(&api.room(&room).await);
    assert_eq!(state, baseline, "floods change nothing");

    // A node that never joined: carol's requests are refused or ignored, with a typed answer
    // where the protocol has one, and change nothing.
    let mut carol_peer = FakePeer::new(carol);
    let kick = carol_peer
        .send(json!({"type": "control", "room": room, "participant": g1_id, "msg": {"type": "kick", "participant": a0_id}, "ref": "evil"}))
        .await;
    carol_peer
        .pump_until("the forged command bounced back whole", |p| {
            p.got("bounced", |m| m["participant"] == g1_id.as_str() && m["msg"]["type"] == "kick" && m["ref"] == "evil")
        })
        .await;
    carol_peer.pump_until("an answer to the control request", |p| p.answer(kick).is_some()).await;
    assert_unchanged(&api, &room, &baseline, "carol's forged control").await;
    carol_peer.send(json!({"type": "join", "room": room, "join_ref": 1, "name": "Carol", "invite": null, "resume": null})).await;
    carol_peer.pump_until("join_refused bad_invite", |p| p.got("join_refused", |m| m["error"]["code"] == "bad_invite")).await;
    carol_peer.send(json!({"type": "join", "room": "forged-room-id", "join_ref": 2, "name": "Carol", "invite": invite, "resume": null})).await;
    carol_peer.pump_until("join_refused room_not_found", |p| p.got("join_refused", |m| m["error"]["code"] == "room_not_found")).await;
    let refused_before = api.metrics().await["peer_messages_refused"].as_u64().unwrap();
    let sync = carol_peer.send(json!({"type": "sync", "room": room, "last_seq": 0})).await;
    let detach = carol_peer.send(json!({"type": "detach", "room": room, "participant": b1_id})).await;
    carol_peer.pump_until("answers to sync and detach", |p| p.answer(sync).is_some() && p.answer(detach).is_some()).await;
    assert!(api.metrics().await["peer_messages_refused"].as_u64().unwrap() > refused_before, "a non-member's sync is refused");
    let garbage = carol_peer.send_raw(json!({"PeerMessage": null}), Some(br#"{"v": 1, "no": "envelope"}"#.to_vec())).await;
    carol_peer.pump_until("an answer to a malformed envelope", |p| p.answer(garbage).is_some()).await;
    assert!(carol_peer.answer(garbage).unwrap().get("Err").is_some(), "{:?}", carol_peer.answer(garbage));
    // Audio claiming bob's participant's stream, sent by carol.
    let not_member_before = api.metrics().await["frames_dropped"]["not_member"].as_u64().unwrap();
    let mut batch = Vec::new();
    audio::append_room_marker(&room, &mut batch);
    for i in 0..5u32 {
        batch.extend(frame(b1.stream, 1000 + i, 5, format!("CAROL#{i}").as_bytes()));
    }
    let audio_req = carol_peer.send_raw(json!({"PeerAudio": null}), Some(batch)).await;
    carol_peer.pump_until("an answer to the audio batch", |p| p.answer(audio_req).is_some()).await;
    let not_member = eventually("carol's frames counted as not_member", || {
        let api = api.clone();
        async move {
            let n = api.metrics().await["frames_dropped"]["not_member"].as_u64().unwrap();
            (n >= not_member_before + 5).then_some(n)
        }
    })
    .await;
    assert_eq!(not_member - not_member_before, 5);
    for c in [&a0, &g1, &b1] {
        assert!(frames_from(c, "CAROL").is_empty(), "{} heard a node that never joined", c.label);
    }
    assert!(!carol_peer.got("event", |_| true), "a non-member gets no room events: {:?}", carol_peer.received);
    assert_unchanged(&api, &room, &baseline, "carol's requests").await;

    // Someone else's resume token does not hand over their participant: a guest showing the
    // owner's token, and bob's user showing a local guest's, get fresh participants of their
    // own kind (the host keeps its connection and role).
    let mut thief = Client::guest(alice, "THIEF").await;
    let from = thief.text_count();
    thief.send_msg("join", json!({"room": room, "name": "Thief", "invite": invite, "resume": {"token": a0.resume_token, "last_seq": 0}}));
    let w = thief.join_answer(from).await.expect("a fresh guest join");
    assert_eq!(w["resumed"], false);
    assert_ne!(w["participant"], a0_id.as_str());
    assert_ne!(w["role"], "host");
    let mut b2 = Client::owner(bob, "B2").await;
    let from = b2.text_count();
    b2.send_msg(
        "join",
        json!({"room": room, "name": "Bob two", "invite": invite, "host": "alice.os", "resume": {"token": g1.resume_token, "last_seq": 0}}),
    );
    let w = b2.join_answer(from).await.expect("a fresh join through bob");
    assert_eq!(w["resumed"], false);
    assert_ne!(w["participant"], g1_id.as_str());
    let snap = api.room(&room).await;
    assert_eq!(participant(&snap, "Alice")["role"], "host");
    assert_eq!(participant(&snap, "Alice")["id"], a0_id.as_str());
    assert_eq!(participant(&snap, "Guest")["id"], g1_id.as_str());
    assert_eq!(participant(&snap, "Guest")["reconnecting"], false);
    assert!(!a0.is_closed() && !g1.is_closed(), "the real owners keep their sockets");

    // After all that, the room still works for everyone.
    b1.send_msg("chat", json!({"text": "still fine"}));
    a0.event("chat", |e| e["message"]["text"] == "still fine").await;
    g1.event("chat", |e| e["message"]["text"] == "still fine").await;

    cluster.shutdown().await;
}
