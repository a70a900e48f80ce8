//! Per-room event sequence and the bounded ring that `since(seq)` answers from.

use crate::protocol::{Event, LoggedEvent};
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct EventLog {
    /// Seq of the newest event (0 = none yet).
    last_seq: u64,
    ring: VecDeque<LoggedEvent>,
    capacity: usize,
}

/// Answer of `since(seq)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Since {
    /// Exactly the events after the given seq, oldest first (possibly none).
    Missed(Vec<LoggedEvent>),
    /// Too far behind (or ahead, after a restart): take a full snapshot.
    SnapshotNeeded,
}

impl EventLog {
    pub fn new(capacity: usize, last_seq: u64) -> Self {
        Self { last_seq, ring: VecDeque::with_capacity(capacity.min(1024)), capacity: capacity.max(1) }
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn append(&mut self, event: Event) -> &LoggedEvent {
        self.last_seq += 1;
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(LoggedEvent { seq: self.last_seq, event });
        self.ring.back().expect("just pushed")
    }

    pub fn since(&self, seq: u64) -> Since {
        if seq == self.last_seq {
            return Since::Missed(Vec::new());
        }
        if seq > self.last_seq {
            return Since::SnapshotNeeded;
        }
        match self.ring.front() {
            Some(first) if first.seq <= seq + 1 => {
                let skip = (seq + 1 - first.seq) as usize;
                Since::Missed(self.ring.iter().skip(skip).cloned().collect())
            }
            _ => Since::SnapshotNeeded,
        }
    }
}
