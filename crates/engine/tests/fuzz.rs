//! Bounded fuzzing (runs in CI): arbitrary and near-valid bytes into every decoder and into
//! the engine's input handlers. The property is "no panic, and refusals change nothing".
//! `FUZZ_CASES=100000 cargo test -p voice-chat-engine --test fuzz --release` runs it longer.

mod common;
use common::*;
use proptest::prelude::*;
use voice_chat_engine::audio::{decode_ack, decode_frame, next_batch_record};
use voice_chat_engine::protocol::decode_client;
use voice_chat_engine::{ConnKind, Engine, Input, PeerEnvelope};

fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// JSON-ish text built from protocol words, so the decoder gets past the first checks.
fn near_json() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "{", "}", "[", "]", ",", ":", "\"v\"", "1", "2", "-1", "1e309", "\"type\"", "\"join\"", "\"chat\"", "\"set_role\"",
        "\"room\"", "\"name\"", "\"text\"", "\"role\"", "\"host\"", "\"participant\"", "\"settings\"", "\"capacity\"",
        "\"resume\"", "\"token\"", "\"last_seq\"", "null", "true", "\"\u{0}\"", "\"é\"", "\"ref\"", "\"t\"", "1.5",
        "18446744073709551616", "\"moderator\"", "\"update_settings\"", "\"sync\"", "\"ping\"",
    ]);
    prop::collection::vec(words, 0..40).prop_map(|w| w.concat())
}

