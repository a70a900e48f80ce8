//! Limits that keep the owner in and bound every input (issue 10), each driven by the test's
//! own clock: the join deadline, the owner's reserve of sockets, the per-room join buckets,
//! oversized and garbage messages, bidi controls in names and chat, the per-node audio share
//! of a peer and the bounded peer-link table.

mod common;
use common::*;
use voice_chat_engine::audio::{append_room_marker, encode_ack};
use voice_chat_engine::{ClientMsg, Config, ConnKind, ErrorCode, Input, PeerEnvelope, PeerMsg, PeerRefusal, Refusal};

/// Opens `conn` as a guest and tries to join.
fn attempt(n: &mut Node, now: u64, conn: u32, room: &str, name: &str, invite: Option<&str>) -> Result<voice_chat_engine::Welcome, ErrorCode> {
    n.open(now, conn, ConnKind::Guest);
    n.try_join(now, conn, room, name, invite)
}

fn ping(n: &mut Node, now: u64, conn: u32) {
    n.send(now, conn, &ClientMsg::Ping { t: 1.0 });
}

/// The owner's room plus `guests` joined guests on conns 101.. (owner on conn 1).
fn room_with(n: &mut Node, guests: u32) -> voice_chat_engine::RoomCreated {
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Owner, &room.id, "owner", None);
    for g in 0..guests {
        n.join(0, 101 + g, ConnKind::Guest, &room.id, &format!("guest{g}"), Some(&room.invite));
    }
    n.clear();
    room
}

#[test]
fn a_socket_that_joins_no_room_in_time_is_closed_with_join_timeout() {
    let mut n = Node::new("a.os");
    let cfg = n.engine.config().clone();
    let room = n.create_room(open_settings());
    n.open(0, 1, ConnKind::Guest); // idle
    n.open(0, 2, ConnKind::Owner); // idle, the owner's too
    n.open(0, 3, ConnKind::Guest);
    n.try_join(4_000, 3, &room.id, "wrong", Some("not-the-invite")).unwrap_err(); // refused: still unjoined
    n.open(5_000, 4, ConnKind::Guest);
    n.join(6_000, 4, ConnKind::Guest, &room.id, "joined", Some(&room.invite));
    n.clear();
    // Not a moment early.
    n.tick(cfg.join_deadline_ms - 1);
    assert!(n.closed.is_empty());
    let due = n.engine.poll_timeout().unwrap();
    assert!(due <= cfg.join_deadline_ms, "the deadline is armed: {due}");
    n.tick(cfg.join_deadline_ms);
    assert_eq!(n.closed, vec![1, 2, 3]);
    for c in [1, 2, 3] {
        assert_eq!(n.errors(c), vec![ErrorCode::JoinTimeout], "conn {c}");
    }
    assert!(n.take(4).is_empty(), "the joined socket hears nothing");
    assert_eq!(n.engine.metrics().connections_timed_out, 3);
    assert_eq!(n.engine.metrics().connections, 1);
    // A socket that leaves its room has the deadline again, from when it left.
    let left = cfg.join_deadline_ms + 1_000;
    n.send(left, 4, &ClientMsg::Leave {});
    n.clear();
    n.tick(left + cfg.join_deadline_ms - 1);
    assert!(n.closed.is_empty());
    n.tick(left + cfg.join_deadline_ms);
    assert_eq!(n.closed, vec![4]);
    assert_eq!(n.engine.metrics().connections, 0);
}

#[test]
fn sockets_that_never_send_are_learnt_of_from_the_runtime_list() {
    let mut n = Node::new("a.os");
    let cfg = n.engine.config().clone();
    // No socket known: the engine still asks for the runtime's list, once a second.
    n.tick(cfg.socket_discovery_ms);
    assert_eq!(n.socket_checks, 1);
    n.tick(2 * cfg.socket_discovery_ms - 1);
    assert_eq!(n.socket_checks, 1);
    n.tick(2 * cfg.socket_discovery_ms);
    assert_eq!(n.socket_checks, 2);
    // Once one is known, every `socket_check_ms`.
    n.open(2_000, 9, ConnKind::Guest);
    n.tick(2_000 + cfg.socket_check_ms);
    assert_eq!(n.socket_checks, 3);
}

