//! Rooms across nodes: real engines on both sides, outputs of one fed to the other.

mod common;
use common::*;
use voice_chat_engine::audio::{decode_frame, encode_ack};
use voice_chat_engine::protocol::{LeaveReason, Resume};
use voice_chat_engine::{
    ClientMsg, Config, ConnKind, DropReason, Engine, ErrorCode, Event, PeerEnvelope, PeerMsg, PeerRefusal, Role,
    SeededEntropy, ServerMsg, Welcome,
};

const A: &str = "a.os";
const B: &str = "b.os";
const C: &str = "c.os";

struct World {
    net: Net,
    room: String,
    invite: String,
    host_local: Welcome,
}

/// Room on A with A's owner in it (conn 1).
fn world(extra: &[&str]) -> World {
    let mut names = vec![A, B];
    names.extend_from_slice(extra);
    let mut net = Net::new(&names);
    let room = net.node(A).create_room(open_settings());
    let host_local = net.node(A).join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    net.node(A).clear();
    World { net, room: room.id, invite: room.invite, host_local }
}

fn remote_join(w: &mut World, node: &str, conn: u32, name: &str, now: u64) -> Result<Welcome, ErrorCode> {
    let n = w.net.node(node);
    n.open(now, conn, ConnKind::Owner);
    let msg = ClientMsg::Join { room: w.room.clone(), name: name.into(), invite: Some(w.invite.clone()), host: Some(A.into()), resume: None };
    n.send(now, conn, &msg);
    w.net.run(now);
    for m in w.net.node(node).take(conn) {
        match m {
            ServerMsg::Welcome(wl) => return Ok(wl),
            ServerMsg::Error { code, .. } => return Err(code),
            _ => {}
        }
    }
    panic!("no answer to remote join")
}

#[test]
fn user_of_another_node_joins_through_its_own_node() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    assert_eq!(bob.host, A);
    let snap = bob.snapshot.as_ref().unwrap();
    assert_eq!(snap.participants.len(), 2);
    let me = snap.participants.iter().find(|p| p.id == bob.participant).unwrap();
    assert_eq!((me.node.as_str(), me.guest), (B, false));
    assert!(matches!(&w.net.node(A).events(1)[..], [(_, Event::Joined { participant })] if participant.node == B));
}

#[test]
fn remote_join_needs_the_invite_the_first_time() {
    let mut w = world(&[]);
    w.invite = "wrong".into();
    assert_eq!(remote_join(&mut w, B, 7, "bob", 0), Err(ErrorCode::BadInvite));
    // Nothing stays behind on either side.
    assert_eq!(w.net.node(A).engine.room_snapshot(&w.room).unwrap().participants.len(), 1);
    assert_eq!(w.net.node(B).engine.metrics().proxied_rooms, 0);
    w.net.node(B).send(0, 7, &ClientMsg::Chat { text: "x".into() });
    assert_eq!(w.net.node(B).errors(7), vec![ErrorCode::NotJoined]);
}

#[test]
fn events_go_once_per_peer_and_fan_out_there() {
    let mut w = world(&[]);
    remote_join(&mut w, B, 7, "bob", 0).unwrap();
    remote_join(&mut w, B, 8, "bob-tab2", 0).unwrap();
    w.net.node(B).clear();
    w.net.node(A).send(10, 1, &ClientMsg::Chat { text: "hello nodes".into() });
    let to_b: Vec<&PeerEnvelope> = w.net.node(A).to_peers.iter().filter(|(n, _)| n == B).map(|(_, e)| e).collect();
    assert_eq!(to_b.len(), 1, "one event message per peer, not per participant");
    w.net.run(10);
    for conn in [7, 8] {
        let ev = w.net.node(B).events(conn);
        assert!(matches!(&ev[..], [(_, Event::Chat { message })] if message.text == "hello nodes"), "{ev:?}");
    }
}

#[test]
fn remote_users_control_messages_reach_the_host() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.node(A).clear();
    w.net.node(B).clear();
    w.net.node(B).send(5, 7, &ClientMsg::Chat { text: "from b".into() });
    w.net.run(5);
    assert!(matches!(&w.net.node(A).events(1)[..], [(_, Event::Chat { message })] if message.from == bob.participant));
    assert!(matches!(&w.net.node(B).events(7)[..], [(_, Event::Chat { .. })]));
    // A refused command comes back as a typed error to that user only.
    w.net.node(B).send(6, 7, &ClientMsg::CloseRoom {});
    w.net.run(6);
    assert_eq!(w.net.node(B).errors(7), vec![ErrorCode::Forbidden]);
    assert!(w.net.node(A).events(1).is_empty());
}

