//! The audio codec against the shared vectors (the UI's TypeScript codec reads the same file).

use voice_chat_engine::audio::{decode_frame, encode_frame, FrameHeader};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn vectors() -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/vectors/audio-frames.json");
    let text = std::fs::read_to_string(path).expect("docs/vectors/audio-frames.json exists");
    serde_json::from_str(&text).expect("vectors are JSON")
}

#[test]
fn every_vector_decodes_as_documented() {
    let vs = vectors();
    assert!(vs.len() >= 10);
    let mut ok = 0;
    let mut errors = 0;
    for v in vs {
        let name = v["name"].as_str().unwrap();
        let bytes = unhex(v["hex"].as_str().unwrap());
        let got = decode_frame(&bytes);
        if let Some(d) = v.get("decoded") {
            let h = got.unwrap_or_else(|e| panic!("{name}: expected a frame, got {e:?}"));
            assert_eq!(h.flags as u64, d["flags"].as_u64().unwrap(), "{name}");
            assert_eq!(h.voice(), d["voice"].as_bool().unwrap(), "{name}");
            assert_eq!(h.marker(), d["marker"].as_bool().unwrap(), "{name}");
            assert_eq!(h.stream_id as u64, d["stream_id"].as_u64().unwrap(), "{name}");
            assert_eq!(h.sequence as u64, d["sequence"].as_u64().unwrap(), "{name}");
            assert_eq!(h.timestamp as u64, d["timestamp"].as_u64().unwrap(), "{name}");
            assert_eq!(h.level as u64, d["level"].as_u64().unwrap(), "{name}");
            assert_eq!(h.payload_len as u64, d["payload_len"].as_u64().unwrap(), "{name}");
            let payload = unhex(d["payload_hex"].as_str().unwrap());
            assert_eq!(&bytes[16..], &payload[..], "{name}");
            // Encoding the decoded fields gives back the same bytes.
            let mut again = Vec::new();
            encode_frame(&FrameHeader { ..h }, &payload, &mut again).unwrap();
            assert_eq!(again, bytes, "{name}");
            ok += 1;
        } else {
            let want = v["error"].as_str().unwrap();
            let e = got.err().unwrap_or_else(|| panic!("{name}: expected error {want}"));
            assert_eq!(e.code(), want, "{name}");
            errors += 1;
        }
    }
    assert!(ok >= 4 && errors >= 8);
}
