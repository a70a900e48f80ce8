//! End-to-end encrypted rooms, the node's side (docs/protocol.md, "End-to-end encrypted
//! rooms"): the setting fixed at creation, `e2ee_hello` → `key_announced`, `e2ee_keys`
//! delivered to each addressee only (locally, over HTTP polling, through another node), the
//! newest key sent again after a resume, and encrypted chat only.

mod common;
use common::*;
use voice_chat_engine::protocol::{encode_client, Resume};
use voice_chat_engine::{
    ClientMsg, ConnKind, E2eeAnnounce, ErrorCode, Event, PollStep, Role, ServerMsg, Settings, SettingsPatch, WrappedKey,
};

const HOST: u32 = 1;
const GUEST: u32 = 2;
const OTHER: u32 = 3;

fn e2ee_settings() -> Settings {
    Settings { e2ee: true, ..open_settings() }
}

struct Room {
    node: Node,
    id: String,
    invite: String,
    host: String,
    guest: String,
    other: String,
    guest_token: String,
    guest_seq: u64,
}

/// An e2ee room (or a clear one) with the owner (Host, conn 1) and two guests (Speakers).
fn room(e2ee: bool) -> Room {
    let mut node = Node::new("a.os");
    let created = node.create_room(Settings { e2ee, ..open_settings() });
    let h = node.join(0, HOST, ConnKind::Owner, &created.id, "host", None);
    let g = node.join(0, GUEST, ConnKind::Guest, &created.id, "guest", Some(&created.invite));
    let o = node.join(0, OTHER, ConnKind::Guest, &created.id, "other", Some(&created.invite));
    node.pump();
    node.clear();
    Room {
        node,
        id: created.id,
        invite: created.invite,
        host: h.participant,
        guest: g.participant,
        other: o.participant,
        guest_token: g.resume_token,
        guest_seq: o.seq,
    }
}

fn hello(pk: &str, proof: &str) -> ClientMsg {
    ClientMsg::E2eeHello { public_key: pk.into(), proof: proof.into() }
}

fn keys(epoch: u32, to: &[(&str, &str)]) -> ClientMsg {
    ClientMsg::E2eeKeys { epoch, keys: to.iter().map(|(t, w)| WrappedKey { to: t.to_string(), wrapped: w.to_string() }).collect() }
}

