//! The engine's one timer table and the policies behind it, driven faster than real time:
//! `poll_timeout` says when to come back, `Input::Timeout` runs what is due.

mod common;
use common::*;
use voice_chat_engine::protocol::Presence;
use voice_chat_engine::{ClientMsg, Config, ConnKind, Input, ServerMsg};

#[test]
fn a_fresh_engine_wakes_for_its_first_socket_check_heartbeat_and_sweep() {
    let mut n = Node::new("a.os");
    let cfg = Config::default();
    // Even with no socket known it asks for the runtime's list (sockets that never sent
    // anything are learnt of only this way), less often than while it has sockets.
    assert_eq!(n.engine.poll_timeout(), Some(cfg.socket_discovery_ms.min(cfg.peer_heartbeat_ms).min(cfg.sweep_interval_ms)));
    n.tick(cfg.socket_discovery_ms);
    assert_eq!(n.socket_checks, 1);
    assert_eq!(n.engine.poll_timeout(), Some(2 * cfg.socket_discovery_ms));
}

#[test]
fn typing_runs_out_at_its_deadline() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    n.join(0, 2, ConnKind::Guest, &room.id, "bob", Some(&room.invite));
    n.send(100, 1, &ClientMsg::Typing {});
    n.clear();
    let until = 100 + Config::default().typing_ttl_ms;
    assert!(n.engine.poll_timeout().is_some_and(|t| t <= until), "woken by then");
    n.tick(until - 1);
    assert!(n.take(2).is_empty());
    n.tick(until);
    assert!(n.take(2).iter().any(|m| matches!(m, ServerMsg::Presence { event: Presence::Typing { typing: false, .. }, .. })));
}

#[test]
fn a_burst_of_changes_is_saved_once_at_the_end_of_the_interval() {
    let mut n = Node::new("a.os");
    let interval = Config::default().save_interval_ms;
    let room = n.create_room(open_settings());
    assert_eq!(n.persist_requests, 1, "the first change is saved at once");
    n.join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    for (i, t) in [10u64, 20, 30].iter().enumerate() {
        n.send(*t, 1, &ClientMsg::Chat { text: format!("line {i}") });
    }
    assert_eq!(n.persist_requests, 1, "a burst waits");
    assert!(n.engine.poll_timeout().is_some_and(|t| t <= interval), "woken by then");
    n.tick(interval - 1);
    assert_eq!(n.persist_requests, 1);
    n.tick(interval);
    assert_eq!(n.persist_requests, 2, "one save for the burst");
    let saved = n.last_persisted.as_ref().unwrap();
    assert_eq!(saved.rooms[0].chat.len(), 3, "with every change of the burst");
    n.tick(10 * interval);
    assert_eq!(n.persist_requests, 2, "nothing changed, nothing saved");
    n.send(10 * interval, 1, &ClientMsg::Chat { text: "later".into() });
    assert_eq!(n.persist_requests, 3, "a change after a quiet interval is saved at once");
}

#[test]
fn the_engine_asks_for_the_live_sockets_and_lets_go_of_dropped_ones() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    n.join(0, 2, ConnKind::Guest, &room.id, "bob", Some(&room.invite));
    let every = Config::default().socket_check_ms;
    assert_eq!(n.engine.poll_timeout(), Some(every));
    n.tick(every);
    assert_eq!(n.socket_checks, 1);
    n.clear();
    // The runtime dropped bob's socket without a word.
    n.input(every, Input::LiveSockets { conns: &[1] }).unwrap();
    assert!(!n.engine.is_open(2));
    assert!(n.engine.is_open(1));
    let events = n.events(1);
    assert!(events.iter().any(|(_, e)| matches!(e, voice_chat_engine::Event::Reconnecting { .. })), "{events:?}");
    n.tick(2 * every);
    assert_eq!(n.socket_checks, 2, "asked again while sockets are open");
}

#[test]
fn an_unanswered_sync_is_asked_again_after_a_heartbeat_interval() {
    let mut net = Net::new(&["a.os", "b.os"]);
    net.room_on_a_with_bob_from_b();
    // An event of a.os is lost: the next one shows b.os a gap.
    net.node("a.os").send(10, 1, &ClientMsg::Chat { text: "lost".into() });
    net.node("a.os").to_peers.clear();
    net.node("a.os").send(20, 1, &ClientMsg::Chat { text: "seen".into() });
    let a = net.node("a.os");
    let (to, envelope) = a.to_peers.pop().unwrap();
    assert_eq!(to, "b.os");
    let b = net.node("b.os");
    b.peer_message(20, "a.os", &envelope.to_bytes()).unwrap();
    let syncs = |b: &mut Node| b.to_peers.drain(..).filter(|(_, e)| matches!(e.msg, voice_chat_engine::PeerMsg::Sync { .. })).count();
    assert_eq!(syncs(b), 1);
    let retry = 20 + Config::default().peer_heartbeat_ms;
    assert!(b.engine.poll_timeout().is_some_and(|t| t <= retry));
    b.tick(retry - 1);
    assert_eq!(syncs(b), 0);
    b.tick(retry);
    assert_eq!(syncs(b), 1, "asked again");
}
