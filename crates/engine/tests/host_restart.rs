//! A command of a user of another node is not lost when the hosting process restarts: the
//! restarted host does not know the participant it names and bounces it back whole; the
//! user's node, which joins its users again, sends it again under the new participant, and
//! holds what its user sends meanwhile until the new welcome.

mod common;
use common::*;
use voice_chat_engine::protocol::encode_client;
use voice_chat_engine::{
    ClientMsg, Config, ConnKind, Engine, ErrorCode, Event, Input, PeerEnvelope, PeerMsg, SeededEntropy, ServerMsg, Welcome,
};

const A: &str = "a.os";
const B: &str = "b.os";
const ALICE: u32 = 1;
const BOB: u32 = 7;

struct World {
    net: Net,
    room: String,
    bob: Welcome,
}

/// Room on A with alice (A's owner) and bob, a user of B.
fn world() -> World {
    let mut net = Net::new(&[A, B]);
    let room = net.room_on_a_with_bob_from_b();
    let bob = net
        .node(B)
        .take(BOB)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::Welcome(w) => Some(w),
            _ => None,
        })
        .expect("bob joined");
    net.node(A).clear();
    World { net, room: room.id, bob }
}

/// A's process restarts from its saved state: new session, no participants. Alice's page
/// joins again at once (as her browser does).
fn restart_host(w: &mut World, now: u64) {
    let saved = w.net.node(A).engine.persisted();
    let restored = Engine::restore(saved, Config::default(), A, Box::new(SeededEntropy::new(99)));
    *w.net.node(A) = Node::from_engine(A, restored);
    let a = w.net.node(A);
    a.open(now, ALICE, ConnKind::Owner);
    let join = ClientMsg::Join { room: w.room.clone(), name: "alice".into(), invite: None, host: None, resume: None };
    a.send(now, ALICE, &join);
    a.clear();
}

fn chat(text: &str, reference: &str) -> String {
    encode_client(&ClientMsg::Chat { text: text.into() }, Some(reference))
}

/// Delivers what `from` has queued for its peers, one hop only (answers stay queued).
fn deliver_once(net: &mut Net, from: &str, now: u64) {
    net.node(from).pump();
    let msgs = std::mem::take(&mut net.node(from).to_peers);
    for (to, envelope) in msgs {
        let request = net.node(from).requests[&(to.clone(), envelope.seq)];
        net.node(&to).peer_message(now, from, &envelope.to_bytes()).expect("peer message accepted");
        net.node(from).input(now, Input::PeerDelivered { request }).unwrap();
    }
}

fn chats_at_host(w: &mut World) -> Vec<String> {
    let snap = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    snap.chat.iter().map(|m| m.text.clone()).collect()
}

