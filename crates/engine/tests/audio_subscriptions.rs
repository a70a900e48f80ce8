//! Audio follows subscriptions (docs/protocol.md, "Subscriptions" and "Relay"): unsubscribing
//! `room.<id>.audio.<stream>` stops that speaker's frames to that socket only, subscribing
//! brings them back, a wildcard covers a speaker who joins later, and flow control and the
//! loudest-K choice for the others are as before. A user of another node is filtered at its
//! own node. A property: for random subscribe / unsubscribe sequences, each frame reaches
//! exactly the sockets subscribed to its stream (and permitted: in the room, not the sender).

mod common;
use common::*;
use voice_chat_engine::audio::encode_ack;
use voice_chat_engine::config::Config;
use voice_chat_engine::{ClientMsg, ConnKind, ServerMsg, Welcome};

/// A roomy flow window, so tests that do not test flow control need not ack.
fn roomy() -> Config {
    Config { flow_window_frames: 10_000, ..Config::default() }
}

fn room_with(n: &mut Node, names: &[(&str, u32)]) -> (String, Vec<Welcome>) {
    let room = n.create_room(open_settings());
    let ws = names.iter().map(|(name, c)| n.join(0, *c, ConnKind::Guest, &room.id, name, Some(&room.invite))).collect();
    n.clear();
    (room.id, ws)
}

fn control(n: &mut Node, now: u64, conn: u32, msg: ClientMsg) -> Vec<ServerMsg> {
    n.send(now, conn, &msg);
    let got: Vec<ServerMsg> = n.take(conn).into_iter().filter(|m| !matches!(m, ServerMsg::Presence { .. })).collect();
    assert!(matches!(&got[..], [ServerMsg::Subscribed { .. } | ServerMsg::Unsubscribed { .. }]), "{got:?}");
    got
}

fn sub(n: &mut Node, now: u64, conn: u32, pattern: &str) -> Vec<String> {
    match control(n, now, conn, ClientMsg::Subscribe { pattern: pattern.into() }).remove(0) {
        ServerMsg::Subscribed { topics, .. } => topics,
        _ => unreachable!(),
    }
}

fn unsub(n: &mut Node, now: u64, conn: u32, pattern: &str) {
    control(n, now, conn, ClientMsg::Unsubscribe { pattern: pattern.into() });
}

/// Who gets one frame of `stream` sent by `conn` at `now`.
fn to(n: &mut Node, now: u64, conn: u32, stream: u16, seq: u32, level: u8) -> Vec<u32> {
    let mut got = n.binary(now, conn, &mut frame(stream, seq, level)).unwrap().conns;
    got.sort_unstable();
    got
}

#[test]
fn unsubscribing_a_speaker_stops_its_frames_to_that_socket_only() {
    let mut n = Node::with_config("a.os", roomy());
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2), ("c", 3)]);
    let (sa, sc) = (ws[0].stream, ws[2].stream);
    assert_eq!(to(&mut n, 20, 1, sa, 1, 20), [2, 3]);

    unsub(&mut n, 100, 2, &format!("room.{room}.audio.{sa}"));
    for i in 0..5 {
        assert_eq!(to(&mut n, 200 + i * 20, 1, sa, 2 + i as u32, 20), [3], "b unsubscribed a");
    }
    // b still gets c; c still gets a.
    assert_eq!(to(&mut n, 320, 3, sc, 1, 20), [1, 2]);

    // Subscribing again (the stream, or the whole room) brings a back.
    let topics = sub(&mut n, 400, 2, &format!("room.{room}.audio.{sa}"));
    assert_eq!(topics, [format!("room.{room}.audio.{sa}")]);
    assert_eq!(to(&mut n, 420, 1, sa, 10, 20), [2, 3]);
    unsub(&mut n, 600, 2, &format!("room.{room}.audio.*"));
    assert_eq!(to(&mut n, 620, 1, sa, 11, 20), [3]);
    assert_eq!(to(&mut n, 640, 3, sc, 2, 20), [1]);
    sub(&mut n, 800, 2, &format!("room.{room}.**"));
    assert_eq!(to(&mut n, 820, 1, sa, 12, 20), [2, 3]);
    assert_eq!(to(&mut n, 840, 3, sc, 3, 20), [1, 2]);
}