/// The `e2ee_key`s in `msgs`: (epoch, from, wrapped).
fn delivered(msgs: &[ServerMsg]) -> Vec<(u32, String, String)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::E2eeKey { epoch, from, wrapped, .. } => Some((*epoch, from.clone(), wrapped.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_setting_is_fixed_when_the_room_is_created() {
    // Absent in CreateRoom's JSON (and in state saved before it existed): a clear room.
    let parsed: Settings = serde_json::from_str(r#"{"name":"R","capacity":5,"default_role":"speaker","guests_allowed":false,"guests_may_speak":false}"#).unwrap();
    assert!(!parsed.e2ee);
    let mut r = room(true);
    assert!(r.node.engine.room_snapshot(&r.id).unwrap().settings.e2ee);
    assert!(r.node.engine.list_rooms().iter().any(|s| s.id == r.id && s.settings.e2ee));

    // The owner over HTTP: refused, nothing changes (not even the name sent with it).
    let patch: SettingsPatch = serde_json::from_str(r#"{"name":"renamed","e2ee":false}"#).unwrap();
    let err = r.node.engine.update_settings(1, &r.id, patch).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidSettings);
    let s = r.node.engine.room_snapshot(&r.id).unwrap();
    assert!(s.settings.e2ee);
    assert_eq!(s.settings.name, "Room");
    // The Host over its socket: the same; and no one hears of a change.
    r.node.send_json(2, HOST, r#"{"v":1,"type":"update_settings","settings":{"e2ee":false}}"#);
    assert_eq!(r.node.errors(HOST), vec![ErrorCode::InvalidSettings]);
    assert!(r.node.take(GUEST).is_empty());
    assert!(r.node.engine.room_snapshot(&r.id).unwrap().settings.e2ee);
    // A clear room cannot be made e2ee either.
    let mut c = room(false);
    let patch: SettingsPatch = serde_json::from_str(r#"{"e2ee":true}"#).unwrap();
    assert_eq!(c.node.engine.update_settings(1, &c.id, patch).unwrap_err().code, ErrorCode::InvalidSettings);
    assert!(!c.node.engine.room_snapshot(&c.id).unwrap().settings.e2ee);
    // Other settings still change in an e2ee room, and the flag goes along.
    let patch = SettingsPatch { name: Some("new".into()), ..Default::default() };
    assert!(r.node.engine.update_settings(3, &r.id, patch).unwrap().e2ee);
}

#[test]
fn a_hello_is_announced_once_and_shown_on_the_participant() {
    let mut r = room(true);
    r.node.send(1, GUEST, &hello("PUBKEY-1", "1.proof_A"));
    let announced = Event::KeyAnnounced { participant: r.guest.clone(), public_key: "PUBKEY-1".into(), proof: "1.proof_A".into() };
    for conn in [HOST, GUEST, OTHER] {
        assert!(matches!(&r.node.events(conn)[..], [(_, e)] if *e == announced), "conn {conn}");
    }
    let snap = r.node.engine.room_snapshot(&r.id).unwrap();
    let info = |snap: &voice_chat_engine::Snapshot, id: &str| snap.participants.iter().find(|p| p.id == id).unwrap().e2ee.clone();
    assert_eq!(info(&snap, &r.guest), Some(E2eeAnnounce { public_key: "PUBKEY-1".into(), proof: "1.proof_A".into() }));
    assert_eq!(info(&snap, &r.host), None);
    // Serialized as null when nothing was announced.
    let json = serde_json::to_value(&snap).unwrap();
    let host_json = json["participants"].as_array().unwrap().iter().find(|p| p["id"] == r.host.as_str()).unwrap().clone();
    assert!(host_json["e2ee"].is_null() && host_json.as_object().unwrap().contains_key("e2ee"));

    // The same again: no event, no seq.
    let seq = snap.seq;
    r.node.send(2, GUEST, &hello("PUBKEY-1", "1.proof_A"));
    assert!(r.node.take(HOST).is_empty());
    assert!(r.node.errors(GUEST).is_empty());
    assert_eq!(r.node.engine.room_snapshot(&r.id).unwrap().seq, seq);
    // A new proof (say, after a rotation) is announced.
    r.node.send(3, GUEST, &hello("PUBKEY-1", "2.proof_B"));
    assert_eq!(r.node.events(HOST).len(), 1);

    // Malformed: refused, nothing changes.
    let long = "a".repeat(129);
    for bad in [hello("", "p"), hello("p", ""), hello("has space", "p"), hello("p", "a+b"), hello(&long, "p"), hello("p", &long), hello("é", "p")] {
        r.node.send(4, GUEST, &bad);
        assert_eq!(r.node.errors(GUEST), vec![ErrorCode::InvalidE2ee], "{bad:?}");
        assert!(r.node.take(HOST).is_empty(), "{bad:?}");
    }
    assert_eq!(info(&r.node.engine.room_snapshot(&r.id).unwrap(), &r.guest).unwrap().proof, "2.proof_B");
    // At the limit: accepted.
    r.node.send(5, OTHER, &hello(&"a".repeat(128), &"b".repeat(128)));
    assert!(r.node.errors(OTHER).is_empty());
    assert_eq!(r.node.events(HOST).len(), 1);

    // A clear room.
    let mut c = room(false);
    c.node.send(1, GUEST, &hello("PUBKEY-1", "1.proof_A"));
    assert_eq!(c.node.errors(GUEST), vec![ErrorCode::E2eeOff]);
    assert!(c.node.take(HOST).is_empty());
    assert_eq!(info(&c.node.engine.room_snapshot(&c.id).unwrap(), &c.guest), None);
}

#[test]
fn wrapped_keys_reach_each_addressee_only() {
    let mut r = room(true);
    r.node.send(1, HOST, &keys(1, &[(&r.guest.clone(), "wrapped-for-guest")]));
    assert!(r.node.errors(HOST).is_empty());
    assert_eq!(delivered(&r.node.take(GUEST)), vec![(1, r.host.clone(), "wrapped-for-guest".to_string())]);
    assert!(r.node.take(OTHER).is_empty(), "the other guest gets nothing");
    // Two addressees, each its own.
    r.node.send(2, HOST, &keys(2, &[(&r.guest.clone(), "g2"), (&r.other.clone(), "o2")]));
    assert_eq!(delivered(&r.node.take(GUEST)), vec![(2, r.host.clone(), "g2".to_string())]);
    assert_eq!(delivered(&r.node.take(OTHER)), vec![(2, r.host.clone(), "o2".to_string())]);
    // Not an event.
    assert!(r.node.events(HOST).is_empty());

    // A Moderator may; Speakers and Viewers may not.
    r.node.engine.set_role(3, &r.id, &r.guest, Role::Moderator).unwrap();
    r.node.pump();
    r.node.clear();
    r.node.send(3, GUEST, &keys(3, &[(&r.other.clone(), "from-mod")]));
    assert_eq!(delivered(&r.node.take(OTHER)), vec![(3, r.guest.clone(), "from-mod".to_string())]);
    for role in [Role::Speaker, Role::Viewer] {
        r.node.engine.set_role(4, &r.id, &r.other, role).unwrap();
        r.node.pump();
        r.node.clear();
        r.node.send(4, OTHER, &keys(4, &[(&r.guest.clone(), "nope")]));
        assert_eq!(r.node.errors(OTHER), vec![ErrorCode::Forbidden], "{role:?}");
        assert!(r.node.take(GUEST).is_empty(), "{role:?}");
    }

    // An addressee not in the room: nobody gets anything.
    r.node.send(5, HOST, &keys(5, &[(&r.guest.clone(), "g5"), ("nobody", "x")]));
    assert_eq!(r.node.errors(HOST), vec![ErrorCode::ParticipantNotFound]);
    assert!(r.node.take(GUEST).is_empty());

    // Malformed: nobody gets anything.
    let g = r.guest.clone();
    let o = r.other.clone();
    let big = "w".repeat(257);
    let malformed = [
        keys(256, &[(&g, "w")]),
        keys(1, &[]),
        keys(1, &[(&g, "w"), (&g, "w2")]),
        keys(1, &[(&g, &big)]),
        keys(1, &[(&g, "")]),
        keys(1, &[(&o, "ok"), (&g, "not/base64url")]),
    ];
    for bad in malformed {
        r.node.send(6, HOST, &bad);
        assert_eq!(r.node.errors(HOST), vec![ErrorCode::InvalidE2ee], "{bad:?}");
        assert!(r.node.take(GUEST).is_empty() && r.node.take(OTHER).is_empty(), "{bad:?}");
    }
    // More entries than the engine has room for participants.
    let many: Vec<(String, String)> = (0..201).map(|i| (format!("p{i}"), "w".to_string())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    r.node.send(6, HOST, &keys(1, &many));
    assert_eq!(r.node.errors(HOST), vec![ErrorCode::InvalidE2ee]);
    // Epoch 255 and 256 characters are the limits.
    r.node.send(7, HOST, &keys(255, &[(&g, &"w".repeat(256))]));
    assert_eq!(delivered(&r.node.take(GUEST)).len(), 1);

    // A clear room.
    let mut c = room(false);
    let cg = c.guest.clone();
    c.node.send(1, HOST, &keys(1, &[(&cg, "w")]));
    assert_eq!(c.node.errors(HOST), vec![ErrorCode::E2eeOff]);
    assert!(c.node.take(GUEST).is_empty());
}

#[test]
fn chat_in_an_e2ee_room_must_be_encrypted() {
    let mut r = room(true);
    r.node.send(1, GUEST, &ClientMsg::Chat { text: "hello in clear".into() });
    assert_eq!(r.node.errors(GUEST), vec![ErrorCode::E2eeRequired]);
    assert!(r.node.take(HOST).is_empty());
    for bad in ["e1.", "e1.abc=", "e1.a.b", "x1.abc"] {
        r.node.send(1, GUEST, &ClientMsg::Chat { text: bad.into() });
        assert_eq!(r.node.errors(GUEST), vec![ErrorCode::E2eeRequired], "{bad}");
    }
    assert!(r.node.engine.chat_history(&r.id).unwrap().is_empty());
    r.node.send(2, GUEST, &ClientMsg::Chat { text: "e1.AAECAw-_xyz".into() });
    assert!(r.node.errors(GUEST).is_empty());
    let history = r.node.engine.chat_history(&r.id).unwrap();
    assert_eq!(history.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["e1.AAECAw-_xyz"]);
    // A clear room is unchanged.
    let mut c = room(false);
    c.node.send(1, GUEST, &ClientMsg::Chat { text: "hello in clear".into() });
    assert!(c.node.errors(GUEST).is_empty());
    assert_eq!(c.node.engine.chat_history(&c.id).unwrap().len(), 1);
}

#[test]
fn a_resume_gets_the_newest_key_again_right_after_its_welcome_and_missed_events() {
    let mut r = room(true);
    let g = r.guest.clone();
    r.node.send(1, HOST, &keys(1, &[(&g, "old")]));
    r.node.send(2, HOST, &keys(2, &[(&g, "newest")]));
    r.node.close(3, GUEST);
    r.node.send(4, OTHER, &ClientMsg::Chat { text: "e1.missed".into() });
    r.node.clear();
    // While it is reconnecting: kept for it, not pushed to its dead socket.
    r.node.send(4, HOST, &keys(3, &[(&g, "while-away")]));
    assert!(r.node.errors(HOST).is_empty());
    assert!(r.node.take(GUEST).is_empty());
    r.node.open(5, 20, ConnKind::Guest);
    let resume = Resume { token: r.guest_token.clone(), last_seq: r.guest_seq };
    r.node.send(5, 20, &ClientMsg::Join { room: r.id.clone(), name: "guest".into(), invite: None, host: None, resume: Some(resume) });
    let msgs = r.node.take(20);
    assert!(matches!(&msgs[0], ServerMsg::Welcome(w) if w.resumed), "{msgs:?}");
    assert!(msgs.iter().any(|m| matches!(m, ServerMsg::Event { event: Event::Chat { .. }, .. })), "{msgs:?}");
    // Last, once, and only the newest.
    assert!(matches!(msgs.last(), Some(ServerMsg::E2eeKey { .. })), "{msgs:?}");
    assert_eq!(delivered(&msgs), vec![(3, r.host.clone(), "while-away".to_string())]);
    // A participant that never got a key gets none on its resume.
    let third = r.node.join(7, 22, ConnKind::Guest, &r.id, "third", Some(&r.invite.clone()));
    r.node.close(8, 22);
    r.node.open(9, 23, ConnKind::Guest);
    let resume = Resume { token: third.resume_token, last_seq: third.seq };
    r.node.send(9, 23, &ClientMsg::Join { room: r.id.clone(), name: "third".into(), invite: None, host: None, resume: Some(resume) });
    let msgs = r.node.take(23);
    assert!(matches!(&msgs[0], ServerMsg::Welcome(w) if w.resumed), "{msgs:?}");
    assert!(delivered(&msgs).is_empty());
}

#[test]
fn an_http_polling_session_gets_its_key() {
    let mut r = room(true);
    let join = encode_client(&ClientMsg::Join { room: r.id.clone(), name: "poller".into(), invite: Some(r.invite.clone()), host: None, resume: None }, None);
    let start = r.node.engine.poll_join(1, ConnKind::Guest, Some("10.0.0.9"), join.as_bytes()).unwrap();
    r.node.pump();
    let welcome = start.messages.iter().find_map(|m| match ServerMsg::from_json(m).unwrap() {
        ServerMsg::Welcome(w) => Some(w),
        _ => None,
    });
    let poller = welcome.expect("welcome").participant;
    r.node.clear();
    r.node.send(2, HOST, &keys(3, &[(&poller, "for-the-poller")]));
    assert!(r.node.errors(HOST).is_empty());
    assert!(r.node.take(GUEST).is_empty());
    let PollStep::Answer(answer) = r.node.engine.poll(3, &start.session, start.cursor).unwrap() else { panic!("queued") };
    let got: Vec<ServerMsg> = answer.messages.iter().map(|m| ServerMsg::from_json(m).unwrap()).collect();
    assert_eq!(delivered(&got), vec![(3, r.host.clone(), "for-the-poller".to_string())]);
}

const A: &str = "a.os";
const B: &str = "b.os";

#[test]
fn a_user_of_another_node_announces_and_gets_its_key_through_its_node() {
    let mut net = Net::new(&[A, B]);
    let room = net.node(A).create_room(e2ee_settings());
    let alice = net.node(A).join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    net.node(A).join(0, 2, ConnKind::Guest, &room.id, "gus", Some(&room.invite));
    let b = net.node(B);
    b.open(0, 7, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.id.clone(), name: "bob".into(), invite: Some(room.invite.clone()), host: Some(A.into()), resume: None };
    b.send(0, 7, &join);
    net.run(0);
    let msgs = net.node(B).take(7);
    let Some(ServerMsg::Welcome(bob)) = msgs.first().cloned() else { panic!("{msgs:?}") };
    assert!(bob.snapshot.as_ref().unwrap().settings.e2ee);
    net.node(A).clear();

    // Bob's hello goes to the host like any room command, and comes back as an event.
    net.node(B).send(1, 7, &hello("BOBKEY", "1.bobproof"));
    net.run(1);
    let announced = Event::KeyAnnounced { participant: bob.participant.clone(), public_key: "BOBKEY".into(), proof: "1.bobproof".into() };
    assert!(net.node(A).events(1).iter().any(|(_, e)| *e == announced));
    assert!(net.node(B).events(7).iter().any(|(_, e)| *e == announced));
    let snap = net.node(A).engine.room_snapshot(&room.id).unwrap();
    assert!(snap.participants.iter().any(|p| p.id == bob.participant && p.e2ee.as_ref().is_some_and(|k| k.public_key == "BOBKEY")));

    net.node(A).clear();
    net.node(B).clear();
    // Alice (Host) wraps a key for bob: it reaches bob's socket on b.os, nobody else.
    net.node(A).send(2, 1, &keys(1, &[(&bob.participant, "for-bob")]));
    net.run(2);
    assert!(net.node(A).errors(1).is_empty());
    assert_eq!(delivered(&net.node(B).take(7)), vec![(1, alice.participant.clone(), "for-bob".to_string())]);
    assert!(net.node(A).take(2).is_empty());

    // Bob (Speaker) may not share keys: refused through his node; gus gets nothing.
    net.node(B).send(3, 7, &keys(1, &[(&alice.participant, "x")]));
    net.run(3);
    assert_eq!(net.node(B).errors(7), vec![ErrorCode::Forbidden]);
    assert!(net.node(A).take(1).is_empty());
    // Bob's clear chat is refused too.
    net.node(B).send(3, 7, &ClientMsg::Chat { text: "clear".into() });
    net.run(3);
    assert_eq!(net.node(B).errors(7), vec![ErrorCode::E2eeRequired]);
    // Made a moderator, bob's keys reach alice through the host.
    net.node(A).engine.set_role(4, &room.id, &bob.participant, Role::Moderator).unwrap();
    net.run(4);
    net.node(A).clear();
    net.node(B).clear();
    net.node(B).send(5, 7, &keys(2, &[(&alice.participant, "for-alice")]));
    net.run(5);
    assert!(net.node(B).errors(7).is_empty());
    assert_eq!(delivered(&net.node(A).take(1)), vec![(2, bob.participant.clone(), "for-alice".to_string())]);

    // Bob's socket drops and he resumes through b.os: his newest key comes again, after the welcome.
    net.node(B).close(6, 7);
    net.run(6);
    let b = net.node(B);
    b.open(7, 17, ConnKind::Owner);
    let resume = Some(Resume { token: bob.resume_token.clone(), last_seq: bob.seq });
    b.send(7, 17, &ClientMsg::Join { room: room.id.clone(), name: "bob".into(), invite: None, host: Some(A.into()), resume });
    net.run(7);
    let msgs = net.node(B).take(17);
    assert!(matches!(&msgs[0], ServerMsg::Welcome(w) if w.resumed), "{msgs:?}");
    // After the welcome and the events it missed (b.os then fetches a snapshot for its mirror).
    let key_at = msgs.iter().position(|m| matches!(m, ServerMsg::E2eeKey { .. })).expect("the key again");
    let last_event = msgs.iter().rposition(|m| matches!(m, ServerMsg::Event { .. })).unwrap();
    assert!(key_at > last_event, "{msgs:?}");
    assert_eq!(delivered(&msgs), vec![(1, alice.participant.clone(), "for-bob".to_string())]);
}

#[test]
fn the_setting_survives_a_restart_and_clear_rooms_save_as_before() {
    let mut node = Node::new(A);
    let e2ee = node.create_room(e2ee_settings());
    let clear = node.create_room(open_settings());
    let state = node.engine.persisted();
    let saved: serde_json::Value = serde_json::from_slice(&state.to_bytes()).unwrap();
    for room in saved["rooms"].as_array().unwrap() {
        let is_e2ee = room["id"] == e2ee.id.as_str();
        // Written only when true: a clear room's settings are saved exactly as format 2 had them.
        assert_eq!(room["settings"].get("e2ee"), is_e2ee.then_some(&serde_json::Value::Bool(true)), "{room}");
    }
    let loaded = voice_chat_engine::PersistedState::from_bytes(&state.to_bytes()).unwrap();
    let restored = voice_chat_engine::Engine::restore(loaded, voice_chat_engine::Config::default(), A, Box::new(voice_chat_engine::SeededEntropy::new(3)));
    assert!(restored.room_snapshot(&e2ee.id).unwrap().settings.e2ee);
    assert!(!restored.room_snapshot(&clear.id).unwrap().settings.e2ee);
}
