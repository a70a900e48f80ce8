//! Binary audio frames and receive acknowledgements (docs/protocol.md, "Binary messages").
//! Pure functions over byte slices: no allocation on decode or stream-id rewrite.

use thiserror::Error;

pub const KIND_AUDIO: u8 = 0x01;
pub const KIND_ACK: u8 = 0x02;
/// Marks, inside a peer batch, which room the following frames belong to.
pub const KIND_ROOM_MARKER: u8 = 0x03;
pub const HEADER_LEN: usize = 16;
pub const MAX_FRAME_LEN: usize = 1536;
pub const ACK_LEN: usize = 5;
pub const FLAG_VOICE: u8 = 0b01;
pub const FLAG_MARKER: u8 = 0b10;
pub const MAX_LEVEL: u8 = 127;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("shorter than the 16-byte header")]
    TooShort,
    #[error("longer than 1536 bytes")]
    TooLarge,
    #[error("first byte is not an audio frame")]
    WrongKind,
    #[error("reserved flag bits are set")]
    ReservedFlags,
    #[error("reserved byte is not zero")]
    ReservedByte,
    #[error("audio level above 127")]
    BadLevel,
    #[error("payload length does not match the bytes that follow")]
    LengthMismatch,
}

impl FrameError {
    /// The stable code used in docs/protocol.md and docs/vectors/audio-frames.json.
    pub fn code(self) -> &'static str {
        match self {
            FrameError::TooShort => "too_short",
            FrameError::TooLarge => "too_large",
            FrameError::WrongKind => "wrong_kind",
            FrameError::ReservedFlags => "reserved_flags",
            FrameError::ReservedByte => "reserved_byte",
            FrameError::BadLevel => "bad_level",
            FrameError::LengthMismatch => "length_mismatch",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub flags: u8,
    pub stream_id: u16,
    pub sequence: u32,
    pub timestamp: u32,
    pub level: u8,
    pub payload_len: u16,
}

impl FrameHeader {
    pub fn voice(&self) -> bool {
        self.flags & FLAG_VOICE != 0
    }
    pub fn marker(&self) -> bool {
        self.flags & FLAG_MARKER != 0
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads and checks the header of a message that must hold exactly one frame.
pub fn decode_frame(msg: &[u8]) -> Result<FrameHeader, FrameError> {
    if msg.len() < HEADER_LEN {
        return Err(FrameError::TooShort);
    }
    if msg.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge);
    }
    let header = decode_header(msg)?;
    if msg.len() != HEADER_LEN + header.payload_len as usize {
        return Err(FrameError::LengthMismatch);
    }
    Ok(header)
}

/// Checks everything but the total length (used by the batch splitter too).
fn decode_header(msg: &[u8]) -> Result<FrameHeader, FrameError> {
    if msg.len() < HEADER_LEN {
        return Err(FrameError::TooShort);
    }
    if msg[0] != KIND_AUDIO {
        return Err(FrameError::WrongKind);
    }
    let flags = msg[1];
    if flags & !(FLAG_VOICE | FLAG_MARKER) != 0 {
        return Err(FrameError::ReservedFlags);
    }
    if msg[13] != 0 {
        return Err(FrameError::ReservedByte);
    }
    let level = msg[12];
    if level > MAX_LEVEL {
        return Err(FrameError::BadLevel);
    }
    Ok(FrameHeader {
        flags,
        stream_id: be16(msg, 2),
        sequence: be32(msg, 4),
        timestamp: be32(msg, 8),
        level,
        payload_len: be16(msg, 14),
    })
}

/// Writes the authoritative stream id into a frame in place.
pub fn set_stream_id(frame: &mut [u8], stream_id: u16) {
    frame[2..4].copy_from_slice(&stream_id.to_be_bytes());
}

/// Appends one encoded frame to `out`.
pub fn encode_frame(header: &FrameHeader, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    if HEADER_LEN + payload.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge);
    }
    if header.flags & !(FLAG_VOICE | FLAG_MARKER) != 0 {
        return Err(FrameError::ReservedFlags);
    }
    if header.level > MAX_LEVEL {
        return Err(FrameError::BadLevel);
    }
    out.push(KIND_AUDIO);
    out.push(header.flags);
    out.extend_from_slice(&header.stream_id.to_be_bytes());
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.push(header.level);
    out.push(0);
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AckError {
    #[error("an acknowledgement is exactly 5 bytes")]
    BadLength,
    #[error("first byte is not an acknowledgement")]
    WrongKind,
}

/// Total audio frames the client has received on its connection (wrapping).
pub fn decode_ack(msg: &[u8]) -> Result<u32, AckError> {
    if msg.first() != Some(&KIND_ACK) {
        return Err(AckError::WrongKind);
    }
    if msg.len() != ACK_LEN {
        return Err(AckError::BadLength);
    }
    Ok(be32(msg, 1))
}

pub fn encode_ack(received: u32) -> [u8; ACK_LEN] {
    let b = received.to_be_bytes();
    [KIND_ACK, b[0], b[1], b[2], b[3]]
}