#[test]
fn audio_crosses_nodes_but_never_returns_to_its_sender_node() {
    let mut w = world(&[C]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    remote_join(&mut w, B, 8, "bob2", 0).unwrap();
    let carol = remote_join(&mut w, C, 9, "carol", 0).unwrap();
    let _ = carol;
    // Bob speaks: his node relays locally to bob2 and sends one copy to A.
    let mut f = frame(bob.stream, 1, 20);
    let relay = w.net.node(B).binary(20, 7, &mut f).unwrap();
    assert_eq!((&relay.conns[..], relay.peer_copies), (&[8][..], 1));
    w.net.flush_audio(20);
    let got: Vec<(String, u32)> = w.net.audio.iter().map(|(n, c, _)| (n.clone(), *c)).collect();
    assert!(got.contains(&(A.to_string(), 1)));
    assert!(got.contains(&(C.to_string(), 9)), "A forwards to other peers: {got:?}");
    w.net.audio.clear();
    w.net.flush_audio(40);
    assert!(w.net.audio.is_empty(), "A sent nothing back to B: {:?}", w.net.audio);
    // Alice speaks: both of B's users and C's get it, with her stream id.
    let mut f = frame(0, 1, 20);
    let relay = w.net.node(A).binary(60, 1, &mut f).unwrap();
    assert_eq!(relay.peer_copies, 2);
    w.net.flush_audio(60);
    let mut to: Vec<(String, u32)> = w.net.audio.iter().map(|(n, c, _)| (n.clone(), *c)).collect();
    to.sort();
    assert_eq!(to, vec![(B.into(), 7), (B.into(), 8), (C.into(), 9)]);
    for (_, _, bytes) in &w.net.audio {
        assert_eq!(decode_frame(bytes).unwrap().stream_id, w.host_local.stream);
    }
}

#[test]
fn muted_remote_users_are_dropped_on_their_own_node() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.node(A).send(1, 1, &ClientMsg::Mute { participant: bob.participant.clone() });
    w.net.run(1);
    assert_eq!(w.net.node(B).binary(2, 7, &mut frame(bob.stream, 1, 20)), Err(DropReason::Muted));
    w.net.node(A).send(3, 1, &ClientMsg::SetRole { participant: bob.participant.clone(), role: Role::Viewer });
    w.net.node(A).send(3, 1, &ClientMsg::Unmute { participant: bob.participant.clone() });
    w.net.run(3);
    assert_eq!(w.net.node(B).binary(4, 7, &mut frame(bob.stream, 2, 20)), Err(DropReason::NotAllowed));
}

#[test]
fn host_drops_frames_a_peer_sends_for_streams_it_does_not_own() {
    let mut w = world(&[]);
    remote_join(&mut w, B, 7, "bob", 0).unwrap();
    // A batch from B claiming Alice's (local) stream.
    let mut batch = Vec::new();
    voice_chat_engine::audio::append_room_marker(&w.room, &mut batch);
    batch.extend_from_slice(&frame(w.host_local.stream, 1, 10));
    let delivered = w.net.node(A).peer_audio(5, B, &mut batch);
    assert!(delivered.is_empty(), "must not deliver: {delivered:?}");
    assert_eq!(w.net.node(A).engine.metrics().frames_dropped.not_member, 1);
}

