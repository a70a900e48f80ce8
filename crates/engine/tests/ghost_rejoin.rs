//! A node whose users were removed as ghosts while it was away learns so when it comes back
//! and joins its still-connected users again (regression: found on devnode by
//! crates/app-tests; the host refused the returning node's sync because it no longer had
//! participants there, so its user stayed in a room that had forgotten it).

mod common;
use common::*;
use voice_chat_engine::{ClientMsg, Event, ServerMsg};

#[test]
fn a_ghosted_node_catches_up_and_rejoins_its_user() {
    let mut net = Net::new(&["a.os", "b.os"]);
    let room = net.room_on_a_with_bob_from_b();
    let first = match net.node("b.os").take(7).into_iter().find(|m| matches!(m, ServerMsg::Welcome(_))) {
        Some(ServerMsg::Welcome(w)) => w.participant,
        other => panic!("no welcome: {other:?}"),
    };

    // Each side loses the other; past the presence timeout the host removes bob's user.
    // (The link dies: the next message each sends to the other fails every try.)
    net.down = vec!["a.os".into(), "b.os".into()];
    net.node("a.os").send(1_000, 1, &ClientMsg::Typing {});
    net.node("b.os").send(1_000, 7, &ClientMsg::Typing {});
    net.run(1_000);
    net.down.clear();
    net.node("a.os").send(95_000, 1, &ClientMsg::Ping { t: 0.0 });
    net.node("a.os").tick(95_000);
    net.node("a.os").pump();
    assert!(net.node("a.os").events(1).iter().any(|(_, e)| matches!(e, Event::GhostRemoved { participant } if *participant == first)));
    net.node("a.os").clear();

    // Bob's user is still connected to b.os; its heartbeat probe reaches a.os again.
    net.node("b.os").send(95_000, 7, &ClientMsg::Ping { t: 0.0 });
    net.node("b.os").tick(95_000);
    net.node("b.os").pump();
    net.run(95_000);
    let msgs = net.node("b.os").take(7);
    let again = msgs.iter().find_map(|m| match m {
        ServerMsg::Welcome(w) => Some(w.clone()),
        _ => None,
    });
    let again = again.unwrap_or_else(|| panic!("b.os joins its user again: {msgs:?}"));
    assert_ne!(again.participant, first);
    let snap = net.node("a.os").engine.room_snapshot(&room.id).unwrap();
    assert!(snap.participants.iter().any(|p| p.id == again.participant && p.node == "b.os" && !p.reconnecting));
}
