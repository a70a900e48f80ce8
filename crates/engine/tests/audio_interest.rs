//! Audio follows subscriptions between nodes (issue 12; docs/protocol.md, "Audio between
//! nodes" and `audio_interest` in "Peer nodes"): a member node tells the host the union of
//! what its users in a room want, and the host leaves a stream nobody there wants out of that
//! node's batches, while its own listeners and other nodes still get it.

mod common;
use common::*;
use voice_chat_engine::audio::{decode_frame, next_batch_record, BatchRecord};
use voice_chat_engine::audio_interest::AudioInterest;
use voice_chat_engine::peer_wire::{PeerEnvelope, PeerMsg};
use voice_chat_engine::protocol::Resume;
use voice_chat_engine::{ClientMsg, Config, ConnKind, Engine, SeededEntropy, ServerMsg, Welcome};

const A: &str = "a.os";
const B: &str = "b.os";
const C: &str = "c.os";

struct World {
    net: Net,
    room: String,
    /// alice: A's owner socket (conn 1), the speaker whose stream is filtered.
    alice: Welcome,
    /// carol: a user of C (conn 9), a second speaker.
    carol: Welcome,
    bob: Welcome,
    t: u64,
    seq: u32,
}

fn remote_join(net: &mut Net, node: &str, conn: u32, name: &str, room: &str, invite: &str, now: u64) -> Welcome {
    let n = net.node(node);
    n.open(now, conn, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.into(), name: name.into(), invite: Some(invite.into()), host: Some(A.into()), resume: None };
    n.send(now, conn, &join);
    net.run(now);
    net.node(node).take(conn).into_iter().find_map(|m| if let ServerMsg::Welcome(w) = m { Some(w) } else { None }).expect("welcome")
}

/// Room on A with alice (conn 1) and anna (conn 2) on A, bob (conn 7) and bea (conn 8) of B,
/// carol (conn 9) of C.
fn world() -> World {
    world_with_b(net_config())
}

/// As [`world`], with node B configured by `b`.
fn world_with_b(b: Config) -> World {
    let mut net = Net::new(&[A, B, C]);
    net.nodes.insert(B.into(), Node::with_config(B, b));
    let room = net.node(A).create_room(open_settings());
    let alice = net.node(A).join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    net.node(A).join(0, 2, ConnKind::Guest, &room.id, "anna", Some(&room.invite));
    let bob = remote_join(&mut net, B, 7, "bob", &room.id, &room.invite, 0);
    remote_join(&mut net, B, 8, "bea", &room.id, &room.invite, 0);
    let carol = remote_join(&mut net, C, 9, "carol", &room.id, &room.invite, 0);
    for n in net.nodes.values_mut() {
        n.clear();
        n.audio_out.clear();
    }
    World { net, room: room.id, alice, carol, bob, t: 100, seq: 0 }
}

/// Frames in one batch whose stream is `stream`.
fn frames_of(batch: &[u8], stream: u16) -> usize {
    let mut pos = 0;
    let mut n = 0;
    while let Some(r) = next_batch_record(batch, &mut pos) {
        if let Ok(BatchRecord::Frame(range)) = r {
            if decode_frame(&batch[range]).is_ok_and(|h| h.stream_id == stream) {
                n += 1;
            }
        }
    }
    n
}

impl World {
    /// alice speaks one frame: how many frames of her stream A put in the batches for B and
    /// for C, and whether anna (A's other listener) got it.
    fn alice_speaks(&mut self) -> (usize, usize, bool) {
        self.t += 20;
        self.seq += 1;
        let stream = self.alice.stream;
        let relay = self.net.node(A).binary(self.t, 1, &mut frame(stream, self.seq, 20)).expect("relayed");
        let batches = std::mem::take(&mut self.net.node(A).audio_out);
        let count = |node: &str| batches.iter().filter(|(n, _)| n == node).map(|(_, b)| frames_of(b, stream)).sum();
        (count(B), count(C), relay.conns.contains(&2))
    }

    /// carol (of C) speaks one frame: how many frames of her stream A forwards to B.
    fn carol_speaks_to_b(&mut self) -> usize {
        self.t += 20;
        self.seq += 1;
        let stream = self.carol.stream;
        self.net.node(C).binary(self.t, 9, &mut frame(stream, self.seq, 20)).expect("relayed");
        let mut batches = std::mem::take(&mut self.net.node(C).audio_out);
        let mut to_b = 0;
        for (to, batch) in batches.iter_mut() {
            assert_eq!(to, A);
            self.net.node(A).peer_audio(self.t, C, batch);
        }
        for (to, b) in std::mem::take(&mut self.net.node(A).audio_out) {
            if to == B {
                to_b += frames_of(&b, stream);
            }
        }
        to_b
    }