#[test]
fn control_from_a_node_that_never_joined_is_refused_and_changes_nothing() {
    let mut w = world(&[C]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    let seq = w.net.node(A).engine.room_snapshot(&w.room).unwrap().seq;
    // C pretends to be Bob.
    let forged = PeerEnvelope::new("c-session", 1, PeerMsg::Control {
        room: w.room.clone(),
        participant: bob.participant.clone(),
        msg: ClientMsg::Leave {},
        reference: None,
    });
    w.net.node(A).peer_message(9, C, &forged.to_bytes()).unwrap();
    w.net.node(A).pump();
    let replies: Vec<PeerMsg> = w.net.node(A).to_peers.drain(..).map(|(_, e)| e.msg).collect();
    // Bounced back whole (C's node answers its user `not_member`); nothing of Bob changes.
    assert!(matches!(&replies[..], [PeerMsg::Bounced { msg: ClientMsg::Leave {}, .. }]), "{replies:?}");
    assert_eq!(w.net.node(A).engine.room_snapshot(&w.room).unwrap().seq, seq);
    // A room-level sync from a non-member is refused too.
    let sync = PeerEnvelope::new("c-session", 2, PeerMsg::Sync { room: w.room.clone(), last_seq: 0 });
    w.net.node(A).peer_message(9, C, &sync.to_bytes()).unwrap();
    w.net.node(A).pump();
    let replies: Vec<PeerMsg> = w.net.node(A).to_peers.drain(..).map(|(_, e)| e.msg).collect();
    assert!(matches!(&replies[..], [PeerMsg::SyncRefused { error, .. }] if error.code == ErrorCode::NotMember), "nothing of the room: {replies:?}");
    assert_eq!(w.net.node(A).engine.metrics().peer_messages_refused, 1);
}

#[test]
fn bad_peer_messages_are_refused() {
    let mut w = world(&[]);
    let a = w.net.node(A);
    assert!(matches!(a.peer_message(0, B, b"nope"), Err(PeerRefusal::Malformed(_))));
    let mut env = PeerEnvelope::new("s", 1, PeerMsg::Heartbeat { rooms: vec![] });
    env.v = 9;
    assert_eq!(a.peer_message(0, B, &env.to_bytes()), Err(PeerRefusal::UnsupportedVersion(9)));
    let env = PeerEnvelope::new("s", 1, PeerMsg::Heartbeat { rooms: vec![] });
    assert_eq!(a.peer_message(0, B, &env.to_bytes()), Ok(()));
    assert_eq!(a.peer_message(0, B, &env.to_bytes()), Err(PeerRefusal::Duplicate));
    assert_eq!(a.peer_message(0, B, &vec![b' '; 2 << 20]), Err(PeerRefusal::TooLarge));
}

#[test]
fn moderation_of_a_remote_user_reaches_its_socket() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.node(A).send(1, 1, &ClientMsg::Kick { participant: bob.participant.clone() });
    w.net.run(1);
    let ev = w.net.node(B).events(7);
    assert!(matches!(&ev[..], [(_, Event::Left { reason: LeaveReason::Kicked, .. })]));
    assert_eq!(w.net.node(B).closed, vec![7]);
    assert_eq!(w.net.node(B).engine.metrics().proxied_rooms, 0);
}

#[test]
fn remote_leave_and_socket_drop_with_resume() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.node(A).clear();
    // Socket drops: A shows Bob reconnecting.
    w.net.node(B).close(10, 7);
    w.net.run(10);
    assert!(matches!(&w.net.node(A).events(1)[..], [(_, Event::Reconnecting { participant })] if *participant == bob.participant));
    // Bob's browser reconnects to B and resumes.
    let b = w.net.node(B);
    b.open(20, 17, ConnKind::Owner);
    let resume = Some(Resume { token: bob.resume_token.clone(), last_seq: bob.seq });
    b.send(20, 17, &ClientMsg::Join { room: w.room.clone(), name: "bob".into(), invite: None, host: Some(A.into()), resume });
    w.net.run(20);
    let msgs = w.net.node(B).take(17);
    let ServerMsg::Welcome(again) = &msgs[0] else { panic!("{msgs:?}") };
    assert!(again.resumed);
    assert_eq!(again.participant, bob.participant);
    assert!(msgs[1..].iter().any(|m| matches!(m, ServerMsg::Event { event: Event::Reconnected { .. }, .. })), "{msgs:?}");
    // Leaving removes at the host.
    w.net.node(B).send(30, 17, &ClientMsg::Leave {});
    w.net.run(30);
    assert_eq!(w.net.node(A).engine.room_snapshot(&w.room).unwrap().participants.len(), 1);
}

