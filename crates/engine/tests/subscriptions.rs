//! Topic subscriptions on the control path (docs/protocol.md, "Subscriptions"): joining
//! subscribes the whole room, `unsubscribe` stops a topic to that socket only, `subscribe`
//! brings it back, refusals have stable codes, and a user of another node filters at its own
//! node.

mod common;
use common::*;
use voice_chat_engine::audio::encode_ack;
use voice_chat_engine::protocol::Resume;
use voice_chat_engine::{ClientMsg, ConnKind, ErrorCode, Event, Presence, ServerMsg, Welcome};

fn room_with(n: &mut Node, names: &[(&str, u32)]) -> (String, Vec<Welcome>) {
    let room = n.create_room(open_settings());
    let ws = names.iter().map(|(name, c)| n.join(0, *c, ConnKind::Guest, &room.id, name, Some(&room.invite))).collect();
    n.clear();
    (room.id, ws)
}

fn subscribe(n: &mut Node, now: u64, conn: u32, pattern: &str) -> Vec<ServerMsg> {
    n.send(now, conn, &ClientMsg::Subscribe { pattern: pattern.into() });
    n.take(conn)
}

fn unsubscribe(n: &mut Node, now: u64, conn: u32, pattern: &str) -> Vec<ServerMsg> {
    n.send(now, conn, &ClientMsg::Unsubscribe { pattern: pattern.into() });
    n.take(conn)
}

fn typing(msgs: &[ServerMsg]) -> Vec<bool> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Presence { event: Presence::Typing { typing, .. }, .. } => Some(*typing),
            _ => None,
        })
        .collect()
}

fn speaking(msgs: &[ServerMsg]) -> Vec<bool> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Presence { event: Presence::Speaking { speaking, .. }, .. } => Some(*speaking),
            _ => None,
        })
        .collect()
}

fn events(msgs: &[ServerMsg]) -> Vec<Event> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Event { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn error_code(msgs: &[ServerMsg]) -> Option<(ErrorCode, Option<String>)> {
    match msgs {
        [ServerMsg::Error { code, reference, .. }] => Some((*code, reference.clone())),
        _ => None,
    }
}

#[test]
fn subscribe_confirms_with_the_topics_it_matches_now() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("a", 1)]);
    let got = subscribe(&mut n, 0, 1, &format!("room.{room}.presence.*"));
    assert_eq!(
        got,
        [ServerMsg::Subscribed {
            pattern: format!("room.{room}.presence.*"),
            topics: vec![format!("room.{room}.presence.typing"), format!("room.{room}.presence.speaking")],
        }]
    );
    let got = subscribe(&mut n, 0, 1, "**");
    let audio = format!("audio.{}", ws[0].stream);
    let all = ["chat", "events", "presence.typing", "presence.speaking", &audio].map(|t| format!("room.{room}.{t}")).to_vec();
    assert_eq!(got, [ServerMsg::Subscribed { pattern: "**".into(), topics: all }]);
    let got = unsubscribe(&mut n, 0, 1, &format!("room.{room}.chat"));
    assert_eq!(got, [ServerMsg::Unsubscribed { pattern: format!("room.{room}.chat") }]);
}

#[test]
fn unsubscribing_typing_stops_typing_to_that_socket_only() {
    let mut n = Node::new("a.os");
    let (room, _) = room_with(&mut n, &[("a", 1), ("b", 2), ("c", 3)]);
    unsubscribe(&mut n, 0, 2, &format!("room.{room}.presence.typing"));

    n.send(10, 1, &ClientMsg::Typing {});
    assert_eq!(typing(&n.take(3)), [true]);
    assert!(n.take(2).is_empty(), "b unsubscribed typing");

    // The chat still reaches b; the typing:false it ends does not.
    n.send(20, 1, &ClientMsg::Chat { text: "hello".into() });
    let c = n.take(3);
    assert_eq!(typing(&c), [false]);
    assert!(matches!(&events(&c)[..], [Event::Chat { .. }]));
    let b = n.take(2);
    assert!(typing(&b).is_empty());
    assert!(matches!(&events(&b)[..], [Event::Chat { message }] if message.text == "hello"), "{b:?}");

    // Events and speaking indicators still reach b.
    n.send(30, 3, &ClientMsg::SelfMute { muted: true });
    assert!(matches!(&events(&n.take(2))[..], [Event::SelfMuted { .. }]));

    // Subscribing again brings typing back.
    n.clear();
    subscribe(&mut n, 40, 2, &format!("room.{room}.presence.typing"));
    n.send(50, 3, &ClientMsg::Typing {});
    assert_eq!(typing(&n.take(2)), [true]);
    assert_eq!(typing(&n.take(1)), [true]);
}

