//! A user's command that the proxy node cannot deliver to the host is answered with
//! `host_unreachable`, not dropped without a word (regression: found on devnode by
//! crates/app-tests, a chat sent as the link died vanished and its sender never knew).

mod common;
use common::*;
use voice_chat_engine::{ClientMsg, ConnKind, ErrorCode, Input, PeerMsg, ServerMsg};

#[test]
fn an_undeliverable_command_is_answered_with_host_unreachable_and_its_ref() {
    let mut net = Net::new(&["a.os", "b.os"]);
    let room = net.node("a.os").create_room(open_settings());
    let b = net.node("b.os");
    b.open(0, 7, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.id.clone(), name: "bob".into(), invite: Some(room.invite.clone()), host: Some("a.os".into()), resume: None };
    b.send(0, 7, &join);
    net.run(0);
    assert!(net.node("b.os").take(7).iter().any(|m| matches!(m, ServerMsg::Welcome(_))));

    // The link dies as bob chats: the envelope carrying the chat fails.
    let b = net.node("b.os");
    b.send(10, 7, &ClientMsg::Chat { text: "as the link died".into() });
    let (to, envelope) = b.to_peers.pop().expect("the chat goes to the host");
    assert_eq!(to, "a.os");
    assert!(matches!(envelope.msg, PeerMsg::Control { .. }));
    // (Every try of it fails; the nodes of a `Net` give up after the first.)
    let request = b.requests[&(to.clone(), envelope.seq)];
    b.input(1_000, Input::PeerSendFailed { request }).unwrap();
    let msgs = b.take(7);
    let errors: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Error { code, reference, .. } => Some((*code, reference.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(errors, vec![(ErrorCode::HostUnreachable, Some("r1".to_string()))], "{msgs:?}");
    assert!(msgs.iter().any(|m| matches!(m, ServerMsg::HostStatus { reachable: false, .. })), "and the host is shown away: {msgs:?}");
    // Later commands are refused at once while the host is away.
    b.send(1_100, 7, &ClientMsg::Chat { text: "again".into() });
    assert_eq!(b.errors(7), vec![ErrorCode::HostUnreachable]);
}