#[test]
fn unreachable_peer_users_reconnect_then_time_out() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.down.push(B.into());
    // The next event A sends to B fails: Bob is reconnecting.
    w.net.node(A).send(1_000, 1, &ClientMsg::Chat { text: "anyone?".into() });
    w.net.run(1_000);
    let snap = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    assert!(snap.participants.iter().find(|p| p.id == bob.participant).unwrap().reconnecting);
    // No audio goes to an unreachable peer.
    let relay = w.net.node(A).binary(1_020, 1, &mut frame(0, 1, 20)).unwrap();
    assert_eq!(relay.peer_copies, 0);
    // Sweeps every 30 s: at 60 s Bob was lost 59 s ago, at 90 s he is removed.
    for t in (30_000..=91_000).step_by(1_000) {
        w.net.node(A).send(t, 1, &ClientMsg::Ping { t: 0.0 });
        w.net.node(A).tick(t);
        w.net.run(t);
    }
    let snap = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    assert!(snap.participants.iter().all(|p| p.id != bob.participant), "ghost removed");
}

#[test]
fn peer_coming_back_resumes_its_memberships_and_catches_up() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.down.push(B.into());
    w.net.node(A).send(1_000, 1, &ClientMsg::Chat { text: "missed 1".into() });
    w.net.run(1_000);
    w.net.node(A).send(1_100, 1, &ClientMsg::Chat { text: "missed 2".into() });
    w.net.run(1_100);
    // B's heartbeat fails too: B tells its user the host is unreachable.
    w.net.node(B).send(9_000, 7, &ClientMsg::Ping { t: 0.0 });
    w.net.node(B).tick(10_000);
    w.net.run(10_000);
    let msgs = w.net.node(B).take(7);
    assert!(msgs.iter().any(|m| matches!(m, ServerMsg::HostStatus { reachable: false, .. })), "{msgs:?}");
    // Network heals; B's next heartbeat gets through.
    w.net.down.clear();
    w.net.node(B).send(19_000, 7, &ClientMsg::Ping { t: 0.0 });
    w.net.node(B).tick(20_000);
    w.net.run(20_000);
    let snap = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    assert!(!snap.participants.iter().find(|p| p.id == bob.participant).unwrap().reconnecting);
    let msgs = w.net.node(B).take(7);
    assert!(msgs.iter().any(|m| matches!(m, ServerMsg::HostStatus { reachable: true, .. })), "{msgs:?}");
    // Bob's client gets exactly the missed events, in order, via since(seq).
    let seqs: Vec<u64> = msgs.iter().filter_map(|m| match m { ServerMsg::Event { seq, .. } => Some(*seq), _ => None }).collect();
    assert!(seqs.windows(2).all(|p| p[1] == p[0] + 1), "{seqs:?}");
    assert_eq!(seqs.last().copied(), Some(w.net.node(A).engine.room_snapshot(&w.room).unwrap().seq));
    let texts: Vec<String> = msgs
        .iter()
        .filter_map(|m| match m { ServerMsg::Event { event: Event::Chat { message }, .. } => Some(message.text.clone()), _ => None })
        .collect();
    assert_eq!(texts, vec!["missed 1".to_string(), "missed 2".to_string()]);
    assert!(!msgs.iter().any(|m| matches!(m, ServerMsg::Snapshot { .. })));
    // And B's mirror equals A's state.
    w.net.node(B).send(20_100, 7, &ClientMsg::Chat { text: "back".into() });
    w.net.run(20_100);
    assert!(w.net.node(A).events(1).iter().any(|(_, e)| matches!(e, Event::Chat { message } if message.text == "back")));
}

#[test]
fn host_restart_makes_the_peer_join_its_users_again() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    // A restarts from its saved state (new session, no participants).
    let saved = w.net.node(A).engine.persisted();
    let restored = Engine::restore(saved, Config::default(), A, Box::new(SeededEntropy::new(99)));
    *w.net.node(A) = Node::from_engine(A, restored);
    // B's heartbeat reaches the new A; the answer shows the new session.
    w.net.node(B).send(9_000, 7, &ClientMsg::Ping { t: 0.0 });
    w.net.node(B).tick(10_000);
    w.net.run(10_000);
    let msgs = w.net.node(B).take(7);
    let welcome = msgs.iter().find_map(|m| match m { ServerMsg::Welcome(w) => Some(w.clone()), _ => None }).expect("joined again");
    assert_eq!(welcome.room, w.room);
    assert_ne!(welcome.participant, bob.participant);
    let snap = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    assert_eq!(snap.participants.iter().filter(|p| p.node == B).count(), 1);
}

