//! The `node.rooms` topic (docs/protocol.md, "Subscriptions", "The lobby: node.rooms"): the
//! owner's socket watches the rooms of this node without joining one, a guest never sees it,
//! updates are coalesced per room, and such a socket is exempt from the join deadline.

mod common;
use common::*;
use voice_chat_engine::{ClientMsg, ConnKind, ErrorCode, LobbyRoom, Presence, ServerMsg, Settings};

/// What a socket got of `node.rooms`, in order.
#[derive(Debug, Clone, PartialEq)]
enum Lobby {
    Rooms(Vec<LobbyRoom>),
    Update(LobbyRoom),
    Closed(String),
}

fn lobby(msgs: &[ServerMsg]) -> Vec<Lobby> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Rooms { rooms } => Some(Lobby::Rooms(rooms.clone())),
            ServerMsg::RoomUpdate { room } => Some(Lobby::Update(room.clone())),
            ServerMsg::RoomClosed { id } => Some(Lobby::Closed(id.clone())),
            _ => None,
        })
        .collect()
}

/// The updates in `msgs` as (participants, names of who speaks).
fn updates(msgs: &[ServerMsg]) -> Vec<(u32, Vec<String>)> {
    lobby(msgs)
        .into_iter()
        .filter_map(|l| match l {
            Lobby::Update(r) => Some((r.participants, r.speaking.into_iter().map(|s| s.name).collect())),
            _ => None,
        })
        .collect()
}

fn subscribe(n: &mut Node, now: u64, conn: u32, pattern: &str) -> Vec<ServerMsg> {
    n.send(now, conn, &ClientMsg::Subscribe { pattern: pattern.into() });
    n.take(conn)
}

/// Runs every timer due up to `to` (as the shell would), at its time.
fn advance(n: &mut Node, to: u64) {
    while let Some(at) = n.engine.poll_timeout().filter(|at| *at <= to) {
        n.tick(at);
    }
}

/// Three loud voice frames from `conn` from `t` on: its speaking indicator turns on.
fn speak(n: &mut Node, t: u64, conn: u32, stream: u16, seq: &mut u32) {
    for i in 0..3 {
        *seq += 1;
        n.binary(t + i * 20, conn, &mut frame(stream, *seq, 10)).expect("relayed");
    }
}

fn settings(name: &str) -> Settings {
    Settings { name: name.into(), ..open_settings() }
}

/// An owner's socket that subscribed to `node.rooms` at `now`: the answer and the list.
fn watcher(n: &mut Node, now: u64, conn: u32) -> Vec<ServerMsg> {
    n.open(now, conn, ConnKind::Owner);
    subscribe(n, now, conn, "node.rooms")
}

