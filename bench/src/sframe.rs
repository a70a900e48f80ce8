//! Payloads shaped as end-to-end encrypted frames (issue 13, `ui/src/crypto`), for the relay
//! bench's `*-e2ee` rows. The browser's payload is SFrame header ‖ AES-128-CTR ciphertext of the
//! Opus packet (same length) ‖ 8-byte truncated HMAC-SHA256 tag; the 16-byte clear frame header
//! stays. The relay never decrypts and reads only the clear header, so this module writes the
//! real SFrame header (RFC 9605 §4.3, the KID and CTR the browser's `FrameEncryptor` uses) and
//! pseudo-random bytes where the ciphertext and tag go: no key, no AES, no HMAC (none of those
//! is a dependency here, and the relay's work cannot depend on them).
//!
//! The bench's latency probe (send time and speaker index, 10 bytes) is written at the start of
//! the ciphertext's place, so listeners still time every frame; the rest of it and the tag are
//! pseudo-random.

/// The truncated HMAC-SHA256 tag of suite `AES_128_CTR_HMAC_SHA256_64`.
pub const TAG_LEN: usize = 8;
/// The browser's encryptor moves on to a new random KID after this CTR (`nonce.ts` `MAX_CTR`).
pub const MAX_CTR: u64 = 0xffff;
/// The key epoch written in KID bits 32..40 (`nonce.ts` `makeKid`); 1 or more makes a 5-byte KID.
pub const EPOCH: u64 = 1;

/// Bytes a KID or CTR value takes after the config byte: none under 8 (it sits in the config
/// byte), else the fewest big-endian bytes that hold it.
fn field_len(v: u64) -> usize {
    if v < 8 {
        0
    } else {
        (64 - v.leading_zeros() as usize).div_ceil(8)
    }
}

fn field_bits(v: u64) -> u8 {
    if v < 8 {
        v as u8
    } else {
        0x8 | (field_len(v) - 1) as u8
    }
}

/// Appends the SFrame header for (KID, CTR) to `out`: config byte `X K K K Y C C C`, then KID, then CTR.
pub fn write_header(kid: u64, ctr: u64, out: &mut Vec<u8>) {
    out.push((field_bits(kid) << 4) | field_bits(ctr));
    out.extend_from_slice(&kid.to_be_bytes()[8 - field_len(kid)..]);
    out.extend_from_slice(&ctr.to_be_bytes()[8 - field_len(ctr)..]);
}

/// A parsed SFrame header: its values and how many bytes it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kid: u64,
    pub ctr: u64,
    pub len: usize,
}

/// Reads the SFrame header at the start of `payload`; `None` if it is cut short.
pub fn read_header(payload: &[u8]) -> Option<Header> {
    let config = *payload.first()?;
    let kid_len = if config & 0x80 != 0 { ((config >> 4) & 0x7) as usize + 1 } else { 0 };
    let ctr_len = if config & 0x08 != 0 { (config & 0x7) as usize + 1 } else { 0 };
    let len = 1 + kid_len + ctr_len;
    if payload.len() < len {
        return None;
    }
    let be = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64);
    let kid = if kid_len > 0 { be(&payload[1..1 + kid_len]) } else { ((config >> 4) & 0x7) as u64 };
    let ctr = if ctr_len > 0 { be(&payload[1 + kid_len..len]) } else { (config & 0x7) as u64 };
    Some(Header { kid, ctr, len })
}

/// One speaker's sending session, as the browser's `FrameEncryptor`: KID = epoch ‖ a random
/// 32-bit session, CTR from 0, one per frame, a new session after CTR 65,535.
pub struct Sealer {
    kid: u64,
    ctr: u64,
    rng: u64,
}

impl Sealer {
    /// `seed` drives the session numbers and the pseudo-random bytes (xorshift64*).
    pub fn new(seed: u64) -> Self {
        let mut s = Sealer { kid: 0, ctr: 0, rng: seed | 1 };
        s.new_session();
        s
    }

    /// Seeded from the process's hasher keys (random per process) and `salt`.
    pub fn random(salt: u64) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        Sealer::new(h.finish())
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn new_session(&mut self) {
        let old = self.kid;
        while self.kid == old {
            self.kid = (EPOCH << 32) | (self.next() >> 32);
        }
        self.ctr = 0;
    }