#[test]
fn peer_restart_leaves_its_users_reconnecting_until_they_resume() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    *w.net.node(B) = Node::from_engine(B, Engine::new(Config::default(), B, Box::new(SeededEntropy::new(1234))));
    let b = w.net.node(B);
    b.open(5, 70, ConnKind::Owner);
    let resume = Some(Resume { token: bob.resume_token.clone(), last_seq: bob.seq });
    b.send(5, 70, &ClientMsg::Join { room: w.room.clone(), name: "bob".into(), invite: None, host: Some(A.into()), resume });
    w.net.run(5);
    let msgs = w.net.node(B).take(70);
    assert!(matches!(&msgs[0], ServerMsg::Welcome(wl) if wl.resumed && wl.participant == bob.participant), "{msgs:?}");
    let ev = w.net.node(A).events(1);
    assert!(ev.iter().any(|(_, e)| matches!(e, Event::Reconnecting { .. })));
    assert!(ev.iter().any(|(_, e)| matches!(e, Event::Reconnected { .. })));
}

#[test]
fn proxied_audio_respects_flow_control() {
    let mut w = world(&[]);
    remote_join(&mut w, B, 7, "bob", 0).unwrap();
    for seq in 0..30u32 {
        w.net.node(A).binary(seq as u64 * 20, 1, &mut frame(0, seq, 20)).unwrap();
        w.net.flush_audio(seq as u64 * 20);
    }
    assert_eq!(w.net.audio.len(), 24);
    w.net.node(B).binary(700, 7, &mut encode_ack(24)).unwrap();
    w.net.node(A).binary(720, 1, &mut frame(0, 31, 20)).unwrap();
    w.net.flush_audio(720);
    assert_eq!(w.net.audio.len(), 25);
}

#[test]
fn closing_the_room_ends_remote_memberships() {
    let mut w = world(&[]);
    remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.node(A).engine.close_room(1, &w.room).unwrap();
    w.net.run(1);
    assert!(matches!(w.net.node(B).events(7).last(), Some((_, Event::Closed { .. }))));
    assert_eq!(w.net.node(B).engine.metrics().proxied_rooms, 0);
    w.net.node(B).send(2, 7, &ClientMsg::Chat { text: "x".into() });
    assert_eq!(w.net.node(B).errors(7), vec![ErrorCode::NotJoined]);
}

#[test]
fn a_lost_event_makes_the_peer_sync_before_forwarding_more() {
    let mut w = world(&[]);
    remote_join(&mut w, B, 7, "bob", 0).unwrap();
    w.net.node(B).clear();
    // One event to B is lost on the way.
    w.net.node(A).send(1, 1, &ClientMsg::Chat { text: "lost".into() });
    w.net.node(A).to_peers.clear();
    w.net.node(A).send(2, 1, &ClientMsg::Chat { text: "after".into() });
    w.net.run(2);
    let texts: Vec<String> = w
        .net
        .node(B)
        .events(7)
        .into_iter()
        .filter_map(|(_, e)| match e { Event::Chat { message } => Some(message.text), _ => None })
        .collect();
    assert_eq!(texts, vec!["lost".to_string(), "after".to_string()], "in order, none missing, none twice");
}

#[test]
fn peer_control_rate_limit_refuses_and_changes_nothing() {
    let mut w = world(&[]);
    let burst = Config::default().peer_rate.burst as u64;
    let a = w.net.node(A);
    for seq in 1..=burst {
        let env = PeerEnvelope::new("s", seq, PeerMsg::Heartbeat { rooms: vec![] });
        assert_eq!(a.peer_message(0, B, &env.to_bytes()), Ok(()));
    }
    let env = PeerEnvelope::new("s", burst + 1, PeerMsg::Heartbeat { rooms: vec![] });
    assert_eq!(a.peer_message(0, B, &env.to_bytes()), Err(PeerRefusal::RateLimited));
    assert_eq!(a.engine.metrics().peer_messages_refused, 1);
}

