//! Membership that holds, with the real package on devnode: a kicked remote node needs the
//! invite again; a banned one gets `banned` for join (with the invite), control and `sync`,
//! its audio is dropped and counted, and it hears nothing said after its removal. Each
//! refusal is checked for its error code and for leaving the room and the metrics as they were.
//!
//! Two kinds of remote node: bob.os runs the real app (its user goes through bob's process,
//! as in the UI), and carol.os is a hostile node without the app that speaks the peer protocol
//! by hand through a native endpoint registered as the voice-chat process (as a modified
//! process could), so the host's own refusals of `sync`, control and audio are what is tested.
mod common;
use common::*;
use serde_json::{json, Value};
use voice_chat_engine::audio;

impl FakePeer {
    /// A positive marker: a heartbeat answered by its `heartbeat_ack`. Whatever alice's
    /// process sent us before it handled the heartbeat was sent before the ack.
    async fn round_trip(&mut self) {
        let acks = self.received.iter().filter(|e| e["msg"]["type"] == "heartbeat_ack").count();
        self.send(json!({"type": "heartbeat", "rooms": []})).await;
        self.pump_until("heartbeat_ack", |p| p.received.iter().filter(|e| e["msg"]["type"] == "heartbeat_ack").count() > acks).await;
    }

    /// Joins `room` and waits for `joined` or `join_refused` with this `join_ref`.
    async fn join(&mut self, room: &str, join_ref: u64, invite: Option<&str>) -> Value {
        self.send(json!({"type": "join", "room": room, "join_ref": join_ref, "name": "Carol", "invite": invite, "resume": null})).await;
        let answered = |p: &FakePeer| p.got("joined", |m| m["join_ref"] == join_ref) || p.got("join_refused", |m| m["join_ref"] == join_ref);
        self.pump_until("an answer to join", answered).await;
        self.received.iter().rev().find(|e| e["msg"]["join_ref"] == join_ref).unwrap()["msg"].clone()
    }
}

fn fake_carol(cluster: &devnode::Cluster) -> FakePeer {
    FakePeer::new(cluster.node("carol.os"))
}

/// The metrics a refusal must not move (what it may count is checked apart).
fn steady(m: &Value) -> Value {
    json!({
        "participants": m["participants"],
        "rooms": m["rooms"],
        "frames_out": m["frames_out"],
        "frames_to_peers": m["frames_to_peers"],
    })
}