#[test]
fn a_confirmation_lists_the_audio_topics_of_the_room() {
    let mut n = Node::with_config("a.os", roomy());
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    let mut streams: Vec<u16> = ws.iter().map(|w| w.stream).collect();
    streams.sort_unstable();
    let topics = sub(&mut n, 0, 2, &format!("room.{room}.audio.*"));
    assert_eq!(topics, streams.iter().map(|s| format!("room.{room}.audio.{s}")).collect::<Vec<_>>());
    let all = sub(&mut n, 200, 2, "**");
    assert_eq!(all.len(), 4 + streams.len(), "{all:?}");
    // A stream that does not exist (yet) is a valid pattern, matching nothing now.
    assert!(sub(&mut n, 400, 2, &format!("room.{room}.audio.65535")).is_empty());
    // Grammar: a stream is a canonical u16.
    n.send(600, 2, &ClientMsg::Subscribe { pattern: format!("room.{room}.audio.07") });
    assert!(matches!(&n.take(2)[..], [ServerMsg::Error { code: voice_chat_engine::ErrorCode::InvalidPattern, .. }]));
}

#[test]
fn a_wildcard_covers_a_speaker_who_joins_later() {
    let mut n = Node::with_config("a.os", roomy());
    let room = n.create_room(open_settings());
    let a = n.join(0, 1, ConnKind::Guest, &room.id, "a", Some(&room.invite));
    n.join(0, 2, ConnKind::Guest, &room.id, "b", Some(&room.invite));
    n.clear();
    // b wants only a.
    unsub(&mut n, 0, 2, &format!("room.{}.audio.*", room.id));
    sub(&mut n, 200, 2, &format!("room.{}.audio.{}", room.id, a.stream));
    let d = n.join(300, 4, ConnKind::Guest, &room.id, "d", Some(&room.invite));
    n.clear();
    assert_eq!(to(&mut n, 400, 4, d.stream, 1, 20), [1], "d joined after b's audio.*: b does not get d");
    assert_eq!(to(&mut n, 420, 1, a.stream, 1, 20), [2, 4]);
    // And a literal stream unsubscribed before its speaker exists holds when it appears:
    // the next stream id is d's plus one.
    let next = d.stream + 1;
    sub(&mut n, 500, 4, &format!("room.{}.**", room.id));
    unsub(&mut n, 700, 4, &format!("room.{}.audio.{next}", room.id));
    let e = n.join(800, 5, ConnKind::Guest, &room.id, "e", Some(&room.invite));
    assert_eq!(e.stream, next);
    n.clear();
    assert_eq!(to(&mut n, 900, 5, e.stream, 1, 20), [1], "neither b (audio.* off) nor d (audio.{next} off)");
}

#[test]
fn an_unsubscribed_stream_takes_no_flow_window_and_others_are_as_before() {
    // Default window (24 frames unacked).
    let mut n = Node::new("a.os");
    let window = Config::default().flow_window_frames;
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2), ("c", 3)]);
    let sa = ws[0].stream;
    unsub(&mut n, 0, 2, &format!("room.{room}.audio.{sa}"));
    // b never acks; c acks every frame.
    let mut to_c = 0;
    for i in 0..(window + 10) {
        let got = to(&mut n, 200 + i as u64 * 20, 1, sa, i + 1, 20);
        assert!(!got.contains(&2));
        to_c += got.iter().filter(|c| **c == 3).count() as u32;
        n.binary(200 + i as u64 * 20, 3, &mut encode_ack(to_c)).unwrap();
    }
    assert_eq!(to_c, window + 10, "c, acking, got every frame");
    // b's window is untouched: subscribed again, it gets the next `window` frames.
    sub(&mut n, 2000, 2, &format!("room.{room}.audio.{sa}"));
    let mut to_b = 0;
    for i in 0..window + 2 {
        let t = 2020 + i as u64 * 20;
        let got = to(&mut n, t, 1, sa, 100 + i, 20);
        to_b += got.iter().filter(|c| **c == 2).count() as u32;
        n.binary(t, 3, &mut encode_ack(to_c + i + 1)).unwrap();
    }
    assert_eq!(to_b, window, "b gets a full window, then flow control holds it (no acks)");
}