    /// `conn` of `node` sends `subscribe` / `unsubscribe`; returns the `audio_interest`
    /// envelopes it caused, then delivers everything.
    fn subscription(&mut self, node: &str, conn: u32, subscribe: bool, pattern: &str) -> Vec<PeerEnvelope> {
        self.t += 1;
        let msg = if subscribe { ClientMsg::Subscribe { pattern: pattern.into() } } else { ClientMsg::Unsubscribe { pattern: pattern.into() } };
        self.net.node(node).send(self.t, conn, &msg);
        let sent = interests(self.net.node(node));
        self.net.run(self.t);
        sent
    }

    fn alice_topic(&self) -> String {
        format!("room.{}.audio.{}", self.room, self.alice.stream)
    }

    fn refused_at_a(&mut self) -> u64 {
        self.net.node(A).engine.metrics().peer_messages_refused
    }
}

/// The `audio_interest` envelopes waiting in `node`'s outbox to peers.
fn interests(node: &mut Node) -> Vec<PeerEnvelope> {
    node.to_peers.iter().filter(|(_, e)| matches!(e.msg, PeerMsg::AudioInterest { .. })).map(|(_, e)| e.clone()).collect()
}

#[test]
fn a_stream_no_user_of_b_wants_is_not_sent_to_b_and_comes_back_when_one_subscribes() {
    let mut w = world();
    assert_eq!(w.alice_speaks(), (1, 1, true), "everything goes everywhere at first");
    let topic = w.alice_topic();

    // bob alone unsubscribing changes nothing between the nodes: bea still wants alice.
    assert!(w.subscription(B, 7, false, &topic).is_empty(), "the union did not change: nothing sent");
    assert_eq!(w.alice_speaks(), (1, 1, true));

    // bea too: B tells A, and A's batches to B carry no frame of alice; anna and C still get them.
    let sent = w.subscription(B, 8, false, &topic);
    assert!(
        matches!(&sent[..], [PeerEnvelope { msg: PeerMsg::AudioInterest { interest: AudioInterest::AllExcept(l), .. }, .. }] if l == &[w.alice.stream]),
        "{sent:?}"
    );
    for _ in 0..3 {
        assert_eq!(w.alice_speaks(), (0, 1, true));
    }
    assert_eq!(w.net.node(A).engine.metrics().frames_not_wanted_by_peers, 3);
    // Other streams still reach B.
    assert_eq!(w.carol_speaks_to_b(), 1);
    // A change that leaves the union as it is says nothing.
    assert!(w.subscription(B, 8, false, &format!("room.{}.presence.typing", w.room)).is_empty());

    // bob subscribes again: alice flows to B again.
    assert_eq!(w.subscription(B, 7, true, &topic).len(), 1);
    assert_eq!(w.alice_speaks(), (1, 1, true));

    // "Only" lists: both want carol only.
    w.subscription(B, 7, false, &format!("room.{}.audio.*", w.room));
    w.subscription(B, 8, false, &format!("room.{}.audio.*", w.room));
    let carol_topic = format!("room.{}.audio.{}", w.room, w.carol.stream);
    w.subscription(B, 7, true, &carol_topic);
    assert_eq!(w.alice_speaks(), (0, 1, true));
    assert_eq!(w.carol_speaks_to_b(), 1);
    // A user leaving who was the only one wanting a stream: the union narrows.
    w.subscription(B, 8, true, &w.alice_topic());
    assert_eq!(w.alice_speaks(), (1, 1, true));
    w.t += 1;
    w.net.node(B).send(w.t, 8, &ClientMsg::Leave {});
    w.net.run(w.t);
    assert_eq!(w.alice_speaks(), (0, 1, true), "bea left; bob wants only carol");
    // A socket of B closing: the union of nobody left is not told; B no longer holds anyone.
    w.net.node(B).close(w.t, 7);
    w.net.run(w.t);
    assert_eq!(w.alice_speaks(), (0, 1, true), "bob is reconnecting at A: nothing goes to B");
}