    #[cfg(test)]
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// Writes into `out` (cleared first) the payload of the next frame for an `opus_len`-byte
    /// Opus packet: SFrame header, `opus_len` bytes in the ciphertext's place starting with
    /// `probe`, then the 8-byte tag's place. `opus_len` must be at least `probe.len()`.
    pub fn seal(&mut self, opus_len: usize, probe: &[u8], out: &mut Vec<u8>) {
        assert!(opus_len >= probe.len(), "the Opus packet must hold the bench's probe");
        if self.ctr > MAX_CTR {
            self.new_session();
        }
        out.clear();
        write_header(self.kid, self.ctr, out);
        out.extend_from_slice(probe);
        let rest = opus_len - probe.len() + TAG_LEN;
        let end = out.len() + rest;
        while out.len() < end {
            let r = self.next().to_le_bytes();
            let n = (end - out.len()).min(8);
            out.extend_from_slice(&r[..n]);
        }
        self.ctr += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// The headers the browser's encryptor writes (docs/vectors/e2ee-frames.json, made by
    /// ui/src/crypto): ours are byte for byte the same, and so is the wire length.
    #[test]
    fn headers_and_lengths_match_the_shared_vectors() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/vectors/e2ee-frames.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut checked = 0;
        for sender in v["senders"].as_array().unwrap() {
            for session in sender["sessions"].as_array().unwrap() {
                let kid = session["kid"].as_u64().unwrap();
                for f in session["frames"].as_array().unwrap() {
                    let ctr = f["ctr"].as_u64().unwrap();
                    let mut ours = Vec::new();
                    write_header(kid, ctr, &mut ours);
                    assert_eq!(ours, hex(f["sframe_header_hex"].as_str().unwrap()), "{}", f["name"]);
                    assert_eq!(read_header(&ours), Some(Header { kid, ctr, len: ours.len() }));
                    let opus = f["clear"]["payload_hex"].as_str().unwrap().len() / 2;
                    let wire = f["wire_hex"].as_str().unwrap().len() / 2;
                    assert_eq!(wire, 16 + ours.len() + opus + TAG_LEN, "{}", f["name"]);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 3, "the vectors file has frames");
    }

    /// Frame by frame over a whole session and into the next: config byte, a 5-byte KID of
    /// epoch 1, CTR 0..7 in the config byte (+14), 8..255 in one byte (+15), 256..65,535 in two
    /// (+16), then a new KID from CTR 0 (+14 again); the probe right after the header.
    #[test]
    fn sealed_payloads_have_the_sframe_layout_and_14_to_16_bytes_more() {
        let opus = 80;
        let probe = [0xA5u8; 10];
        let mut s = Sealer::new(42);
        let first_kid = s.kid();
        let mut out = Vec::new();
        let mut by_overhead = [0usize; 3];
        for i in 0..=(MAX_CTR + 300) {
            s.seal(opus, &probe, &mut out);
            let h = read_header(&out).expect("a whole SFrame header");
            let (session_frame, kid_expected_first) = if i <= MAX_CTR { (i, true) } else { (i - MAX_CTR - 1, false) };
            assert_eq!(h.ctr, session_frame, "frame {i}");
            assert_eq!(h.kid == first_kid, kid_expected_first, "frame {i}: a new KID after CTR {MAX_CTR}");
            assert_eq!(h.kid >> 32, EPOCH);
            assert_eq!(out[0] & 0xF0, 0x80 | 0x40, "frame {i}: X = 1, KID of 5 bytes");
            let overhead = out.len() - opus;
            let expected = match h.ctr {
                0..=7 => 14,
                8..=255 => 15,
                _ => 16,
            };
            assert_eq!(overhead, expected, "frame {i}, CTR {}", h.ctr);
            assert_eq!(h.len + TAG_LEN + opus, out.len());
            if h.ctr < 8 {
                assert_eq!(out[0] & 0x0F, h.ctr as u8, "CTR in the config byte");
            } else {
                assert_eq!(out[0] & 0x08, 0x08, "Y = 1");
                assert_eq!(((out[0] & 0x07) + 1) as usize, h.len - 6);
            }
            assert_eq!(&out[h.len..h.len + probe.len()], &probe);
            by_overhead[overhead - 14] += 1;
        }
        assert_eq!(by_overhead, [8 + 8, 248 + 248, 65280 + 44], "sizes 14, 15, 16 over one session and 301 frames of the next");
    }

    /// The bytes after the probe are not constant (they stand for ciphertext and a tag).
    #[test]
    fn ciphertext_and_tag_places_vary() {
        let mut s = Sealer::new(7);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        s.seal(80, &[0; 10], &mut a);
        s.seal(80, &[0; 10], &mut b);
        let (ha, hb) = (read_header(&a).unwrap().len, read_header(&b).unwrap().len);
        assert_ne!(a[ha + 10..], b[hb + 10..]);
        assert!(a[ha + 10..].iter().any(|&x| x != a[ha + 10]));
    }
}
