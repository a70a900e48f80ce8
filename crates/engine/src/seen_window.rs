//! Which peer message sequence numbers were already taken, so a retried message is applied
//! once even when it arrives after later ones (a retry after a timeout can overtake nothing,
//! but a later message can overtake a retry).

/// How far behind the highest sequence a late message is still recognised.
const WINDOW: u64 = 128;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeenWindow {
    highest: u64,
    /// Bit i set: `highest - i` was seen.
    mask: u128,
}

impl SeenWindow {
    /// True the first time `seq` is offered; false for a repeat or one too old to tell.
    pub fn first_time(&mut self, seq: u64) -> bool {
        if seq == 0 {
            return false;
        }
        if seq > self.highest {
            let shift = seq - self.highest;
            self.mask = if shift >= WINDOW { 0 } else { self.mask << shift };
            self.mask |= 1;
            self.highest = seq;
            return true;
        }
        let behind = self.highest - seq;
        if behind >= WINDOW {
            return false;
        }
        let bit = 1u128 << behind;
        if self.mask & bit != 0 {
            return false;
        }
        self.mask |= bit;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_repeats_and_late_arrivals() {
        let mut w = SeenWindow::default();
        assert!(w.first_time(1));
        assert!(w.first_time(2));
        assert!(!w.first_time(2), "a repeat is refused");
        assert!(w.first_time(5), "gaps are fine");
        assert!(w.first_time(3), "a late message is taken once");
        assert!(!w.first_time(3));
        assert!(w.first_time(4));
        assert!(!w.first_time(1));
        assert!(!w.first_time(0));
    }

    #[test]
    fn too_old_is_refused_and_big_jumps_clear_the_window() {
        let mut w = SeenWindow::default();
        assert!(w.first_time(1));
        assert!(w.first_time(1000));
        assert!(!w.first_time(1000 - WINDOW), "outside the window");
        assert!(w.first_time(1000 - WINDOW + 1), "inside the window, unseen");
        assert!(w.first_time(1000 + WINDOW + 5));
        assert!(w.first_time(1000 + 10), "after a jump of more than the window only the new one is marked");
    }
}