#[test]
fn proxied_rooms_per_node_are_capped() {
    let cfg = Config { max_rooms: 1, ..Config::default() };
    let mut net = Net::new(&[A]);
    net.nodes.insert(B.into(), Node::with_config(B, cfg));
    let r1 = net.node(A).create_room(open_settings());
    let r2 = net.node(A).create_room(open_settings());
    let b = net.node(B);
    b.open(0, 7, ConnKind::Owner);
    b.open(0, 8, ConnKind::Owner);
    b.send(0, 7, &ClientMsg::Join { room: r1.id.clone(), name: "b".into(), invite: Some(r1.invite), host: Some(A.into()), resume: None });
    b.send(0, 8, &ClientMsg::Join { room: r2.id.clone(), name: "b".into(), invite: Some(r2.invite), host: Some(A.into()), resume: None });
    assert_eq!(net.node(B).errors(8), vec![ErrorCode::TooManyRooms]);
    net.run(0);
    assert!(matches!(&net.node(B).take(7)[..], [ServerMsg::Welcome(_)]));
}

#[test]
fn unreachable_host_refuses_joins_and_commands_with_a_typed_error() {
    let mut w = world(&[]);
    remote_join(&mut w, B, 7, "bob", 0).unwrap();
    // The link dies: the next message B sends to A fails every try.
    w.net.down.push(A.into());
    w.net.node(B).send(5, 7, &ClientMsg::Typing {});
    w.net.run(5);
    w.net.down.clear();
    w.net.node(B).clear();
    w.net.node(B).send(6, 7, &ClientMsg::Chat { text: "x".into() });
    assert_eq!(w.net.node(B).errors(7), vec![ErrorCode::HostUnreachable]);
    w.net.node(B).open(6, 8, ConnKind::Owner);
    let join = ClientMsg::Join { room: w.room.clone(), name: "b2".into(), invite: Some(w.invite.clone()), host: Some(A.into()), resume: None };
    w.net.node(B).send(6, 8, &join);
    assert_eq!(w.net.node(B).errors(8), vec![ErrorCode::HostUnreachable]);
    assert!(w.net.node(B).to_peers.is_empty());
}

#[test]
fn guests_cannot_be_proxied_to_other_nodes() {
    let mut w = world(&[]);
    let b = w.net.node(B);
    b.open(0, 7, ConnKind::Guest);
    let join = ClientMsg::Join { room: w.room.clone(), name: "g".into(), invite: Some(w.invite.clone()), host: Some(A.into()), resume: None };
    b.send(0, 7, &join);
    assert_eq!(b.errors(7), vec![ErrorCode::Forbidden]);
    assert!(b.to_peers.is_empty());
}

#[test]
fn a_silent_peer_node_loses_its_participants_without_any_send_failing() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    // B vanishes; the room is quiet, so A never fails a send. Only heartbeats keep Bob.
    for t in (10_000..=90_000).step_by(10_000) {
        w.net.node(A).send(t, 1, &ClientMsg::Ping { t: 0.0 });
        w.net.node(A).tick(t);
        w.net.node(A).pump();
        w.net.node(A).to_peers.clear();
    }
    let snap = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    assert!(snap.participants.iter().all(|p| p.id != bob.participant));
}

#[test]
fn heartbeats_keep_held_participants_and_drop_the_ones_the_peer_let_go() {
    let mut w = world(&[]);
    let bob = remote_join(&mut w, B, 7, "bob", 0).unwrap();
    let ann = remote_join(&mut w, B, 8, "ann", 0).unwrap();
    // Ann's socket closes while A is unreachable: A never hears the detach.
    w.net.down.push(A.into());
    w.net.node(B).close(1_000, 8);
    w.net.run(1_000);
    w.net.down.clear();
    for t in (10_000..=100_000).step_by(10_000) {
        w.net.node(A).send(t, 1, &ClientMsg::Ping { t: 0.0 });
        w.net.node(B).send(t, 7, &ClientMsg::Ping { t: 0.0 });
        w.net.node(A).tick(t);
        w.net.node(B).tick(t);
        w.net.run(t);
    }
    let snap = w.net.node(A).engine.room_snapshot(&w.room).unwrap();
    let bob_now = snap.participants.iter().find(|p| p.id == bob.participant).expect("bob is kept alive by heartbeats");
    assert!(!bob_now.reconnecting);
    assert!(snap.participants.iter().all(|p| p.id != ann.participant), "ann timed out");
}