#[tokio::test]
async fn a_kicked_node_needs_the_invite_and_a_banned_one_cannot_come_back_through_its_node() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Guarded", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob", Some(&invite), Some("alice.os")).await;
    a0.event("joined", |e| e["participant"]["name"] == "Bob").await;

    // Kicked through the owner's API: its socket is closed by bob's process.
    api.ok("Kick", json!([room, b1.participant])).await;
    b1.wait_until("the kicked socket closed", WAIT, |_, _, closed| closed).await;
    a0.event("left", |e| e["reason"] == "kicked").await;
    let baseline = room_state(&api.room(&room).await);
    let metrics = api.metrics().await;

    // Back without the invite: refused (before, its node's remembered role let it in).
    let mut b2 = Client::owner(bob, "B2").await;
    let refused = b2.try_join(&room, "Bob", None, Some("alice.os")).await.unwrap_err();
    assert_eq!(refused["code"], "bad_invite", "{refused}");
    assert_eq!(room_state(&api.room(&room).await), baseline, "the refused join changed the room");
    assert_eq!(steady(&api.metrics().await), steady(&metrics));
    // With the invite it may (a kick is not a ban).
    b2.join(&room, "Bob", Some(&invite), Some("alice.os")).await;
    a0.event("joined", |e| e["participant"]["id"] == b2.participant.as_str()).await;

    // Banned: removed with reason `banned`, its socket closed; the ban is listed.
    a0.send_msg("ban", json!({"participant": b2.participant}));
    a0.event("left", |e| e["participant"] == b2.participant.as_str() && e["reason"] == "banned").await;
    b2.wait_until("the banned socket closed", WAIT, |_, _, closed| closed).await;
    let bans = api.ok("Bans", json!(room)).await;
    assert_eq!(bans.as_array().unwrap().len(), 1, "{bans}");
    assert_eq!((&bans[0]["node"], &bans[0]["guest"], &bans[0]["name"]), (&json!("bob.os"), &json!(false), &json!("Bob")));
    let baseline = room_state(&api.room(&room).await);
    let metrics = api.metrics().await;

    // With the invite: `banned`, and nothing changed.
    let mut b3 = Client::owner(bob, "B3").await;
    let refused = b3.try_join(&room, "Bob", Some(&invite), Some("alice.os")).await.unwrap_err();
    assert_eq!(refused["code"], "banned", "{refused}");
    // A rotated invite does not help either.
    let fresh = api.ok("RotateInvite", json!(room)).await;
    let refused = b3.try_join(&room, "Bob", fresh.as_str(), Some("alice.os")).await.unwrap_err();
    assert_eq!(refused["code"], "banned", "{refused}");
    assert_eq!(room_state(&api.room(&room).await), baseline, "the refused joins changed the room");
    assert_eq!(steady(&api.metrics().await), steady(&metrics));

    // Lifted: bob's user comes back (with the invite: the ban forgot its role).
    let (status, code) = api.err("Unban", json!([room, "no-such-ban"])).await;
    assert_eq!((status, code.as_str()), (404, "ban_not_found"));
    api.ok("Unban", json!([room, bans[0]["ban_id"]])).await;
    assert_eq!(api.ok("Bans", json!(room)).await, json!([]));
    let refused = b3.try_join(&room, "Bob", None, Some("alice.os")).await.unwrap_err();
    assert_eq!(refused["code"], "bad_invite", "{refused}");
    b3.join(&room, "Bob", fresh.as_str(), Some("alice.os")).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_removed_hostile_node_hears_nothing_and_a_banned_one_cannot_join_act_sync_or_speak() {
    let cluster = boot(&["alice.os"], &["carol.os"]).await;
    let alice = cluster.node("alice.os");
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Guarded", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    let mut carol = fake_carol(&cluster);

    let joined = carol.join(&room, 1, Some(&invite)).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    let carol_id = joined["welcome"]["participant"].as_str().unwrap().to_string();
    let carol_stream = joined["welcome"]["stream"].as_u64().unwrap() as u16;
    a0.event("joined", |e| e["participant"]["id"] == carol_id.as_str()).await;

    // Kicked: it gets its own `left`, then nothing said afterwards.
    api.ok("Kick", json!([room, carol_id])).await;
    carol.pump_until("its own left", |p| p.got("event", |m| m["event"]["event"]["kind"] == "left")).await;
    a0.send_msg("chat", json!({"text": "said after the kick"}));
    a0.event("chat", |e| e["message"]["text"] == "said after the kick").await;
    carol.round_trip().await;
    let heard: Vec<&Value> = carol.received.iter().filter(|e| e["msg"]["type"] != "heartbeat_ack").collect();
    assert!(
        !carol.got("event", |m| m["event"]["event"]["kind"] == "chat") && !carol.got("presence", |_| true),
        "a kicked node heard the room: {heard:?}"
    );
    // Without the invite: refused; nothing changed.
    let baseline = room_state(&api.room(&room).await);
    let refused = carol.join(&room, 2, None).await;
    assert_eq!((refused["type"].as_str(), refused["error"]["code"].as_str()), (Some("join_refused"), Some("bad_invite")), "{refused}");
    assert_eq!(room_state(&api.room(&room).await), baseline);

    // In again with the invite, then banned by a moderator's message (alice, the Host).
    let joined = carol.join(&room, 3, Some(&invite)).await;
    let carol_id = joined["welcome"]["participant"].as_str().unwrap().to_string();
    a0.event("joined", |e| e["participant"]["id"] == carol_id.as_str()).await;
    a0.send_msg("ban", json!({"participant": carol_id}));
    a0.event("left", |e| e["participant"] == carol_id.as_str() && e["reason"] == "banned").await;
    carol.pump_until("its own left (banned)", |p| p.got("event", |m| m["event"]["event"]["reason"] == "banned")).await;
    let received_at_ban = carol.received.len();
    let baseline = room_state(&api.room(&room).await);
    let metrics = api.metrics().await;

    // Join with the invite: banned.
    let refused = carol.join(&room, 4, Some(&invite)).await;
    assert_eq!((refused["type"].as_str(), refused["error"]["code"].as_str()), (Some("join_refused"), Some("banned")), "{refused}");
    // Control as its old participant: a `direct` error `banned`.
    carol
        .send(json!({"type": "control", "room": room, "participant": carol_id, "msg": {"type": "chat", "text": "let me in"}, "ref": "c1"}))
        .await;
    carol
        .pump_until("a banned refusal of control", |p| {
            p.got("direct", |m| m["msg"]["type"] == "error" && m["msg"]["code"] == "banned" && m["msg"]["ref"] == "c1")
        })
        .await;
    // Sync: `sync_refused` `banned`, nothing of the room.
    carol.send(json!({"type": "sync", "room": room, "last_seq": 0})).await;
    carol.pump_until("sync_refused", |p| p.got("sync_refused", |m| m["error"]["code"] == "banned")).await;
    // Audio on its old stream: dropped and counted as not_member; alice hears none of it.
    let mut batch = Vec::new();
    audio::append_room_marker(&room, &mut batch);
    for i in 0..5u32 {
        batch.extend(frame(carol_stream, 1000 + i, 5, format!("CAROL#{i}").as_bytes()));
    }
    let not_member_before = metrics["frames_dropped"]["not_member"].as_u64().unwrap();
    let audio_req = carol.send_raw(json!({"PeerAudio": null}), Some(batch)).await;
    carol.pump_until("an answer to the audio batch", |p| p.answers.iter().any(|(id, _)| *id == audio_req)).await;
    eventually("carol's frames counted as not_member", || {
        let api = api.clone();
        async move { (api.metrics().await["frames_dropped"]["not_member"].as_u64().unwrap() >= not_member_before + 5).then_some(()) }
    })
    .await;
    // Said after the ban: nothing reaches carol.
    a0.send_msg("chat", json!({"text": "said after the ban"}));
    a0.event("chat", |e| e["message"]["text"] == "said after the ban").await;
    carol.round_trip().await;
    a0.round_trip().await;
    let after_ban: Vec<&Value> = carol.received[received_at_ban..]
        .iter()
        .filter(|e| !["heartbeat_ack", "join_refused", "direct", "sync_refused"].contains(&e["msg"]["type"].as_str().unwrap_or("")))
        .collect();
    assert!(after_ban.is_empty(), "a banned node heard the room: {after_ban:?}");
    assert!(!carol.received[received_at_ban..].iter().any(|e| e["msg"]["type"] == "direct" && e["msg"]["msg"]["type"] != "error"));
    assert!(frames_from(&a0, "CAROL").is_empty(), "carol's audio reached alice");

    // Nothing else changed: the room (but alice's one chat line) and the metrics.
    let mut now = room_state(&api.room(&room).await);
    let line = now["chat"].as_array_mut().unwrap().pop().unwrap();
    assert_eq!(line["text"], "said after the ban");
    now["seq"] = json!(now["seq"].as_u64().unwrap() - 1);
    assert_eq!(now, baseline, "the refusals changed the room");
    let m = api.metrics().await;
    assert_eq!(steady(&m), steady(&metrics));
    assert_eq!(m["frames_dropped"]["not_member"].as_u64().unwrap(), not_member_before + 5);
    cluster.shutdown().await;
}