#[test]
fn guests_cannot_take_the_owners_reserve() {
    let mut n = Node::new("a.os");
    let cfg = n.engine.config().clone();
    let guest_cap = cfg.max_connections - cfg.owner_reserved_connections;
    let room = n.create_room(open_settings());
    for c in 0..120u32 {
        n.open(0, 1000 + c, ConnKind::Guest);
    }
    assert_eq!(n.engine.metrics().connections, guest_cap as u64);
    assert_eq!(n.engine.metrics().connections_refused, (120 - guest_cap) as u64);
    let refused: Vec<u32> = (1000 + guest_cap as u32..1120).collect();
    assert_eq!(n.closed, refused, "each refused guest is closed");
    for c in &refused {
        assert_eq!(n.errors(*c), vec![ErrorCode::TooManyConnections]);
    }
    // A refused socket the runtime still lists is not opened again (nor told again).
    let live: Vec<u32> = (1000..1120).collect();
    n.input(1, Input::LiveSockets { conns: &live }).unwrap();
    n.open(1, 1119, ConnKind::Guest);
    assert!(n.errors(1119).is_empty());
    assert_eq!(n.engine.metrics().connections_refused, (120 - guest_cap) as u64);
    // The owner opens its whole reserve and joins at once.
    for k in 0..cfg.owner_reserved_connections as u32 {
        n.open(2, k + 1, ConnKind::Owner);
    }
    n.join(2, 1, ConnKind::Owner, &room.id, "owner", None);
    assert_eq!(n.engine.metrics().connections, cfg.max_connections as u64);
    // Past max_connections the owner is refused too.
    assert_eq!(n.input(3, Input::Open { conn: 99, kind: ConnKind::Owner }), Err(Refusal::SocketLimit));
    assert_eq!(n.errors(99), vec![ErrorCode::TooManyConnections]);
}

#[test]
fn wrong_invites_spend_the_rooms_bad_invite_bucket_and_then_every_invite_join_waits() {
    let mut n = Node::new("a.os");
    let cfg = n.engine.config().clone();
    let room = room_with(&mut n, 0);
    let before = n.engine.room_snapshot(&room.id).unwrap();
    let bad = cfg.bad_invite_rate.burst;
    for i in 0..bad {
        assert_eq!(attempt(&mut n, 10, 200 + i, &room.id, &format!("x{i}"), Some("wrong")), Err(ErrorCode::BadInvite), "attempt {i}");
    }
    assert_eq!(attempt(&mut n, 10, 300, &room.id, "y", Some("wrong")), Err(ErrorCode::RateLimited));
    // Now even the right invite waits (the bucket says someone is guessing)...
    assert_eq!(attempt(&mut n, 10, 301, &room.id, "z", Some(&room.invite)), Err(ErrorCode::RateLimited));
    assert_eq!(n.engine.metrics().joins_rate_limited, 2);
    assert_eq!(n.engine.room_snapshot(&room.id).unwrap(), before, "refused joins change nothing");
    // ...but never the owner.
    n.join(10, 2, ConnKind::Owner, &room.id, "owner again", None);
    // A second later one token is back.
    n.join(10 + 1_000, 302, ConnKind::Guest, &room.id, "z", Some(&room.invite));
}

#[test]
fn join_attempts_per_room_are_rate_limited_even_with_the_invite() {
    let mut n = Node::new("a.os");
    let cfg = n.engine.config().clone();
    let room = n.create_room(open_settings());
    let burst = cfg.room_join_rate.burst;
    for i in 0..burst {
        n.join(0, 10 + i, ConnKind::Guest, &room.id, &format!("g{i}"), Some(&room.invite));
    }
    assert_eq!(attempt(&mut n, 0, 90, &room.id, "late", Some(&room.invite)), Err(ErrorCode::RateLimited));
    let per = 1_000 / cfg.room_join_rate.per_second as u64;
    n.join(per, 91, ConnKind::Guest, &room.id, "later", Some(&room.invite));
    // Another room has its own bucket.
    let other = n.create_room(open_settings());
    n.join(per, 92, ConnKind::Guest, &other.id, "elsewhere", Some(&other.invite));
}