#[test]
fn a_restart_of_b_resets_what_a_sends_it_to_all() {
    let mut w = world();
    let topic = w.alice_topic();
    w.subscription(B, 7, false, &topic);
    w.subscription(B, 8, false, &topic);
    assert_eq!(w.alice_speaks(), (0, 1, true));

    // B's process restarts; bob's socket comes back to the new process and resumes.
    *w.net.node(B) = Node::from_engine(B, Engine::new(net_config(), B, Box::new(SeededEntropy::new(4321))));
    let b = w.net.node(B);
    b.open(w.t, 70, ConnKind::Owner);
    let resume = Some(Resume { token: w.bob.resume_token.clone(), last_seq: w.bob.seq });
    b.send(w.t, 70, &ClientMsg::Join { room: w.room.clone(), name: "bob".into(), invite: None, host: Some(A.into()), resume });
    w.net.run(w.t);
    assert!(w.net.node(B).take(70).iter().any(|m| matches!(m, ServerMsg::Welcome(wl) if wl.resumed)));
    assert_eq!(w.alice_speaks(), (1, 1, true), "the new process said nothing: everything");
    // The new process counts versions from 1 again, and A takes them.
    let sent = w.subscription(B, 70, false, &w.alice_topic());
    assert!(matches!(&sent[..], [PeerEnvelope { msg: PeerMsg::AudioInterest { version: 1, .. }, .. }]), "{sent:?}");
    assert_eq!(w.alice_speaks(), (0, 1, true));
}

#[test]
fn a_node_whose_users_all_left_starts_from_all_when_it_joins_again() {
    let mut w = world();
    let topic = w.alice_topic();
    w.subscription(B, 7, false, &topic);
    w.subscription(B, 8, false, &topic);
    assert_eq!(w.alice_speaks(), (0, 1, true));
    for conn in [7, 8] {
        w.t += 1;
        w.net.node(B).send(w.t, conn, &ClientMsg::Leave {});
        w.net.run(w.t);
    }
    assert_eq!(w.net.node(B).engine.metrics().proxied_rooms, 0);
    // bob joins again (a fresh join: his socket starts from the whole room).
    w.t += 1;
    let again = ClientMsg::Join { room: w.room.clone(), name: "bob".into(), invite: None, host: Some(A.into()), resume: None };
    w.net.node(B).send(w.t, 7, &again);
    let sent = interests(w.net.node(B));
    w.net.run(w.t);
    assert!(w.net.node(B).take(7).iter().any(|m| matches!(m, ServerMsg::Welcome(_))));
    assert!(sent.is_empty() && interests(w.net.node(B)).is_empty(), "B says nothing: all is the default");
    assert_eq!(w.alice_speaks(), (1, 1, true));
}

#[test]
fn after_the_host_resets_a_rejoin_b_tells_its_interest_again() {
    let mut w = world();
    let topic = w.alice_topic();
    w.subscription(B, 7, false, &topic);
    w.subscription(B, 8, false, &topic);
    // A third user of B joins and unsubscribes alice before its welcome comes back: the
    // host resets B's interest at the join, and B, on `joined`, tells it again.
    w.t += 1;
    let b = w.net.node(B);
    b.open(w.t, 6, ConnKind::Owner);
    let join = ClientMsg::Join { room: w.room.clone(), name: "ben".into(), invite: None, host: Some(A.into()), resume: None };
    b.send(w.t, 6, &join);
    b.send(w.t, 6, &ClientMsg::Unsubscribe { pattern: topic.clone() });
    w.net.run(w.t);
    assert!(w.net.node(B).take(6).iter().any(|m| matches!(m, ServerMsg::Welcome(_))));
    assert_eq!(w.alice_speaks(), (0, 1, true));
}

#[test]
fn an_older_interest_arriving_late_does_not_override_a_newer_one() {
    let mut w = world();
    let topic = w.alice_topic();
    w.subscription(B, 7, false, &topic);
    // bea unsubscribes (v1: all but alice), then subscribes again (v2: all); A gets v2 first.
    w.t += 1;
    w.net.node(B).send(w.t, 8, &ClientMsg::Unsubscribe { pattern: topic.clone() });
    w.net.node(B).send(w.t, 8, &ClientMsg::Subscribe { pattern: topic.clone() });
    let mut sent = interests(w.net.node(B));
    w.net.node(B).to_peers.clear();
    assert_eq!(sent.len(), 2);
    let versions: Vec<u64> = sent.iter().map(|e| if let PeerMsg::AudioInterest { version, .. } = e.msg { version } else { 0 }).collect();
    assert!(versions[0] < versions[1]);
    sent.reverse();
    for e in &sent {
        w.net.node(A).peer_message(w.t, B, &e.to_bytes()).expect("taken (the older one is then ignored)");
    }
    assert_eq!(w.alice_speaks(), (1, 1, true), "the older 'all but alice' did not win");
}