fn errors_with_refs(msgs: &[ServerMsg]) -> Vec<(ErrorCode, Option<String>)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Error { code, reference, .. } => Some((*code, reference.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_chat_sent_into_the_restart_reaches_the_host_once_under_the_new_participant() {
    let mut w = world();
    restart_host(&mut w, 1_000);
    w.net.node(B).send_json(1_500, BOB, &chat("sent during the restart", "c9"));
    w.net.run(1_500);

    let msgs = w.net.node(B).take(BOB);
    let welcome = msgs
        .iter()
        .find_map(|m| match m {
            ServerMsg::Welcome(wl) => Some(wl.clone()),
            _ => None,
        })
        .expect("bob's node joined him again");
    assert_ne!(welcome.participant, w.bob.participant);
    assert_eq!(errors_with_refs(&msgs), vec![], "the chat was not refused: {msgs:?}");
    assert_eq!(chats_at_host(&mut w), vec!["sent during the restart".to_string()], "once, not lost and not twice");
    let heard = w.net.node(A).events(ALICE);
    let from = heard.iter().find_map(|(_, e)| match e {
        Event::Chat { message } => Some(message.from.clone()),
        _ => None,
    });
    assert_eq!(from.as_deref(), Some(welcome.participant.as_str()), "alice sees it from bob's new participant");
}

#[test]
fn what_the_user_sends_while_joined_again_waits_for_the_welcome_within_a_bound() {
    let mut w = world();
    restart_host(&mut w, 1_000);
    // B's first command after the restart reaches the new process, which bounces it; that
    // answer shows B the new session, so B joins bob again. The join is not answered yet.
    w.net.node(B).send_json(1_100, BOB, &chat("first", "c1"));
    deliver_once(&mut w.net, B, 1_100);
    deliver_once(&mut w.net, A, 1_100);
    let queued: Vec<&str> = w.net.node(B).to_peers.iter().map(|(_, e)| msg_type(e)).collect();
    assert_eq!(queued, vec!["join"], "only the join goes out while bob is being joined again");

    // Spaced so that bob's own rate limit is not what refuses them.
    let mut t = 1_200;
    for i in 2..=17 {
        w.net.node(B).send_json(t, BOB, &chat(&format!("held {i}"), &format!("c{i}")));
        t += 200;
    }
    w.net.node(B).pump();
    assert_eq!(w.net.node(B).to_peers.len(), 1, "held, not sent under a participant the host does not know");
    let refused = errors_with_refs(&w.net.node(B).take(BOB));
    assert_eq!(refused, vec![(ErrorCode::RateLimited, Some("c17".to_string()))], "the one past the bound is refused, with its ref");

    w.net.run(t);
    let texts = chats_at_host(&mut w);
    let mut expected = vec!["first".to_string()];
    expected.extend((2..=16).map(|i| format!("held {i}")));
    assert_eq!(texts, expected, "every held command reaches the host in order, after the bounced one");
    assert_eq!(errors_with_refs(&w.net.node(B).take(BOB)), vec![]);
}

#[test]
fn the_host_bounces_a_command_for_a_participant_it_does_not_know_and_changes_nothing() {
    let mut w = world();
    let before = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    let forged = PeerEnvelope {
        v: 1,
        session: "someone".into(),
        seq: 1,
        msg: PeerMsg::Control {
            room: w.room.clone(),
            participant: "not-a-participant".into(),
            msg: ClientMsg::Chat { text: "hello?".into() },
            reference: Some("c3".into()),
        },
    };
    w.net.node(A).peer_message(2_000, "c.os", &forged.to_bytes()).unwrap();
    w.net.node(A).pump();
    let out = std::mem::take(&mut w.net.node(A).to_peers);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, "c.os");
    match &out[0].1.msg {
        PeerMsg::Bounced { room, participant, msg, reference } => {
            assert_eq!((room, participant.as_str(), reference.as_deref()), (&w.room, "not-a-participant", Some("c3")));
            assert_eq!(msg, &ClientMsg::Chat { text: "hello?".into() });
        }
        other => panic!("expected bounced, got {other:?}"),
    }
    assert_eq!(w.net.node(A).engine.room_snapshot(&w.room).unwrap(), before);
    assert!(w.net.node(A).take(ALICE).is_empty());
}

#[test]
fn a_bounce_for_the_users_current_participant_answers_not_member() {
    let mut w = world();
    // Learn A's session and next seq to B from a real envelope.
    w.net.node(A).send(3_000, ALICE, &ClientMsg::Chat { text: "hi".into() });
    w.net.node(A).pump();
    let (_, seen) = w.net.node(A).to_peers.last().cloned().expect("an event for B");
    w.net.run(3_000);
    w.net.node(B).clear();
    let bounce = PeerEnvelope {
        v: 1,
        session: seen.session.clone(),
        seq: seen.seq + 1,
        msg: PeerMsg::Bounced {
            room: w.room.clone(),
            participant: w.bob.participant.clone(),
            msg: ClientMsg::Chat { text: "x".into() },
            reference: Some("c4".into()),
        },
    };
    w.net.node(B).peer_message(3_100, A, &bounce.to_bytes()).unwrap();
    w.net.node(B).pump();
    assert_eq!(errors_with_refs(&w.net.node(B).take(BOB)), vec![(ErrorCode::NotMember, Some("c4".to_string()))]);
    assert!(w.net.node(B).to_peers.is_empty(), "not sent again");
}

fn msg_type(e: &PeerEnvelope) -> &'static str {
    match e.msg {
        PeerMsg::Join { .. } => "join",
        PeerMsg::Control { .. } => "control",
        _ => "other",
    }
}