#[test]
fn oversized_control_messages_cost_a_token() {
    let cfg = Config { max_garbage: 1_000, ..Config::default() };
    let mut n = Node::with_config("a.os", cfg.clone());
    room_with(&mut n, 1);
    let big = format!(r#"{{"v":1,"type":"chat","text":"{}"}}"#, "a".repeat(cfg.max_control_bytes));
    // The join took one token at time 0.
    for _ in 0..cfg.control_rate.burst - 1 {
        n.send_json(0, 101, &big);
    }
    assert_eq!(n.errors(101), vec![ErrorCode::TooLarge; cfg.control_rate.burst as usize - 1]);
    ping(&mut n, 0, 101);
    assert_eq!(n.errors(101), vec![ErrorCode::RateLimited], "the oversized ones used the bucket up");
    assert_eq!(n.engine.metrics().control_rate_limited, 1);
}

#[test]
fn a_socket_that_keeps_sending_garbage_is_closed() {
    let mut n = Node::new("a.os");
    let cfg = n.engine.config().clone();
    let room = room_with(&mut n, 2);
    let before = n.engine.metrics();
    let garbage: [&[u8]; 4] = [b"not json", br#"{"v":1,"type":"no_such_type"}"#, br#"{"v":9,"type":"ping","t":1}"#, b"{"];
    // Spread over more than one window: never closed.
    for i in 0..cfg.max_garbage - 1 {
        n.input(i as u64, Input::Text { conn: 101, text: garbage[i as usize % 4] }).unwrap();
    }
    let later = cfg.garbage_window_ms + 100;
    for i in 0..cfg.max_garbage - 1 {
        n.input(later + i as u64, Input::Text { conn: 101, text: garbage[i as usize % 4] }).unwrap();
    }
    assert!(n.closed.is_empty());
    assert_eq!(n.engine.metrics().connections_closed_for_garbage, 0);
    // Within one window, the max_garbage-th refused message closes it; malformed binary counts.
    for i in 0..cfg.max_garbage - 1 {
        n.input(later + 100 + i as u64, Input::Text { conn: 102, text: b"nope" }).unwrap();
    }
    assert!(n.closed.is_empty());
    let mut bad_ack = vec![voice_chat_engine::audio::KIND_ACK, 1];
    let _ = n.binary(later + 200, 102, &mut bad_ack);
    assert_eq!(n.closed, vec![102]);
    assert_eq!(n.engine.metrics().connections_closed_for_garbage, 1);
    assert_eq!(n.engine.metrics().connections, before.connections - 1);
    // Its participant is reconnecting (a closed socket), as after any close; nobody else is.
    let snap = n.engine.room_snapshot(&room.id).unwrap();
    let disconnected: Vec<&str> = snap.participants.iter().filter(|p| p.reconnecting).map(|p| p.name.as_str()).collect();
    assert_eq!(disconnected, vec!["guest1"]);
    // Once closed, nothing from it is taken.
    n.take(102);
    ping(&mut n, later + 300, 102);
    assert_eq!(n.errors(102), vec![ErrorCode::UnknownConnection]);
}

#[test]
fn bidi_controls_are_refused_in_names_and_chat() {
    let mut n = Node::new("a.os");
    let room = room_with(&mut n, 1);
    let before = n.engine.room_snapshot(&room.id).unwrap();
    for (i, name) in ["evil\u{202E}cod.exe", "\u{2066}iso", "a\u{202A}b", "pop\u{2069}", "tab\there", "bell\u{7}"].iter().enumerate() {
        assert_eq!(attempt(&mut n, 0, 300 + i as u32, &room.id, name, Some(&room.invite)), Err(ErrorCode::InvalidName), "{name:?}");
    }
    for text in ["gnp.\u{202E}exe", "\u{2067}x\u{2069}", "carriage\rreturn", "nul\u{0}"] {
        n.send(0, 101, &ClientMsg::Chat { text: text.into() });
        assert_eq!(n.errors(101), vec![ErrorCode::InvalidChat], "{text:?}");
    }
    assert_eq!(n.engine.room_snapshot(&room.id).unwrap(), before, "refusals change nothing");
    // Newlines and ordinary scripts pass.
    n.send(0, 101, &ClientMsg::Chat { text: "line one\nסוף مرحبا".into() });
    assert!(n.errors(101).is_empty());
    assert_eq!(n.engine.chat_history(&room.id).unwrap().last().unwrap().text, "line one\nסוף مرحبا");
}

#[test]
fn a_member_node_sending_ten_times_its_share_gets_its_share_relayed() {
    let mut net = Net::new(&["a.os", "b.os"]);
    let room = net.room_on_a_with_bob_from_b();
    let cfg = net.node("a.os").engine.config().clone();
    let bob_stream = {
        let snap = net.node("a.os").engine.room_snapshot(&room.id).unwrap();
        snap.participants.iter().find(|p| p.name == "bob").unwrap().stream
    };
    let a = net.node("a.os");
    a.clear();
    a.binaries.clear();
    let before = a.engine.metrics();
    // One second of 10 x 60 frames/s from b.os for its one participant, in batches of one
    // frame, acknowledged by alice (conn 1) so flow control stays out of it.
    let sent = 10 * cfg.peer_audio_rate.per_second;
    let mut delivered_to_alice = 0u32;
    for i in 0..sent {
        let now = 1 + (i as u64 * 1_000) / sent as u64;
        let mut batch = Vec::new();
        append_room_marker(&room.id, &mut batch);
        batch.extend(frame(bob_stream, i, 10));
        let pushes = a.peer_audio(now, "b.os", &mut batch);
        delivered_to_alice += pushes.iter().filter(|(c, _)| c.contains(&1)).count() as u32;
        let mut ack = encode_ack(delivered_to_alice).to_vec();
        a.binary(now, 1, &mut ack).unwrap();
    }
    let share = cfg.peer_audio_rate.burst + cfg.peer_audio_rate.per_second;
    let m = a.engine.metrics();
    assert!(delivered_to_alice <= share, "{delivered_to_alice} > {share}");
    assert!(delivered_to_alice >= share - 2, "an honest share passes: {delivered_to_alice}");
    let dropped = m.frames_dropped.peer_rate_limited - before.frames_dropped.peer_rate_limited;
    assert_eq!(dropped as u32 + delivered_to_alice, sent, "every frame over the share is counted");
    assert_eq!(m.flow_control_skips, before.flow_control_skips);
    // A frame for a stream b.os does not hold is still not_member, not counted as its share.
    let mut batch = Vec::new();
    append_room_marker(&room.id, &mut batch);
    batch.extend(frame(bob_stream + 100, 1, 10));
    a.peer_audio(5_000, "b.os", &mut batch);
    assert_eq!(a.engine.metrics().frames_dropped.not_member, m.frames_dropped.not_member + 1);
}

fn envelope(session: &str, seq: u64, msg: PeerMsg) -> Vec<u8> {
    PeerEnvelope::new(session, seq, msg).to_bytes()
}

#[test]
fn envelopes_for_many_room_ids_from_one_node_make_one_link() {
    let mut n = Node::new("a.os");
    let room = room_with(&mut n, 0);
    let snap = n.engine.room_snapshot(&room.id).unwrap();
    for i in 0..2_000u64 {
        let msg = match i % 3 {
            0 => PeerMsg::Sync { room: format!("room-{i}"), last_seq: 0 },
            1 => PeerMsg::Detach { room: format!("room-{i}"), participant: "p".into() },
            _ => PeerMsg::Join { room: format!("room-{i}"), join_ref: i, name: "x".into(), invite: None, resume: None },
        };
        // 2000 in 10 s: within the node's own rate.
        let _ = n.peer_message(i * 5, "spray.os", &envelope("s", i + 1, msg));
    }
    let m = n.engine.metrics();
    assert_eq!(m.peer_links, 1);
    assert_eq!(m.proxied_rooms, 0);
    assert_eq!(n.engine.room_snapshot(&room.id).unwrap().participants, snap.participants);
}

#[test]
fn envelopes_from_many_nodes_keep_the_link_table_capped() {
    let cfg = Config {
        max_peer_links: 16,
        new_peer_rate: voice_chat_engine::limits::RateLimit { burst: 1_000, per_second: 1_000 },
        ..Config::default()
    };
    let mut net = Net::new(&["a.os", "b.os"]);
    *net.node("a.os") = Node::with_config("a.os", Config { peer_control_retries: 0, ..cfg.clone() });
    let room = net.room_on_a_with_bob_from_b();
    let before = net.node("a.os").engine.room_snapshot(&room.id).unwrap();
    let a = net.node("a.os");
    let mut refused = 0;
    for i in 0..500u64 {
        let msg = PeerMsg::Sync { room: format!("room-{i}"), last_seq: 0 };
        if a.peer_message(100, &format!("n{i}.os"), &envelope("s", 1, msg)) == Err(PeerRefusal::RateLimited) {
            refused += 1;
        }
        assert!(a.engine.metrics().peer_links <= cfg.max_peer_links as u64);
    }
    assert_eq!(a.engine.metrics().peer_links, cfg.max_peer_links as u64);
    assert_eq!(refused, 500 - (cfg.max_peer_links as u64 - 1), "b.os holds one slot");
    // Past the short idle time, unused links make room for newcomers; b.os (bob is in the
    // room) is never forgotten.
    a.peer_message(100 + 30_000, "late.os", &envelope("s", 1, PeerMsg::HeartbeatAck {})).unwrap();
    assert_eq!(a.engine.metrics().peer_links_evicted, 1);
    assert_eq!(a.engine.metrics().peer_links, cfg.max_peer_links as u64);
    // At the sweep after the idle time every unused link goes; b.os keeps bob alive with its
    // heartbeats and keeps its link.
    let end = 100 + 30_000 + cfg.peer_link_idle_ms + cfg.sweep_interval_ms;
    let mut t = 100 + 30_000;
    while t <= end {
        t += 1_000;
        if t % 10_000 == 100 {
            // alice and bob are there all along.
            ping(net.node("a.os"), t, 1);
            ping(net.node("b.os"), t, 7);
        }
        net.node("a.os").tick(t);
        net.node("b.os").tick(t);
        net.run(t);
    }
    let a = net.node("a.os");
    assert_eq!(a.engine.metrics().peer_links, 1, "only b.os, whose participant is here");
    assert_eq!(a.engine.metrics().peer_links_evicted, cfg.max_peer_links as u64);
    let after = a.engine.room_snapshot(&room.id).unwrap();
    assert_eq!(after.participants, before.participants, "the spray changed nobody");
}

#[test]
fn guest_sockets_are_capped_per_client_address() {
    let mut n = Node::new("a.os");
    let cfg = n.engine.config().clone();
    let cap = cfg.max_guest_sockets_per_addr as u32;
    let open_from = |n: &mut Node, conn: u32, kind: ConnKind, addr: &str| n.input(0, Input::OpenFrom { conn, kind, addr });
    for c in 0..cap {
        // The port differs per socket; the address is what counts.
        assert_eq!(open_from(&mut n, 10 + c, ConnKind::Guest, &format!("203.0.113.7:{}", 40_000 + c)), Ok(()));
    }
    assert_eq!(open_from(&mut n, 99, ConnKind::Guest, "203.0.113.7:50000"), Err(Refusal::SocketLimit));
    assert_eq!(n.errors(99), vec![ErrorCode::TooManyConnections]);
    assert_eq!(n.closed, vec![99]);
    let m = n.engine.metrics();
    assert_eq!((m.connections_refused, m.connections_refused_per_addr, m.connections), (1, 1, cap as u64));
    // Other addresses, loopback (a local proxy), sockets without an address and the owner's
    // are not held back by it.
    assert_eq!(open_from(&mut n, 100, ConnKind::Guest, "198.51.100.2:1"), Ok(()));
    for c in 0..cap + 2 {
        assert_eq!(open_from(&mut n, 200 + c, ConnKind::Guest, "127.0.0.1:9"), Ok(()));
    }
    assert_eq!(n.input(0, Input::Open { conn: 300, kind: ConnKind::Guest }), Ok(()));
    assert_eq!(open_from(&mut n, 301, ConnKind::Owner, "203.0.113.7:1"), Ok(()));
    // IPv6: one /64 counts as one address.
    for c in 0..cap {
        assert_eq!(open_from(&mut n, 400 + c, ConnKind::Guest, &format!("[2001:db8:0:1::{c:x}]:1")), Ok(()));
    }
    assert_eq!(open_from(&mut n, 499, ConnKind::Guest, "[2001:db8:0:1:ffff::1]:1"), Err(Refusal::SocketLimit));
    // A socket that goes frees its address's slot.
    n.close(0, 10);
    assert_eq!(open_from(&mut n, 500, ConnKind::Guest, "203.0.113.7:1"), Ok(()));
}

#[test]
fn oversized_and_malformed_envelopes_cost_a_token_and_make_no_link() {
    let cfg = Config::default();
    let mut n = Node::new("a.os");
    room_with(&mut n, 0);
    let big = vec![b'x'; voice_chat_engine::peer_wire::MAX_PEER_MESSAGE_BYTES + 1];
    // From nodes without a link: the shared bucket pays, nothing is kept.
    for i in 0..cfg.new_peer_rate.burst {
        let body: &[u8] = if i % 2 == 0 { &big } else { b"{not json" };
        let r = n.peer_message(0, &format!("x{i}.os"), body);
        assert!(matches!(r, Err(PeerRefusal::TooLarge | PeerRefusal::Malformed(_))), "{r:?}");
    }
    assert_eq!(n.engine.metrics().peer_links, 0);
    let ok = envelope("s", 1, PeerMsg::HeartbeatAck {});
    assert_eq!(n.peer_message(0, "new.os", &ok), Err(PeerRefusal::RateLimited), "the garbage spent the newcomers' bucket");
    let per = 1_000 / cfg.new_peer_rate.per_second as u64;
    assert_eq!(n.peer_message(per, "new.os", &ok), Ok(()));
    assert_eq!(n.engine.metrics().peer_links, 1);
    // From a node with a link: its own bucket pays.
    for _ in 0..cfg.peer_rate.burst - 1 {
        assert_eq!(n.peer_message(per, "new.os", &big), Err(PeerRefusal::TooLarge));
    }
    let again = envelope("s", 2, PeerMsg::HeartbeatAck {});
    assert_eq!(n.peer_message(per, "new.os", &again), Err(PeerRefusal::RateLimited));
}