#[test]
fn the_owner_sees_a_room_created_joined_speaking_left_and_closed() {
    let mut n = Node::new("a.os");
    let got = watcher(&mut n, 0, 1);
    assert!(matches!(&got[0], ServerMsg::Subscribed { pattern, topics } if pattern == "node.rooms" && topics == &["node.rooms"]), "{got:?}");
    assert_eq!(lobby(&got), [Lobby::Rooms(vec![])], "the list right after subscribed: empty");

    let room = n.engine.create_room(100, settings("Lounge")).unwrap();
    n.pump();
    let created = lobby(&n.take(1));
    let [Lobby::Update(r)] = &created[..] else { panic!("{created:?}") };
    assert_eq!((r.id.as_str(), r.name.as_str(), r.participants, r.capacity, r.guests_allowed, r.created_ms), (room.id.as_str(), "Lounge", 0, 50, true, 100));
    assert!(r.speaking.is_empty());

    let g2 = n.join(1_000, 2, ConnKind::Guest, &room.id, "Gina", Some(&room.invite));
    assert_eq!(updates(&n.take(1)), [(1, vec![])]);
    n.join(2_000, 3, ConnKind::Guest, &room.id, "Hugo", Some(&room.invite));
    assert_eq!(updates(&n.take(1)), [(2, vec![])]);

    let mut seq = 0;
    speak(&mut n, 3_000, 2, g2.stream, &mut seq);
    let on = lobby(&n.take(1));
    let [Lobby::Update(r)] = &on[..] else { panic!("{on:?}") };
    assert_eq!(r.speaking.len(), 1);
    assert_eq!((r.speaking[0].participant.as_str(), r.speaking[0].name.as_str(), r.speaking[0].stream), (g2.participant.as_str(), "Gina", g2.stream));
    // No more frames: the indicator runs out after the hang-over.
    advance(&mut n, 4_000);
    assert_eq!(updates(&n.take(1)), [(2, vec![])]);

    n.send(5_000, 3, &ClientMsg::Leave {});
    assert_eq!(updates(&n.take(1)), [(1, vec![])]);
    n.engine.close_room(6_000, &room.id).unwrap();
    n.pump();
    assert_eq!(lobby(&n.take(1)), [Lobby::Closed(room.id.clone())]);

    // A second subscriber gets the list as it is now.
    n.engine.create_room(7_000, settings("Second")).unwrap();
    n.pump();
    let got = watcher(&mut n, 7_000, 4);
    let [Lobby::Rooms(rooms)] = &lobby(&got)[..] else { panic!("{got:?}") };
    assert_eq!(rooms.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["Second"]);
}

#[test]
fn guests_never_get_node_rooms() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    n.join(0, 2, ConnKind::Guest, &room.id, "Gina", Some(&room.invite));
    n.open(0, 3, ConnKind::Guest);
    n.clear();
    for (conn, pattern) in [(2, "node.rooms"), (2, "node.*"), (3, "node.rooms"), (3, "**")] {
        let got = subscribe(&mut n, 10, conn, pattern);
        assert!(matches!(&got[..], [ServerMsg::Error { code: ErrorCode::Forbidden, .. }]), "{conn} {pattern}: {got:?}");
    }
    // `**` in its room: its room's topics and nothing of node.rooms.
    let got = subscribe(&mut n, 10, 2, "**");
    let ServerMsg::Subscribed { topics, .. } = &got[0] else { panic!("{got:?}") };
    assert!(!topics.iter().any(|t| t.starts_with("node")), "{topics:?}");
    assert!(lobby(&got).is_empty());

    // A room created and joined: the owner's watcher hears of it (the marker), the guests not.
    watcher(&mut n, 20, 1);
    let other = n.engine.create_room(1_000, settings("Other")).unwrap();
    n.pump();
    n.join(2_000, 4, ConnKind::Guest, &room.id, "Hugo", Some(&room.invite));
    assert_eq!(lobby(&n.take(1)).len(), 2, "created, then the join");
    assert!(lobby(&n.take(2)).is_empty());
    assert!(lobby(&n.take(3)).is_empty());
    assert!(lobby(&n.take(4)).is_empty());
    assert_ne!(other.id, room.id);
}

#[test]
fn a_watching_owner_socket_outlives_the_join_deadline_others_do_not() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    watcher(&mut n, 0, 1);
    n.open(0, 2, ConnKind::Owner);
    n.open(0, 3, ConnKind::Guest);
    subscribe(&mut n, 0, 3, "node.rooms");
    // An owner's socket that watches, joins a room and leaves it keeps watching.
    watcher(&mut n, 0, 4);
    n.try_join(1, 4, &room.id, "Owner", None).unwrap();
    n.send(2, 4, &ClientMsg::Leave {});
    n.clear();

    advance(&mut n, 9_999);
    assert!(n.closed.is_empty());
    advance(&mut n, 10_000);
    assert_eq!(n.closed, [2, 3], "the owner's socket without a subscription and the guest's");
    assert_eq!(n.errors(2), [ErrorCode::JoinTimeout]);
    advance(&mut n, 60_000);
    assert_eq!(n.closed, [2, 3]);
    assert!(n.engine.is_open(1) && n.engine.is_open(4));

    // Still watching: a change reaches both (after the coalesced update of the leave).
    assert_eq!(updates(&n.take(1)), [(0, vec![])]);
    n.take(4);
    n.engine.create_room(60_000, settings("Late")).unwrap();
    n.pump();
    assert_eq!(lobby(&n.take(1)).len(), 1);
    assert_eq!(lobby(&n.take(4)).len(), 1);

    // Nothing subscribed any more: the deadline counts from then.
    n.send(60_000, 1, &ClientMsg::Unsubscribe { pattern: "node.rooms".into() });
    advance(&mut n, 69_999);
    assert_eq!(n.closed, [2, 3]);
    advance(&mut n, 70_000);
    assert_eq!(n.closed, [2, 3, 1]);
    assert!(n.engine.is_open(4));
}

