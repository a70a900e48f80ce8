//! End-to-end encrypted rooms (issue 13) with the real package on devnode: a room created
//! over HTTP with `"e2ee": true`; the owner (Host), a guest and a user of bob.os announce
//! their keys; the Host's `e2ee_keys` reaches the guest and bob's user only as addressed
//! (bob's through bob.os); a clear chat is refused with `e2ee_required`; `ChatHistory` holds
//! the encrypted text as sent; the setting cannot be changed afterwards.
mod common;
use common::*;
use serde_json::{json, Value};

fn keys_of(c: &Client) -> Vec<Value> {
    c.texts().into_iter().filter(|v| v["type"] == "e2ee_key").collect()
}

#[tokio::test]
async fn an_e2ee_room_relays_announced_keys_and_wrapped_keys_to_their_addressees_only() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let settings = json!({"name": "Sealed", "capacity": 50, "default_role": "speaker", "guests_allowed": true, "guests_may_speak": true, "e2ee": true});
    let created = api.ok("CreateRoom", settings).await;
    let (room, invite) = (created["id"].as_str().unwrap().to_string(), created["invite"].as_str().unwrap().to_string());
    // The setting shows wherever settings do, and cannot change.
    assert_eq!(api.room(&room).await["settings"]["e2ee"], json!(true));
    let listed = api.get("/api/rooms").await;
    assert!(listed.as_array().unwrap().iter().any(|r| r["id"] == room.as_str() && r["settings"]["e2ee"] == json!(true)), "{listed}");
    assert_eq!(api.err("UpdateSettings", json!([room, {"e2ee": false}])).await, (400, "invalid_settings".into()));
    assert_eq!(api.room(&room).await["settings"]["e2ee"], json!(true));

    let mut host = Client::owner(alice, "H").await;
    let welcome = host.join(&room, "Host", None, None).await;
    assert_eq!(welcome["role"], "host");
    assert_eq!(welcome["snapshot"]["settings"]["e2ee"], json!(true));
    let mut guest = Client::guest(alice, "G").await;
    guest.join(&room, "Guest", Some(&invite), None).await;
    let mut remote = Client::owner(bob, "B").await;
    remote.join(&room, "Bob", Some(&invite), Some("alice.os")).await;
    // The participant object carries `e2ee`, null before a hello.
    let snapshot = api.room(&room).await;
    assert!(participant(&snapshot, "Bob")["e2ee"].is_null());

    // Hellos, each announced to everyone (bob's through bob.os).
    for (c, pk) in [(&host, "HOSTKEY"), (&guest, "GUESTKEY"), (&remote, "BOBKEY")] {
        c.send_msg("e2ee_hello", json!({"public_key": pk, "proof": format!("1.proof-{pk}")}));
    }
    for c in [&host, &guest, &remote] {
        for (who, pk) in [(&host, "HOSTKEY"), (&guest, "GUESTKEY"), (&remote, "BOBKEY")] {
            let pid = who.participant.clone();
            c.event("key_announced", |e| e["participant"] == pid.as_str() && e["public_key"] == pk && e["proof"] == format!("1.proof-{pk}"))
                .await;
        }
    }
    let snapshot = api.room(&room).await;
    assert_eq!(participant(&snapshot, "Bob")["e2ee"], json!({"public_key": "BOBKEY", "proof": "1.proof-BOBKEY"}));

    // The Host wraps a key for the guest and one for bob: each gets its own, nobody else any.
    let keys = json!({"epoch": 1, "keys": [
        {"to": guest.participant, "wrapped": "for-the-guest"},
        {"to": remote.participant, "wrapped": "for-bob"},
    ]});
    host.send_msg("e2ee_keys", keys);
    guest.text("e2ee_key", |v| v["type"] == "e2ee_key").await;
    remote.text("e2ee_key", |v| v["type"] == "e2ee_key").await;
    host.round_trip().await;
    let expected = |to: &str| json!({"v": 1, "type": "e2ee_key", "room": room, "epoch": 1, "from": host.participant, "wrapped": to});
    assert_eq!(keys_of(&guest), vec![expected("for-the-guest")]);
    assert_eq!(keys_of(&remote), vec![expected("for-bob")]);
    assert!(keys_of(&host).is_empty());

    // Only the Host or a Moderator may: the guest (Speaker) is refused, nobody gets anything.
    let from = guest.text_count();
    guest.send_msg("e2ee_keys", json!({"epoch": 2, "keys": [{"to": remote.participant, "wrapped": "nope"}]}));
    guest.error_after(from, "forbidden").await;
    // Malformed and unknown addressees are refused too.
    let from = host.text_count();
    host.send_msg("e2ee_keys", json!({"epoch": 256, "keys": [{"to": guest.participant, "wrapped": "x"}]}));
    host.error_after(from, "invalid_e2ee").await;
    let from = host.text_count();
    host.send_msg("e2ee_keys", json!({"epoch": 2, "keys": [{"to": guest.participant, "wrapped": "x"}, {"to": "nobody", "wrapped": "y"}]}));
    host.error_after(from, "participant_not_found").await;
    guest.round_trip().await;
    remote.round_trip().await;
    assert_eq!(keys_of(&guest).len(), 1);
    assert_eq!(keys_of(&remote).len(), 1);

    // Chat: clear text is refused, the encrypted form is posted as sent.
    let from = guest.text_count();
    guest.send_msg("chat", json!({"text": "hello in clear"}));
    guest.error_after(from, "e2ee_required").await;
    let from = remote.text_count();
    remote.send_msg("chat", json!({"text": "also clear"}));
    remote.error_after(from, "e2ee_required").await;
    guest.send_msg("chat", json!({"text": "e1.AAECAwQF-_sealed"}));
    host.event("chat", |e| e["message"]["text"] == "e1.AAECAwQF-_sealed").await;
    let history = api.ok("ChatHistory", json!(room)).await;
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, vec!["e1.AAECAwQF-_sealed"]);

    // A clear room refuses the e2ee messages.
    let (clear, clear_invite) = api.create_room("Clear", true).await;
    assert_eq!(api.room(&clear).await["settings"]["e2ee"], json!(false));
    let mut g2 = Client::guest(alice, "G2").await;
    g2.join(&clear, "Guest", Some(&clear_invite), None).await;
    let from = g2.text_count();
    g2.send_msg("e2ee_hello", json!({"public_key": "K", "proof": "P"}));
    g2.error_after(from, "e2ee_off").await;
}
