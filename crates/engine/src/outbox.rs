//! The output queue, in the order the shell must act. Audio frames wait in one reused arena
//! (bytes and recipient lists), so queueing a frame allocates nothing once it has grown.

use crate::io::PeerId;
use crate::protocol::ServerMsg;
use crate::ConnId;
use std::collections::VecDeque;
use std::ops::Range;

#[derive(Debug)]
pub(crate) enum Pending {
    Text { conns: Vec<ConnId>, msg: ServerMsg },
    Binary { bytes: Range<usize>, conns: Range<usize> },
    Close(ConnId),
    PeerControl(u64),
    PeerAudio(PeerId),
    Persist,
    ListSockets,
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Pending>,
    frames: Vec<u8>,
    frame_conns: Vec<ConnId>,
}

impl Outbox {
    pub fn new() -> Self {
        Self { queue: VecDeque::with_capacity(256), frames: Vec::with_capacity(16 * 1024), frame_conns: Vec::with_capacity(1024) }
    }

    pub fn push(&mut self, p: Pending) {
        self.queue.push_back(p);
    }

    pub fn text(&mut self, conns: Vec<ConnId>, msg: ServerMsg) {
        if !conns.is_empty() {
            self.queue.push_back(Pending::Text { conns, msg });
        }
    }

    /// Queues one frame for `conns` (copied into the arena).
    pub fn binary(&mut self, frame: &[u8], conns: &[ConnId]) {
        if conns.is_empty() {
            return;
        }
        let b = self.frames.len();
        self.frames.extend_from_slice(frame);
        let c = self.frame_conns.len();
        self.frame_conns.extend_from_slice(conns);
        self.queue.push_back(Pending::Binary { bytes: b..self.frames.len(), conns: c..self.frame_conns.len() });
    }

    /// The next output; the arena is emptied once everything in it was taken.
    pub fn pop(&mut self) -> Option<Pending> {
        let p = self.queue.pop_front();
        if p.is_none() {
            self.frames.clear();
            self.frame_conns.clear();
        }
        p
    }

    /// Keeps the queued outputs for which `keep` says so, in order; `keep` may change them
    /// (polling sessions take their texts out here, `crate::poll_sessions`).
    pub fn retain_mut(&mut self, keep: impl FnMut(&mut Pending) -> bool) {
        self.queue.retain_mut(keep);
    }

    pub fn frame(&self, bytes: Range<usize>, conns: Range<usize>) -> (&[u8], &[ConnId]) {
        (&self.frames[bytes], &self.frame_conns[conns])
    }
}