#[test]
fn a_flood_of_speaking_changes_is_coalesced_per_room() {
    // Every frame toggles the indicator: on at one loud frame, off at the next quiet one.
    let cfg = voice_chat_engine::Config { speaking_on_frames: 1, speaking_hangover_ms: 20, ..voice_chat_engine::Config::default() };
    let mut n = Node::with_config("a.os", cfg);
    let room = n.create_room(open_settings());
    let g = n.join(0, 2, ConnKind::Guest, &room.id, "Gina", Some(&room.invite));
    n.join(0, 3, ConnKind::Guest, &room.id, "Hugo", Some(&room.invite));
    watcher(&mut n, 0, 1);
    n.clear();

    let end = 10_000u64;
    let mut t = 1_000;
    let mut seq = 0;
    while t < end {
        seq += 1;
        let level = if seq % 2 == 1 { 10 } else { 127 };
        n.binary(t, 2, &mut frame(g.stream, seq, level)).expect("relayed");
        advance(&mut n, t);
        t += 20;
    }
    advance(&mut n, end + 1_000);
    let presence = n.take(3).iter().filter(|m| matches!(m, ServerMsg::Presence { event: Presence::Speaking { .. }, .. })).count();
    assert!(presence >= 400, "the flood: {presence} speaking changes");
    let got = updates(&n.take(1));
    // At most one per 250 ms over the 9 s, plus the one when it stops.
    assert!(got.len() <= 9_000 / 250 + 2, "{} updates", got.len());
    assert!(got.len() >= 2, "{got:?}");
    assert_eq!(got.last().unwrap(), &(2, vec![]), "the last update is the state at the end: nobody speaks");
}

#[test]
fn unsubscribe_stops_node_rooms() {
    let mut n = Node::new("a.os");
    watcher(&mut n, 0, 1);
    watcher(&mut n, 0, 2);
    n.send(10, 1, &ClientMsg::Unsubscribe { pattern: "node.rooms".into() });
    assert!(matches!(&n.take(1)[..], [ServerMsg::Unsubscribed { .. }]));
    n.engine.create_room(100, open_settings()).unwrap();
    n.pump();
    assert_eq!(lobby(&n.take(2)).len(), 1, "the marker: the other watcher got it");
    assert!(lobby(&n.take(1)).is_empty());
}

#[test]
fn the_owner_watches_a_rooms_speaking_without_joining() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    let g = n.join(0, 2, ConnKind::Guest, &room.id, "Gina", Some(&room.invite));
    n.open(0, 1, ConnKind::Owner);
    let got = subscribe(&mut n, 0, 1, &format!("room.{}.presence.speaking", room.id));
    assert!(matches!(&got[..], [ServerMsg::Subscribed { topics, .. }] if topics.len() == 1), "{got:?}");
    let mut seq = 0;
    speak(&mut n, 100, 2, g.stream, &mut seq);
    let got = n.take(1);
    assert!(
        matches!(&got[..], [ServerMsg::Presence { event: Presence::Speaking { speaking: true, participant }, .. }] if *participant == g.participant),
        "{got:?}"
    );
}
