//! Save coalescing: a durable change is saved before the next input when no save happened
//! within `save_interval_ms`; changes in a burst are gathered into one save at the end of
//! the interval, since each save serializes every room.

#[derive(Debug, Clone)]
pub(crate) struct SaveSchedule {
    interval_ms: u64,
    dirty: bool,
    last_save: Option<u64>,
}

/// What to do about saving now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveNow {
    Nothing,
    Save,
    /// Save at this time (arm the save timer).
    Later(u64),
}

impl SaveSchedule {
    pub fn new(interval_ms: u64) -> Self {
        Self { interval_ms, dirty: false, last_save: None }
    }

    pub fn changed(&mut self) {
        self.dirty = true;
    }

    pub fn decide(&mut self, now: u64) -> SaveNow {
        if !self.dirty {
            return SaveNow::Nothing;
        }
        match self.last_save {
            Some(last) if now.saturating_sub(last) < self.interval_ms => SaveNow::Later(last + self.interval_ms),
            _ => {
                self.dirty = false;
                self.last_save = Some(now);
                SaveNow::Save
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_change_saves_at_once_and_a_burst_waits_for_the_interval() {
        let mut s = SaveSchedule::new(250);
        assert_eq!(s.decide(0), SaveNow::Nothing);
        s.changed();
        assert_eq!(s.decide(1_000), SaveNow::Save);
        assert_eq!(s.decide(1_001), SaveNow::Nothing);
        s.changed();
        assert_eq!(s.decide(1_010), SaveNow::Later(1_250));
        s.changed();
        assert_eq!(s.decide(1_249), SaveNow::Later(1_250));
        assert_eq!(s.decide(1_250), SaveNow::Save);
        s.changed();
        assert_eq!(s.decide(2_000), SaveNow::Save, "a change after a quiet interval saves at once");
    }
}