fn frameish() -> impl Strategy<Value = Vec<u8>> {
    (any::<[u8; 16]>(), prop::collection::vec(any::<u8>(), 0..64), any::<bool>()).prop_map(|(mut h, payload, fix)| {
        if fix {
            h[0] = 1;
            h[1] &= 3;
            h[12] &= 127;
            h[13] = 0;
            h[14..16].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        let mut v = h.to_vec();
        v.extend(payload);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(20_000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), text in near_json(), f in frameish()) {
        let _ = decode_client(&bytes, 64 * 1024);
        let _ = decode_client(text.as_bytes(), 64 * 1024);
        let _ = decode_frame(&bytes);
        if let Ok(h) = decode_frame(&f) {
            prop_assert_eq!(h.payload_len as usize + 16, f.len());
        }
        let _ = decode_ack(&bytes);
        let _ = PeerEnvelope::from_bytes(&bytes);
        let _ = PeerEnvelope::from_bytes(text.as_bytes());
        let mut pos = 0;
        let mut steps = 0;
        while let Some(r) = next_batch_record(&bytes, &mut pos) {
            steps += 1;
            prop_assert!(steps <= bytes.len(), "batch splitter must make progress");
            if let Ok(voice_chat_engine::audio::BatchRecord::Frame(range)) = r {
                prop_assert!(decode_frame(&bytes[range]).is_ok());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2_000), failure_persistence: None, ..ProptestConfig::default() })]

    /// Garbage into a live engine: it never panics, and refused input changes no room state.
    /// (A socket that keeps sending garbage is closed, which does change the room: that
    /// limit is off here and tested in tests/abuse_limits.rs.)
    #[test]
    fn engine_survives_garbage(inputs in prop::collection::vec((0..5u8, prop::collection::vec(any::<u8>(), 0..200), near_json(), frameish()), 1..30)) {
        let mut n = Node::with_config("a.os", voice_chat_engine::Config { max_garbage: u32::MAX, ..voice_chat_engine::Config::default() });
        let room = n.create_room(open_settings());
        n.join(0, 1, ConnKind::Owner, &room.id, "owner", None);
        n.join(0, 2, ConnKind::Guest, &room.id, "guest", Some(&room.invite));
        for (t, (kind, bytes, text, f)) in inputs.into_iter().enumerate() {
            let now = t as u64 * 20;
            let before = n.engine.room_snapshot(&room.id).unwrap();
            match kind {
                0 => { let _ = n.engine.handle(now, Input::Text { conn: 2, text: &bytes }); }
                1 => { let _ = n.engine.handle(now, Input::Text { conn: 2, text: text.as_bytes() }); }
                2 => { let mut f = f; let _ = n.binary(now, 2, &mut f); }
                3 => { let _ = n.peer_message(now, "x.os", &bytes); let _ = n.peer_message(now, "x.os", text.as_bytes()); }
                _ => { let mut b = bytes; let _ = n.engine.handle(now, Input::PeerAudio { from: "x.os", batch: &mut b }); }
            }
            n.pump();
            let errors = n.take(2).iter().filter(|m| matches!(m, voice_chat_engine::ServerMsg::Error { .. })).count();
            if errors > 0 || kind >= 3 {
                let after = n.engine.room_snapshot(&room.id).unwrap();
                prop_assert_eq!(before.seq, after.seq, "refused input changed the room");
            }
        }
        let _: &Engine = &n.engine;
    }
}

/// What a peer node may send: envelopes (valid, mangled, and from many nodes) and audio
/// batches (frames for a real or made-up room, for its own stream or others, and noise).
#[derive(Debug, Clone)]
enum PeerInput {
    Envelope { pick: u8, seq: u64, text: String },
    Mangled { pick: u8, seq: u64, cut: usize, flip: u8 },
    Spray { node: u8, seq: u64 },
    Batch { real_room: bool, own_stream: bool, frames: Vec<Vec<u8>> },
    /// Many valid frames of the member's own stream at once: over its share.
    Flood { frames: u32 },
    Noise(Vec<u8>),
}

fn peer_input() -> impl Strategy<Value = PeerInput> {
    prop_oneof![
        (any::<u8>(), 1..3000u64, "\\PC{0,40}").prop_map(|(pick, seq, text)| PeerInput::Envelope { pick, seq, text }),
        (any::<u8>(), 1..3000u64, any::<usize>(), any::<u8>()).prop_map(|(pick, seq, cut, flip)| PeerInput::Mangled { pick, seq, cut, flip }),
        (any::<u8>(), 1..5u64).prop_map(|(node, seq)| PeerInput::Spray { node, seq }),
        (any::<bool>(), any::<bool>(), prop::collection::vec(frameish(), 0..12))
            .prop_map(|(real_room, own_stream, frames)| PeerInput::Batch { real_room, own_stream, frames }),
        (20..150u32).prop_map(|frames| PeerInput::Flood { frames }),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(PeerInput::Noise),
    ]
}

/// A peer message of every kind, aimed at the room and participant or beside them.
fn peer_msg(pick: u8, room: &str, bob: &str, invite: &str, text: String) -> voice_chat_engine::PeerMsg {
    use voice_chat_engine::{ClientMsg, PeerMsg};
    let r = if pick & 0x80 == 0 { room.to_string() } else { format!("other-{pick}") };
    let p = if pick & 0x40 == 0 { bob.to_string() } else { "nobody".to_string() };
    match pick % 10 {
        0 => PeerMsg::Heartbeat { rooms: vec![voice_chat_engine::peer_wire::HeldParticipants { room: r, participants: vec![p] }] },
        1 => PeerMsg::Sync { room: r, last_seq: pick as u64 },
        2 => PeerMsg::Detach { room: r, participant: p },
        3 => PeerMsg::Control { room: r, participant: p, msg: ClientMsg::Chat { text }, reference: Some("f".into()) },
        4 => PeerMsg::Control { room: r, participant: p, msg: ClientMsg::Typing {}, reference: None },
        5 => PeerMsg::Join { room: r, join_ref: pick as u64, name: text, invite: Some(invite.into()), resume: None },
        6 => PeerMsg::Join { room: r, join_ref: pick as u64, name: "x".into(), invite: Some(text), resume: None },
        7 => PeerMsg::HeartbeatAck {},
        8 => PeerMsg::Control { room: r, participant: p, msg: ClientMsg::Sync { last_seq: 0 }, reference: None },
        _ => PeerMsg::Control { room: r, participant: p, msg: ClientMsg::Ping { t: 1.0 }, reference: None },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1_000), failure_persistence: None, ..ProptestConfig::default() })]

    /// Envelopes and audio batches from a member node and from many others: no panic, refused
    /// envelopes change no room state, the link table stays within its cap, and no more of the
    /// member's audio is relayed than its share.
    #[test]
    fn engine_survives_peer_input(inputs in prop::collection::vec(peer_input(), 1..40)) {
        use voice_chat_engine::{Config, PeerMsg};
        let cfg = Config {
            max_peer_links: 8,
            new_peer_rate: voice_chat_engine::limits::RateLimit { burst: 1_000, per_second: 1_000 },
            ..Config::default()
        };
        let mut n = Node::with_config("a.os", cfg.clone());
        let room = n.create_room(open_settings());
        n.join(0, 1, ConnKind::Owner, &room.id, "owner", None);
        let join = PeerMsg::Join { room: room.id.clone(), join_ref: 1, name: "bob".into(), invite: Some(room.invite.clone()), resume: None };
        n.peer_message(0, "b.os", &PeerEnvelope::new("b", 1, join).to_bytes()).unwrap();
        let welcome = n.to_peers.drain(..).find_map(|(_, e)| match e.msg { PeerMsg::Joined { welcome, .. } => Some(welcome), _ => None }).unwrap();
        let (bob, stream) = (welcome.participant.clone(), welcome.stream);
        let mut relayed_from_bob = 0u64;
        let mut last = 0;
        // b.os may join more participants (its share grows with them).
        let mut most_held = 1u64;
        for (t, input) in inputs.into_iter().enumerate() {
            let now = 1 + t as u64 * 20;
            last = now;
            let before = n.engine.room_snapshot(&room.id).unwrap().seq;
            let refused = match input {
                PeerInput::Envelope { pick, seq, text } => {
                    let env = PeerEnvelope::new("b", seq, peer_msg(pick, &room.id, &bob, &room.invite, text));
                    n.peer_message(now, "b.os", &env.to_bytes()).is_err()
                }
                PeerInput::Mangled { pick, seq, cut, flip } => {
                    let mut bytes = PeerEnvelope::new("b", seq, peer_msg(pick, &room.id, &bob, &room.invite, String::new())).to_bytes();
                    let i = cut % bytes.len();
                    bytes[i] ^= flip;
                    if flip & 1 == 1 {
                        bytes.truncate(i);
                    }
                    n.peer_message(now, "b.os", &bytes).is_err()
                }
                PeerInput::Spray { node, seq } => {
                    let msg = PeerMsg::Sync { room: format!("r{node}"), last_seq: 0 };
                    n.peer_message(now, &format!("n{node}.os"), &PeerEnvelope::new("s", seq, msg).to_bytes()).is_err()
                }
                PeerInput::Batch { real_room, own_stream, frames } => {
                    let mut batch = Vec::new();
                    voice_chat_engine::audio::append_room_marker(if real_room { &room.id } else { "made-up" }, &mut batch);
                    for mut f in frames {
                        if own_stream && f.len() >= 4 {
                            f[2..4].copy_from_slice(&stream.to_be_bytes());
                        }
                        batch.extend(f);
                    }
                    let pushes = n.peer_audio(now, "b.os", &mut batch);
                    relayed_from_bob += pushes.iter().filter(|(c, _)| c.contains(&1)).count() as u64;
                    false
                }
                PeerInput::Flood { frames } => {
                    let mut batch = Vec::new();
                    voice_chat_engine::audio::append_room_marker(&room.id, &mut batch);
                    for i in 0..frames {
                        batch.extend(frame(stream, t as u32 * 1_000 + i, 10));
                    }
                    let pushes = n.peer_audio(now, "b.os", &mut batch);
                    relayed_from_bob += pushes.iter().filter(|(c, _)| c.contains(&1)).count() as u64;
                    false
                }
                PeerInput::Noise(mut bytes) => {
                    let pushes = n.peer_audio(now, "b.os", &mut bytes);
                    relayed_from_bob += pushes.iter().filter(|(c, _)| c.contains(&1)).count() as u64;
                    false
                }
            };
            n.pump();
            n.to_peers.clear();
            // The owner acknowledges what it got, so flow control holds nothing back.
            let mut ack = voice_chat_engine::audio::encode_ack(relayed_from_bob as u32).to_vec();
            let _ = n.binary(now, 1, &mut ack);
            if refused {
                prop_assert_eq!(n.engine.room_snapshot(&room.id).unwrap().seq, before, "a refused envelope changed the room");
            }
            prop_assert!(n.engine.metrics().peer_links <= cfg.max_peer_links as u64);
            let held = n.engine.room_snapshot(&room.id).unwrap().participants.iter().filter(|p| p.node == "b.os").count() as u64;
            most_held = most_held.max(held);
        }
        // Its share: one peer_audio_rate per participant it held.
        let share = most_held * (cfg.peer_audio_rate.burst as u64 + cfg.peer_audio_rate.per_second as u64 * last / 1000) + 1;
        prop_assert!(relayed_from_bob <= share, "{} relayed, share {}", relayed_from_bob, share);
    }
}