/// One record of a peer batch.
#[derive(Debug, PartialEq, Eq)]
pub enum BatchRecord<'a> {
    /// The frames after this belong to that room (until the next marker).
    Room(&'a str),
    /// Byte range of one audio frame within the batch.
    Frame(std::ops::Range<usize>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("bad frame in batch: {0}")]
    Frame(FrameError),
    #[error("truncated or invalid room marker")]
    BadRoomMarker,
    #[error("unknown record kind")]
    UnknownRecord,
}

/// Appends a room marker: `0x03`, length (u8), room id bytes.
pub fn append_room_marker(room: &str, out: &mut Vec<u8>) {
    debug_assert!(room.len() <= 255);
    out.push(KIND_ROOM_MARKER);
    out.push(room.len() as u8);
    out.extend_from_slice(room.as_bytes());
}

/// Reads the next record of a peer batch at `*pos`, advancing it. `None` at the end.
pub fn next_batch_record<'a>(batch: &'a [u8], pos: &mut usize) -> Option<Result<BatchRecord<'a>, BatchError>> {
    let rest = batch.get(*pos..).filter(|r| !r.is_empty())?;
    match rest[0] {
        KIND_ROOM_MARKER => {
            let Some(&len) = rest.get(1) else {
                *pos = batch.len();
                return Some(Err(BatchError::BadRoomMarker));
            };
            let end = 2 + len as usize;
            let room = rest.get(2..end).and_then(|b| std::str::from_utf8(b).ok());
            match room {
                Some(room) => {
                    *pos += end;
                    Some(Ok(BatchRecord::Room(room)))
                }
                None => {
                    *pos = batch.len();
                    Some(Err(BatchError::BadRoomMarker))
                }
            }
        }
        KIND_AUDIO => match decode_header(rest) {
            Ok(h) => {
                let len = HEADER_LEN + h.payload_len as usize;
                if len > MAX_FRAME_LEN {
                    *pos = batch.len();
                    return Some(Err(BatchError::Frame(FrameError::TooLarge)));
                }
                if len > rest.len() {
                    *pos = batch.len();
                    return Some(Err(BatchError::Frame(FrameError::LengthMismatch)));
                }
                let start = *pos;
                *pos += len;
                Some(Ok(BatchRecord::Frame(start..start + len)))
            }
            Err(e) => {
                *pos = batch.len();
                Some(Err(BatchError::Frame(e)))
            }
        },
        _ => {
            *pos = batch.len();
            Some(Err(BatchError::UnknownRecord))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> FrameHeader {
        FrameHeader { flags: FLAG_VOICE, stream_id: 9, sequence: 4, timestamp: 960, level: 20, payload_len: 3 }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let mut out = Vec::new();
        encode_frame(&header(), &[1, 2, 3], &mut out).unwrap();
        assert_eq!(decode_frame(&out), Ok(header()));
    }

    #[test]
    fn stream_id_rewrite_touches_only_the_stream_field() {
        let mut out = Vec::new();
        encode_frame(&header(), &[1, 2, 3], &mut out).unwrap();
        let before = out.clone();
        set_stream_id(&mut out, 0xBEEF);
        assert_eq!(decode_frame(&out).unwrap().stream_id, 0xBEEF);
        assert_eq!(out[..2], before[..2]);
        assert_eq!(out[4..], before[4..]);
    }

    #[test]
    fn ack_round_trips_and_rejects_bad_input() {
        assert_eq!(decode_ack(&encode_ack(0xDEAD_BEEF)), Ok(0xDEAD_BEEF));
        assert_eq!(decode_ack(&[2, 0, 0, 0]), Err(AckError::BadLength));
        assert_eq!(decode_ack(&[1, 0, 0, 0, 0]), Err(AckError::WrongKind));
        assert_eq!(decode_ack(&[]), Err(AckError::WrongKind));
    }

    #[test]
    fn encoder_refuses_oversize_payload() {
        let mut out = Vec::new();
        assert_eq!(encode_frame(&header(), &[0; 1521], &mut out), Err(FrameError::TooLarge));
        assert!(out.is_empty());
    }

    #[test]
    fn batch_splits_into_markers_and_frames() {
        let mut batch = Vec::new();
        append_room_marker("r1", &mut batch);
        encode_frame(&header(), &[1, 2, 3], &mut batch).unwrap();
        encode_frame(&header(), &[], &mut batch).unwrap();
        let mut pos = 0;
        assert_eq!(next_batch_record(&batch, &mut pos), Some(Ok(BatchRecord::Room("r1"))));
        assert_eq!(next_batch_record(&batch, &mut pos), Some(Ok(BatchRecord::Frame(4..23))));
        assert_eq!(next_batch_record(&batch, &mut pos), Some(Ok(BatchRecord::Frame(23..39))));
        assert_eq!(next_batch_record(&batch, &mut pos), None);
    }

    #[test]
    fn truncated_batch_is_an_error_not_a_panic() {
        let mut batch = Vec::new();
        encode_frame(&header(), &[1, 2, 3], &mut batch).unwrap();
        batch.pop();
        let mut pos = 0;
        assert_eq!(
            next_batch_record(&batch, &mut pos),
            Some(Err(BatchError::Frame(FrameError::LengthMismatch)))
        );
        assert_eq!(next_batch_record(&batch, &mut pos), None);
    }
}