#[test]
fn the_loudest_k_choice_is_the_same_for_the_others() {
    let cfg = Config { max_forwarded_speakers: 2, ..roomy() };
    let mut n = Node::with_config("a.os", cfg);
    let (room, ws) = room_with(&mut n, &[("s1", 1), ("s2", 2), ("s3", 3), ("l", 4), ("m", 5)]);
    let (s1, s2, s3) = (ws[0].stream, ws[1].stream, ws[2].stream);
    // m does not want the loudest speaker; that lets no quieter one through to anyone.
    unsub(&mut n, 0, 5, &format!("room.{room}.audio.{s1}"));
    for i in 0..5u32 {
        let t = 200 + i as u64 * 20;
        assert_eq!(to(&mut n, t, 1, s1, i + 1, 10), [2, 3, 4]);
        assert_eq!(to(&mut n, t, 2, s2, i + 1, 20), [1, 3, 4, 5]);
        assert_eq!(n.binary(t, 3, &mut frame(s3, i + 1, 40)).unwrap_err(), voice_chat_engine::DropReason::NotLoudest);
    }
}

fn remote_join(net: &mut Net, node: &str, conn: u32, name: &str, room: &str, invite: &str) -> Welcome {
    let n = net.node(node);
    n.open(0, conn, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.into(), name: name.into(), invite: Some(invite.into()), host: Some("a.os".into()), resume: None };
    n.send(0, conn, &join);
    net.run(0);
    net.node(node).take(conn).into_iter().find_map(|m| if let ServerMsg::Welcome(w) = m { Some(w) } else { None }).expect("welcome")
}

/// Local recipients of the frames delivered on `node` since `from` in `net.audio`.
fn heard(net: &Net, node: &str, from: usize) -> Vec<u32> {
    let mut got: Vec<u32> = net.audio[from..].iter().filter(|(n, _, _)| n == node).map(|(_, c, _)| *c).collect();
    got.sort_unstable();
    got
}

#[test]
fn a_user_of_another_node_is_filtered_at_its_node() {
    let mut net = Net::new(&["a.os", "b.os"]);
    let room = net.node("a.os").create_room(open_settings());
    let alice = net.node("a.os").join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    let bob = remote_join(&mut net, "b.os", 7, "bob", &room.id, &room.invite);
    remote_join(&mut net, "b.os", 8, "dave", &room.id, &room.invite);
    net.node("a.os").clear();
    net.node("b.os").clear();

    // dave (b.os) does not want alice; the confirmation of a wildcard lists her stream.
    let b = net.node("b.os");
    assert!(sub(b, 0, 8, &format!("room.{}.audio.*", room.id)).contains(&format!("room.{}.audio.{}", room.id, alice.stream)));
    unsub(b, 200, 8, &format!("room.{}.audio.{}", room.id, alice.stream));
    for i in 0..3u32 {
        let t = 300 + i as u64 * 20;
        let mark = net.audio.len();
        let relay = net.node("a.os").binary(t, 1, &mut frame(alice.stream, i + 1, 20)).unwrap();
        assert_eq!(relay.peer_copies, 1, "this step filters at b.os: a.os still sends");
        net.flush_audio(t);
        assert_eq!(heard(&net, "b.os", mark), [7], "bob hears alice, dave does not");
    }

    // bob's frames: dave gets them at b.os (he unsubscribed alice only), alice at a.os.
    let mark = net.audio.len();
    let relay = net.node("b.os").binary(400, 7, &mut frame(bob.stream, 1, 20)).unwrap();
    assert_eq!(relay.conns, [8]);
    net.flush_audio(400);
    assert_eq!(heard(&net, "a.os", mark), [1]);
    // dave unsubscribes bob too: the local fan-out at b.os skips him; alice still hears bob.
    unsub(net.node("b.os"), 500, 8, &format!("room.{}.audio.{}", room.id, bob.stream));
    let mark = net.audio.len();
    let relay = net.node("b.os").binary(600, 7, &mut frame(bob.stream, 2, 20)).unwrap();
    assert!(relay.conns.is_empty(), "{:?}", relay.conns);
    assert_eq!(relay.peer_copies, 1);
    net.flush_audio(600);
    assert_eq!(heard(&net, "a.os", mark), [1]);

    // Subscribing again brings alice back to dave.
    sub(net.node("b.os"), 700, 8, &format!("room.{}.**", room.id));
    let mark = net.audio.len();
    net.node("a.os").binary(800, 1, &mut frame(alice.stream, 10, 20)).unwrap();
    net.flush_audio(800);
    assert_eq!(heard(&net, "b.os", mark), [7, 8]);
}