#[test]
fn a_node_without_participants_in_the_room_may_not_set_interest() {
    let mut w = world();
    // d.os has a link (it was heard from) but nobody in the room.
    let forged = |seq, room: &str| {
        let msg = PeerMsg::AudioInterest { room: room.into(), interest: AudioInterest::Only(vec![]), version: 1 };
        PeerEnvelope { v: voice_chat_engine::protocol::PROTOCOL_VERSION, session: "d-session".into(), seq, msg }.to_bytes()
    };
    let before = w.refused_at_a();
    w.net.node(A).peer_message(w.t, "d.os", &forged(1, &w.room.clone())).unwrap();
    w.net.node(A).peer_message(w.t, "d.os", &forged(2, "no-such-room")).unwrap();
    assert_eq!(w.refused_at_a(), before + 2, "both refused");
    // B's users are unaffected, and so is everyone else.
    assert_eq!(w.alice_speaks(), (1, 1, true));
}

#[test]
fn a_malformed_or_oversize_interest_is_refused_and_changes_nothing() {
    let mut w = world();
    let topic = w.alice_topic();
    w.subscription(B, 7, false, &topic);
    let sent = w.subscription(B, 8, false, &topic);
    assert_eq!(w.alice_speaks(), (0, 1, true));
    // Forged by B's own process (same session), past its last seq.
    let real = sent[0].clone();
    let PeerMsg::AudioInterest { version, .. } = real.msg else { unreachable!() };
    let max = Config::default().max_participants as u16;
    let bad = [
        AudioInterest::AllExcept(vec![5, 3]),
        AudioInterest::Only(vec![4, 4]),
        AudioInterest::AllExcept((1..=max + 1).collect()),
        AudioInterest::Only((1..=max + 1).collect()),
    ];
    let mut seq = real.seq + 100;
    let before = w.refused_at_a();
    for interest in bad {
        seq += 1;
        let msg = PeerMsg::AudioInterest { room: w.room.clone(), interest, version: version + 10 };
        let env = PeerEnvelope { seq, msg, ..real.clone() };
        w.net.node(A).peer_message(w.t, B, &env.to_bytes()).unwrap();
    }
    assert_eq!(w.refused_at_a(), before + 4);
    // Not JSON of the message: a stream id out of range, a list that is not a list.
    for interest in [r#"{"only":[70000]}"#, r#"{"only":3}"#, r#"{"some":[]}"#] {
        seq += 1;
        let text = format!(
            r#"{{"v":{},"session":"{}","seq":{seq},"msg":{{"type":"audio_interest","room":"{}","interest":{interest},"version":{}}}}}"#,
            real.v,
            real.session,
            w.room,
            version + 20
        );
        assert!(w.net.node(A).peer_message(w.t, B, text.as_bytes()).is_err(), "{interest}");
    }
    assert_eq!(w.refused_at_a(), before + 7);
    assert_eq!(w.alice_speaks(), (0, 1, true), "B's interest is still the one it told");
}

#[test]
fn a_node_whose_users_the_host_removed_as_ghosts_tells_its_interest_again_after_joining_them_again() {
    let mut net = Net::new(&[A, B]);
    let room = net.room_on_a_with_bob_from_b();
    let snap = net.node(A).engine.room_snapshot(&room.id).unwrap();
    let alice = snap.participants.iter().find(|p| p.name == "alice").expect("alice").clone();
    net.node(B).send(10, 7, &ClientMsg::Unsubscribe { pattern: format!("room.{}.audio.{}", room.id, alice.stream) });
    net.run(10);
    let to_b = |net: &mut Net, now: u64, seq: u32| {
        net.node(A).binary(now, 1, &mut frame(alice.stream, seq, 20)).expect("relayed");
        std::mem::take(&mut net.node(A).audio_out).iter().filter(|(n, _)| n == B).map(|(_, b)| frames_of(b, alice.stream)).sum::<usize>()
    };
    assert_eq!(to_b(&mut net, 20, 1), 0);

    // An outage past the presence timeout: A removes bob as a ghost (and resets B's interest
    // when B joins him again); bob is still connected to B, which joins him again.
    net.down = vec![A.into(), B.into()];
    net.node(A).send(1_000, 1, &ClientMsg::Typing {});
    net.node(B).send(1_000, 7, &ClientMsg::Typing {});
    net.run(1_000);
    net.down.clear();
    net.node(A).send(95_000, 1, &ClientMsg::Ping { t: 0.0 });
    net.node(A).tick(95_000);
    net.node(B).send(95_000, 7, &ClientMsg::Ping { t: 0.0 });
    net.node(B).tick(95_000);
    net.run(95_000);
    assert!(net.node(B).take(7).iter().any(|m| matches!(m, ServerMsg::Welcome(_))), "joined again");
    assert_eq!(to_b(&mut net, 95_020, 2), 0, "B told A again that bob does not want alice");
    net.node(B).send(95_030, 7, &ClientMsg::Subscribe { pattern: format!("room.{}.**", room.id) });
    net.run(95_030);
    assert_eq!(to_b(&mut net, 95_040, 3), 1);
}

