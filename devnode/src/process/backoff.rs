//! Upstream's restart backoff (`RestartBackoff` in `hyperdrive/src/kernel/process.rs`): a run
//! that lasted at least 5 x the current backoff restarts at once, otherwise the n-th quick exit
//! waits 2^(n-1) s, at most 600 s.
use std::time::Duration;

const BASE_BACKOFF_SECS: u64 = 1;
const MAX_BACKOFF_SECS: u64 = 600;
const MAX_HEALTHY_DURATION_SECS: u64 = 50 * 60;
const HEALTHY_RUN_MULTIPLIER: u32 = 5;

/// Backoff bookkeeping across runs of one process (upstream `RestartBackoff`).
pub(super) struct Backoff {
    consecutive_attempts: u32,
    current_backoff: Duration,
    pub(super) last_start: tokio::time::Instant,
}

impl Backoff {
    /// A fresh process: its first exit, however quick, restarts at once.
    pub(super) fn new() -> Backoff {
        Backoff {
            consecutive_attempts: 1,
            current_backoff: Duration::from_secs(BASE_BACKOFF_SECS),
            last_start: tokio::time::Instant::now(),
        }
    }

    /// Returns how long to wait before the next start, after an exit now.
    pub(super) fn on_exit(&mut self) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let uptime = now.saturating_duration_since(self.last_start);
        let max_healthy = Duration::from_secs(MAX_HEALTHY_DURATION_SECS);
        let healthy = self.current_backoff.checked_mul(HEALTHY_RUN_MULTIPLIER).unwrap_or(max_healthy).min(max_healthy);
        if uptime >= healthy {
            self.consecutive_attempts = 1;
            self.current_backoff = Duration::from_secs(BASE_BACKOFF_SECS);
        } else {
            self.consecutive_attempts = self.consecutive_attempts.saturating_add(1);
            let exp = self.consecutive_attempts.saturating_sub(1).min(63);
            let secs = if exp >= 63 { u64::MAX } else { 1u64 << exp };
            self.current_backoff = Duration::from_secs(secs.clamp(BASE_BACKOFF_SECS, MAX_BACKOFF_SECS));
        }
        (self.consecutive_attempts > 1).then_some(self.current_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff::new()
    }

    #[tokio::test(start_paused = true)]
    async fn quick_exits_back_off_by_powers_of_two_up_to_ten_minutes() {
        let mut b = backoff();
        let mut waits = Vec::new();
        for _ in 0..12 {
            let wait = b.on_exit();
            waits.push(wait.map(|d| d.as_secs()));
            tokio::time::advance(wait.unwrap_or_default()).await;
            b.last_start = tokio::time::Instant::now();
        }
        let expected: Vec<Option<u64>> =
            [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600].into_iter().map(Some).collect();
        assert_eq!(waits, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_healthy_run_resets_the_backoff_and_restarts_at_once() {
        let mut b = backoff();
        assert_eq!(b.on_exit(), Some(Duration::from_secs(2)));
        b.last_start = tokio::time::Instant::now();
        // Healthy = at least 5 × the current backoff (2 s).
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.on_exit(), None);
        assert_eq!(b.current_backoff, Duration::from_secs(1));
        b.last_start = tokio::time::Instant::now();
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(b.on_exit(), Some(Duration::from_secs(2)), "4 s is short of 5 × 1 s");
    }
}