#[test]
fn unsubscribing_chat_events_or_speaking_stops_only_that() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2), ("c", 3)]);
    unsubscribe(&mut n, 0, 2, &format!("room.{room}.chat"));
    unsubscribe(&mut n, 0, 3, &format!("room.{room}.events"));
    n.send(10, 1, &ClientMsg::Chat { text: "hi".into() });
    n.send(10, 1, &ClientMsg::SelfMute { muted: true });
    n.send(11, 1, &ClientMsg::SelfMute { muted: false });
    let (b, c) = (events(&n.take(2)), events(&n.take(3)));
    assert!(matches!(&b[..], [Event::SelfMuted { .. }, Event::SelfMuted { .. }]), "{b:?}");
    assert!(matches!(&c[..], [Event::Chat { .. }]), "{c:?}");

    // Speaking: b unsubscribes; a's audio still arrives (its own topic, still subscribed).
    unsubscribe(&mut n, 20, 2, &format!("room.{room}.presence.speaking"));
    let (mut b, mut c, mut b_frames) = (Vec::new(), Vec::new(), 0);
    for i in 0..5u32 {
        let t = 100 + i as u64 * 20;
        let relay = n.binary(t, 1, &mut frame(ws[0].stream, i, 20)).unwrap();
        b_frames += relay.conns.iter().filter(|c| **c == 2).count();
        n.binary(t, 2, &mut encode_ack(i + 1)).unwrap();
        n.binary(t, 3, &mut encode_ack(i + 1)).unwrap();
        b.extend(n.take(2));
        c.extend(n.take(3));
    }
    assert_eq!(speaking(&c), [true]);
    assert!(speaking(&b).is_empty(), "{b:?}");
    assert_eq!(b_frames, 5, "b still receives every frame");
}

#[test]
fn refusals_have_stable_codes_and_change_nothing() {
    let mut n = Node::new("a.os");
    let (room, _) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    let other = n.create_room(open_settings());
    n.clear();
    let cases: Vec<(String, ErrorCode)> = vec![
        ("room..chat".into(), ErrorCode::InvalidPattern),
        ("room.**.chat".into(), ErrorCode::InvalidPattern),
        ("room.a*".into(), ErrorCode::InvalidPattern),
        ("x".repeat(129), ErrorCode::InvalidPattern),
        ("a.b.c.d.e.f.g.h.i".into(), ErrorCode::InvalidPattern),
        // The owner's topic, not a guest's.
        ("node.rooms".into(), ErrorCode::Forbidden),
        ("node.*".into(), ErrorCode::Forbidden),
        // Not topics (a stream is a canonical u16).
        ("nodes.rooms".into(), ErrorCode::InvalidPattern),
        (format!("room.{room}.audio.07"), ErrorCode::InvalidPattern),
        (format!("room.{room}.audio.65536"), ErrorCode::InvalidPattern),
        (format!("room.{room}.video"), ErrorCode::InvalidPattern),
        // Another room's topics.
        (format!("room.{}.chat", other.id), ErrorCode::Forbidden),
        (format!("room.{}.**", other.id), ErrorCode::Forbidden),
    ];
    for (pattern, code) in &cases {
        let got = subscribe(&mut n, 0, 2, pattern);
        assert_eq!(error_code(&got), Some((*code, Some("r1".into()))), "{pattern}");
    }
    assert_eq!(error_code(&unsubscribe(&mut n, 0, 2, "room..chat")), Some((ErrorCode::InvalidPattern, Some("r1".into()))));
    // Nothing changed: b still gets everything of its room.
    n.send(10, 1, &ClientMsg::Typing {});
    n.send(10, 1, &ClientMsg::Chat { text: "x".into() });
    let b = n.take(2);
    assert_eq!(typing(&b), [true, false]);
    assert_eq!(events(&b).len(), 1);
    // A guest's `**` never reaches the other room.
    subscribe(&mut n, 20, 2, "**");
    let owner = n.join(30, 9, ConnKind::Owner, &other.id, "o", None);
    n.send(40, 9, &ClientMsg::Typing {});
    n.send(40, 9, &ClientMsg::Chat { text: "elsewhere".into() });
    assert!(n.take(2).is_empty());
    assert_eq!(owner.room, other.id);
}

#[test]
fn a_guest_subscribing_before_joining_is_forbidden_the_owner_may_watch() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    n.open(0, 1, ConnKind::Guest);
    let got = subscribe(&mut n, 0, 1, &format!("room.{}.presence.*", room.id));
    assert_eq!(error_code(&got), Some((ErrorCode::Forbidden, Some("r1".into()))));
    assert_eq!(error_code(&subscribe(&mut n, 0, 1, "**")), Some((ErrorCode::Forbidden, Some("r1".into()))));
    // The owner's socket may see any room's presence without joining, never its chat.
    n.open(0, 2, ConnKind::Owner);
    let got = subscribe(&mut n, 0, 2, &format!("room.{}.presence.*", room.id));
    let want = [format!("room.{}.presence.typing", room.id), format!("room.{}.presence.speaking", room.id)];
    assert!(matches!(&got[..], [ServerMsg::Subscribed { topics, .. }] if topics[..] == want[..]), "{got:?}");
    assert_eq!(error_code(&subscribe(&mut n, 0, 2, &format!("room.{}.chat", room.id))), Some((ErrorCode::Forbidden, Some("r1".into()))));
}