#[test]
fn a_change_while_the_host_is_unreachable_is_told_when_it_is_back() {
    let mut net = Net::new(&[A, B]);
    let room = net.room_on_a_with_bob_from_b();
    let snap = net.node(A).engine.room_snapshot(&room.id).unwrap();
    let alice = snap.participants.iter().find(|p| p.name == "alice").expect("alice").clone();
    let to_b = |net: &mut Net, now: u64, seq: u32| {
        net.node(A).binary(now, 1, &mut frame(alice.stream, seq, 20)).expect("relayed");
        std::mem::take(&mut net.node(A).audio_out).iter().filter(|(n, _)| n == B).map(|(_, b)| frames_of(b, alice.stream)).sum::<usize>()
    };
    // A short outage (no ghosts removed): each side marks the other unreachable.
    net.down = vec![A.into(), B.into()];
    net.node(A).send(1_000, 1, &ClientMsg::Typing {});
    net.node(B).send(1_000, 7, &ClientMsg::Typing {});
    net.run(1_000);
    net.node(B).send(2_000, 7, &ClientMsg::Unsubscribe { pattern: format!("room.{}.audio.{}", room.id, alice.stream) });
    assert!(interests(net.node(B)).is_empty(), "nothing told to an unreachable host");
    net.run(2_000);
    net.down.clear();
    // B's heartbeat probe gets through; A answers; each side sees the other back.
    net.node(B).tick(10_000);
    net.run(10_000);
    net.node(A).tick(10_000);
    net.run(10_000);
    assert_eq!(to_b(&mut net, 10_020, 1), 0, "told once A was back");
}

#[test]
fn a_narrowing_retried_after_b_left_and_joined_again_does_not_win() {
    // B retries a failed control message (1 s later), as a real node does.
    let mut w = world_with_b(Config { peer_control_retries: 2, ..net_config() });
    let topic = w.alice_topic();
    // bea leaves, so bob is B's only user in the room.
    w.t += 1;
    w.net.node(B).send(w.t, 8, &ClientMsg::Leave {});
    w.net.run(w.t);
    // bob unsubscribes alice; B's `audio_interest` (all but alice) fails its first send.
    w.t += 1;
    w.net.node(B).send(w.t, 7, &ClientMsg::Unsubscribe { pattern: topic.clone() });
    let narrowing = interests(w.net.node(B));
    assert_eq!(narrowing.len(), 1);
    let b = w.net.node(B);
    b.to_peers.retain(|(_, e)| !matches!(e.msg, PeerMsg::AudioInterest { .. }));
    let request = b.requests[&(A.to_string(), narrowing[0].seq)];
    b.input(w.t, voice_chat_engine::Input::PeerSendFailed { request }).unwrap();
    // Before its retry, bob leaves and joins again (a fresh join: the whole room).
    w.t += 1;
    w.net.node(B).send(w.t, 7, &ClientMsg::Leave {});
    w.net.run(w.t);
    w.t += 1;
    let again = ClientMsg::Join { room: w.room.clone(), name: "bob".into(), invite: None, host: Some(A.into()), resume: None };
    w.net.node(B).send(w.t, 7, &again);
    w.net.run(w.t);
    let got = w.net.node(B).take(7);
    assert!(got.iter().any(|m| matches!(m, ServerMsg::Welcome(_))), "{got:?}");
    assert_eq!(w.alice_speaks(), (1, 1, true));
    // Now the old narrowing's retry lands at A.
    w.t += 5_000;
    w.net.node(B).tick(w.t);
    w.net.run(w.t);
    assert_eq!(w.alice_speaks(), (1, 1, true), "bob, who wants everything, still gets alice");
}
