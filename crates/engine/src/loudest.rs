//! The "at most K loudest speakers" choice, per room, without allocating per frame.

/// Recently active streams of one room with their latest level (−dBov: lower is louder).
#[derive(Debug, Clone, Default)]
pub struct LoudestSet {
    active: Vec<ActiveStream>,
}

#[derive(Debug, Clone, Copy)]
struct ActiveStream {
    stream: u16,
    level: u8,
    last_ms: u64,
}

impl LoudestSet {
    pub fn with_capacity(n: usize) -> Self {
        Self { active: Vec::with_capacity(n) }
    }

    /// Records a frame of `stream` and says whether it is among the `k` loudest active
    /// streams (ties go to the lower stream id, so the choice is stable).
    pub fn admit(&mut self, now_ms: u64, active_ms: u64, k: usize, stream: u16, level: u8) -> bool {
        self.active.retain(|a| now_ms.saturating_sub(a.last_ms) < active_ms || a.stream == stream);
        match self.active.iter_mut().find(|a| a.stream == stream) {
            Some(a) => {
                a.level = level;
                a.last_ms = now_ms;
            }
            None => self.active.push(ActiveStream { stream, level, last_ms: now_ms }),
        }
        let louder = self
            .active
            .iter()
            .filter(|a| a.stream != stream && (a.level, a.stream) < (level, stream))
            .count();
        louder < k
    }

    pub fn forget(&mut self, stream: u16) {
        self.active.retain(|a| a.stream != stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_k_loudest_pass() {
        let mut s = LoudestSet::default();
        assert!(s.admit(0, 300, 2, 1, 10));
        assert!(s.admit(0, 300, 2, 2, 20));
        assert!(!s.admit(0, 300, 2, 3, 30));
        assert!(s.admit(1, 300, 2, 3, 5));
        assert!(!s.admit(2, 300, 2, 2, 20));
    }

    #[test]
    fn silent_streams_age_out() {
        let mut s = LoudestSet::default();
        assert!(s.admit(0, 300, 1, 1, 10));
        assert!(!s.admit(100, 300, 1, 2, 40));
        assert!(s.admit(400, 300, 1, 2, 40));
    }

    #[test]
    fn k_zero_forwards_nothing() {
        let mut s = LoudestSet::default();
        assert!(!s.admit(0, 300, 0, 1, 0));
    }
}