#[test]
fn at_most_32_rules_per_connection() {
    let mut n = Node::new("a.os");
    let (room, _) = room_with(&mut n, &[("a", 1)]);
    // The join's room.<id>.** is one rule; 31 distinct patterns more fit.
    let patterns = [
        "room.R.chat", "room.R.events", "room.R.presence.typing", "room.R.presence.speaking", "room.R.presence.*", "room.R.presence.**",
        "room.R.*", "room.R.*.*", "room.R.*.typing", "room.R.*.speaking", "room.*.chat", "room.*.events", "room.*.**", "room.*.*",
        "room.*.presence.*", "room.*.presence.typing", "room.*.presence.speaking", "room.*.*.typing", "*.R.chat", "*.R.events", "*.R.**",
        "*.*.chat", "*.*.events", "*.*.**", "*.R.presence.typing", "*.R.presence.speaking", "*.R.presence.*", "*.*.presence.*", "**",
        "room.**", "*.**",
    ];
    assert_eq!(patterns.len(), 31);
    // (Spaced out: the control rate is 10 per second.)
    let mut t = 0;
    for p in patterns {
        t += 200;
        let p = p.replace(".R.", &format!(".{room}."));
        let got = subscribe(&mut n, t, 1, &p);
        assert!(matches!(&got[..], [ServerMsg::Subscribed { .. }]), "{p}: {got:?}");
    }
    let got = subscribe(&mut n, t + 200, 1, "*.*.*");
    assert_eq!(error_code(&got), Some((ErrorCode::TooManySubscriptions, Some("r1".into()))));
    // Unsubscribing a pattern not held would add a rule: refused too.
    let got = unsubscribe(&mut n, t + 400, 1, "*.*.*");
    assert_eq!(error_code(&got), Some((ErrorCode::TooManySubscriptions, Some("r1".into()))));
    // A pattern held already takes no new rule, either way.
    assert!(matches!(&subscribe(&mut n, t + 600, 1, "**")[..], [ServerMsg::Subscribed { .. }]));
    assert!(matches!(&unsubscribe(&mut n, t + 800, 1, "*.*.chat")[..], [ServerMsg::Unsubscribed { .. }]));
}

#[test]
fn a_new_join_starts_from_the_whole_room_again() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    let invite = n.engine.invite(&room).unwrap();
    unsubscribe(&mut n, 0, 2, &format!("room.{room}.presence.typing"));
    // Leave and join again on the same socket.
    n.send(10, 2, &ClientMsg::Leave {});
    n.try_join(20, 2, &room, "b", Some(&invite)).unwrap();
    n.clear();
    n.send(30, 1, &ClientMsg::Typing {});
    assert_eq!(typing(&n.take(2)), [true]);

    // A resumed participant on a new socket starts from the whole room too.
    unsubscribe(&mut n, 40, 1, &format!("room.{room}.presence.typing"));
    n.close(50, 1);
    n.open(60, 5, ConnKind::Guest);
    let resume = Resume { token: ws[0].resume_token.clone(), last_seq: ws[0].seq };
    n.send(60, 5, &ClientMsg::Join { room: room.clone(), name: "a".into(), invite: None, host: None, resume: Some(resume) });
    n.clear();
    n.send(70, 2, &ClientMsg::Typing {});
    assert_eq!(typing(&n.take(5)), [true]);
}

#[test]
fn a_user_of_another_node_filters_at_its_node() {
    let mut net = Net::new(&["a.os", "b.os"]);
    let room = net.room_on_a_with_bob_from_b();
    // dave, a second user of b.os in the same room.
    let b = net.node("b.os");
    b.open(0, 8, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.id.clone(), name: "dave".into(), invite: Some(room.invite.clone()), host: Some("a.os".into()), resume: None };
    b.send(0, 8, &join);
    net.run(0);
    net.node("a.os").clear();
    net.node("b.os").clear();

    let got = unsubscribe(net.node("b.os"), 10, 7, &format!("room.{}.presence.typing", room.id));
    assert_eq!(got, [ServerMsg::Unsubscribed { pattern: format!("room.{}.presence.typing", room.id) }]);
    let got = unsubscribe(net.node("b.os"), 10, 7, &format!("room.{}.chat", room.id));
    assert_eq!(got.len(), 1);
    net.run(10);

    net.node("a.os").send(20, 1, &ClientMsg::Typing {});
    net.run(20);
    net.node("a.os").send(30, 1, &ClientMsg::Chat { text: "to b.os".into() });
    net.run(30);
    let bob = net.node("b.os").take(7);
    let dave = net.node("b.os").take(8);
    assert!(typing(&bob).is_empty() && events(&bob).is_empty(), "{bob:?}");
    assert_eq!(typing(&dave), [true, false]);
    assert!(matches!(&events(&dave)[..], [Event::Chat { message }] if message.text == "to b.os"));
    // Still in the room: other events reach bob.
    net.node("a.os").send(40, 1, &ClientMsg::UpdateSettings { settings: voice_chat_engine::SettingsPatch { name: Some("renamed".into()), ..Default::default() } });
    net.run(40);
    assert!(matches!(&events(&net.node("b.os").take(7))[..], [Event::SettingsChanged { .. }]));
}
