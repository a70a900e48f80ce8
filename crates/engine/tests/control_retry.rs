//! The engine's retry policy for control requests, with time driven by the test: a failed
//! send is tried again after 1 s, then 2 s; only when every try failed is the peer
//! unreachable and the user whose command was lost told so.

mod common;
use common::*;
use voice_chat_engine::{ClientMsg, Config, ConnKind, ErrorCode, Input, PeerMsg, ServerMsg};

/// b.os proxies user 7 into a room of a.os; both nodes run the default retry policy.
fn linked() -> (Net, String) {
    let mut net = Net::new(&[]);
    net.nodes.insert("a.os".into(), Node::new("a.os"));
    net.nodes.insert("b.os".into(), Node::new("b.os"));
    let room = net.node("a.os").create_room(open_settings());
    let b = net.node("b.os");
    b.open(0, 7, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.id.clone(), name: "bob".into(), invite: Some(room.invite.clone()), host: Some("a.os".into()), resume: None };
    b.send(0, 7, &join);
    net.run(0);
    assert!(net.node("b.os").take(7).iter().any(|m| matches!(m, ServerMsg::Welcome(_))));
    (net, room.id)
}

/// Bob chats; returns the request that carries it and its envelope bytes.
fn chat(net: &mut Net, now: u64) -> (u64, Vec<u8>) {
    let b = net.node("b.os");
    b.send(now, 7, &ClientMsg::Chat { text: "hello".into() });
    let (to, envelope) = b.to_peers.pop().expect("the chat goes to the host");
    assert!(matches!(envelope.msg, PeerMsg::Control { .. }));
    (b.requests[&(to, envelope.seq)], envelope.to_bytes())
}

#[test]
fn a_failed_send_is_tried_again_after_1s_then_2s_then_the_peer_is_unreachable() {
    let (mut net, _) = linked();
    let (request, bytes) = chat(&mut net, 1_000);
    let b = net.node("b.os");
    assert_eq!(Config::default().peer_control_retries, 2);

    b.input(1_100, Input::PeerSendFailed { request }).unwrap();
    assert!(b.take(7).is_empty(), "one failure tells the user nothing");
    assert!(b.engine.poll_timeout().is_some_and(|t| t <= 2_100), "woken for the first retry, after 1 s");
    b.tick(2_099);
    assert!(b.to_peers.is_empty());
    b.tick(2_100);
    let (_, again) = b.to_peers.pop().expect("sent again");
    assert_eq!(again.to_bytes(), bytes, "the same envelope, same seq");

    b.input(2_200, Input::PeerSendFailed { request }).unwrap();
    assert!(b.take(7).is_empty());
    assert!(b.engine.poll_timeout().is_some_and(|t| t <= 4_200), "woken for the second retry, 2 s later");
    b.tick(4_199);
    assert!(b.to_peers.is_empty());
    b.tick(4_200);
    assert_eq!(b.to_peers.pop().expect("sent a third time").1.to_bytes(), bytes);

    b.input(4_300, Input::PeerSendFailed { request }).unwrap();
    let msgs = b.take(7);
    assert!(
        msgs.iter().any(|m| matches!(m, ServerMsg::Error { code: ErrorCode::HostUnreachable, reference: Some(r), .. } if r == "r1")),
        "after every try the sender hears of it: {msgs:?}"
    );
    assert!(msgs.iter().any(|m| matches!(m, ServerMsg::HostStatus { reachable: false, .. })), "{msgs:?}");
    assert_eq!(b.engine.metrics().peer_unreachable, 1);
    b.tick(20_000);
    assert!(b.to_peers.iter().all(|(_, e)| !matches!(e.msg, PeerMsg::Control { .. })), "given up: never sent again");
}

#[test]
fn a_retry_that_gets_through_keeps_the_peer_reachable() {
    let (mut net, room) = linked();
    let (request, bytes) = chat(&mut net, 1_000);
    let b = net.node("b.os");
    b.input(1_100, Input::PeerSendFailed { request }).unwrap();
    b.tick(2_100);
    let (_, again) = b.to_peers.pop().expect("sent again");
    assert_eq!(again.to_bytes(), bytes);
    b.input(2_150, Input::PeerDelivered { request }).unwrap();
    net.node("a.os").peer_message(2_150, "b.os", &bytes).unwrap();
    let b = net.node("b.os");
    b.tick(10_000);
    assert!(b.errors(7).is_empty());
    assert_eq!(b.engine.metrics().peer_unreachable, 0);
    let chat = net.node("a.os").engine.chat_history(&room).unwrap();
    assert_eq!(chat.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["hello"]);
}

#[test]
fn answered_requests_are_forgotten_and_never_sent_again() {
    let (mut net, _) = linked();
    let (request, _) = chat(&mut net, 1_000);
    let b = net.node("b.os");
    b.input(1_050, Input::PeerDelivered { request }).unwrap();
    // A late failure report for an answered request changes nothing.
    b.input(1_100, Input::PeerSendFailed { request }).unwrap();
    b.tick(5_000);
    assert!(b.to_peers.is_empty());
    assert!(b.take(7).is_empty());
}