mod relay_property {
    use super::*;
    use proptest::prelude::*;

    /// One socket's change: (socket index, subscribe?, pattern shape, stream index).
    type Op = (usize, bool, u8, usize);

    /// A pattern for the audio of `room`: a literal stream (one of the speakers', or one that
    /// does not exist), the stream wildcard, the room's `**`, or a text topic.
    fn pattern(room: &str, shape: u8, stream: u16) -> String {
        match shape % 5 {
            0 | 1 => format!("room.{room}.audio.{stream}"),
            2 => format!("room.{room}.audio.*"),
            3 => format!("room.{room}.**"),
            _ => format!("room.{room}.chat"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Random subscribe / unsubscribe sequences on three listeners of a four-person room:
        /// each speaker's frame reaches exactly the other sockets whose rules, applied in
        /// order to a plain set of wanted streams, still hold its stream.
        #[test]
        fn delivery_is_subscribed_and_permitted(ops in prop::collection::vec((0usize..4, any::<bool>(), 0u8..5, 0usize..5), 0..12)) {
            let mut n = Node::with_config("a.os", roomy());
            let (room, ws) = room_with(&mut n, &[("p0", 1), ("p1", 2), ("p2", 3), ("p3", 4)]);
            let streams: Vec<u16> = ws.iter().map(|w| w.stream).collect();
            let absent = streams.iter().max().unwrap() + 7;
            // The reference: each socket's wanted streams (of those that exist, and one that does not).
            let universe: Vec<u16> = streams.iter().copied().chain([absent]).collect();
            let mut wanted: Vec<Vec<u16>> = vec![universe.clone(); 4];
            let mut t = 0;
            for (sock, sub, shape, s) in ops as Vec<Op> {
                let stream = universe[s % universe.len()];
                let p = pattern(&room, shape, stream);
                t += 200;
                n.send(t, sock as u32 + 1, &if sub { ClientMsg::Subscribe { pattern: p.clone() } } else { ClientMsg::Unsubscribe { pattern: p.clone() } });
                let got: Vec<ServerMsg> = n.take(sock as u32 + 1).into_iter().filter(|m| !matches!(m, ServerMsg::Presence { .. })).collect();
                let accepted = matches!(&got[..], [ServerMsg::Subscribed { .. } | ServerMsg::Unsubscribed { .. }]);
                prop_assert!(accepted, "{:?} {}: {:?}", sub, p, got);
                let hit: Vec<u16> = match shape % 5 {
                    0 | 1 => vec![stream],
                    2 | 3 => universe.clone(),
                    _ => vec![],
                };
                let w = &mut wanted[sock];
                if sub {
                    for h in hit { if !w.contains(&h) { w.push(h); } }
                } else {
                    w.retain(|x| !hit.contains(x));
                }
            }
            for (i, &s) in streams.iter().enumerate() {
                // One speaker at a time (past `active_stream_ms`): the K loudest are not in play.
                t += 400;
                let got = to(&mut n, t, i as u32 + 1, s, 1, 20);
                let expected: Vec<u32> = (0..4).filter(|&j| j != i && wanted[j].contains(&s)).map(|j| j as u32 + 1).collect();
                prop_assert_eq!(got, expected, "frame of p{} (stream {})", i, s);
            }
        }
    }
}
