//! The engine's one timer table: each kind of timer has one deadline (the earliest it is
//! needed); `Engine::poll_timeout` is the earliest of them. A timer that fires early only
//! makes its owner look again and re-arm, so arming may be conservative.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Remove participants (and proxied users) not heard from within the presence timeout.
    Sweep,
    /// Heartbeat the hosts of rooms we proxy.
    Heartbeat,
    /// Typing and speaking indicators that run out.
    Indicators,
    /// A coalesced save.
    Save,
    /// Ask the shell which sockets the runtime still has.
    SocketCheck,
    /// Control requests waiting to be sent again.
    ControlRetry,
    /// Proxied rooms whose sync request went unanswered.
    SyncRetry,
    /// Sockets that must have joined a room by now.
    JoinDeadline,
    /// Coalesced `node.rooms` updates due.
    Lobby,
}

const KINDS: usize = 9;

fn slot(t: Timer) -> usize {
    match t {
        Timer::Indicators => 0,
        Timer::Sweep => 1,
        Timer::Heartbeat => 2,
        Timer::Save => 3,
        Timer::SocketCheck => 4,
        Timer::ControlRetry => 5,
        Timer::SyncRetry => 6,
        Timer::JoinDeadline => 7,
        Timer::Lobby => 8,
    }
}

const ALL: [Timer; KINDS] = [
    Timer::Indicators,
    Timer::Sweep,
    Timer::Heartbeat,
    Timer::Save,
    Timer::SocketCheck,
    Timer::ControlRetry,
    Timer::SyncRetry,
    Timer::JoinDeadline,
    Timer::Lobby,
];

#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    at: [Option<u64>; KINDS],
}

impl Timers {
    /// Makes `timer` fire at `at` at the latest (an earlier deadline stays).
    pub fn arm(&mut self, timer: Timer, at: u64) {
        let d = &mut self.at[slot(timer)];
        *d = Some(d.map_or(at, |old| old.min(at)));
    }

    /// Sets `timer`'s deadline, replacing an earlier one (for periodic timers).
    pub fn set(&mut self, timer: Timer, at: Option<u64>) {
        self.at[slot(timer)] = at;
    }

    /// The earliest deadline of all.
    pub fn next(&self) -> Option<u64> {
        self.at.iter().flatten().min().copied()
    }

    /// Disarms and returns the timers due at `now`, in table order.
    pub fn take_due(&mut self, now: u64) -> impl Iterator<Item = Timer> {
        let mut due = [None; KINDS];
        for (i, t) in ALL.iter().enumerate() {
            if self.at[i].is_some_and(|at| at <= now) {
                self.at[i] = None;
                due[i] = Some(*t);
            }
        }
        due.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_wins_and_fires_once() {
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.arm(Timer::Save, 300);
        t.arm(Timer::Save, 500);
        t.arm(Timer::Sweep, 200);
        assert_eq!(t.next(), Some(200));
        assert_eq!(t.take_due(199).count(), 0);
        assert_eq!(t.take_due(300).collect::<Vec<_>>(), vec![Timer::Sweep, Timer::Save]);
        assert_eq!(t.next(), None);
        t.set(Timer::Heartbeat, Some(10));
        t.set(Timer::Heartbeat, Some(20));
        assert_eq!(t.next(), Some(20));
    }
}
