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
