//! Token buckets for per-connection (and per-peer) rate limits.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Burst size.
    pub burst: u32,
    /// Sustained rate.
    pub per_second: u32,
}

/// Integer token bucket in milli-tokens, driven by the caller's clock.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    milli_tokens: u64,
    last_ms: u64,
}

impl TokenBucket {
    pub fn new(limit: RateLimit, now_ms: u64) -> Self {
        Self { limit, milli_tokens: limit.burst as u64 * 1000, last_ms: now_ms }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = self.last_ms.max(now_ms);
        let cap = self.limit.burst as u64 * 1000;
        self.milli_tokens = (self.milli_tokens.saturating_add(elapsed.saturating_mul(self.limit.per_second as u64))).min(cap);
    }

    /// Whether a token is there, without taking it.
    pub fn has_token(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        self.milli_tokens >= 1000
    }

    /// The limit from now on (tokens refilled so far at the old one; never above the new burst).
    pub fn set_limit(&mut self, limit: RateLimit, now_ms: u64) {
        if limit == self.limit {
            return;
        }
        self.refill(now_ms);
        self.limit = limit;
        self.milli_tokens = self.milli_tokens.min(limit.burst as u64 * 1000);
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_then_refill() {
        let mut b = TokenBucket::new(RateLimit { burst: 3, per_second: 10 }, 0);
        assert!(b.try_take(0) && b.try_take(0) && b.try_take(0));
        assert!(!b.try_take(0));
        assert!(!b.try_take(99));
        assert!(b.try_take(100));
        assert!(!b.try_take(100));
    }

    #[test]
    fn refill_never_exceeds_burst() {
        let mut b = TokenBucket::new(RateLimit { burst: 2, per_second: 1000 }, 0);
        assert!(b.try_take(1_000_000) && b.try_take(1_000_000));
        assert!(!b.try_take(1_000_000));
    }

    #[test]
    fn a_new_limit_keeps_what_was_earned_up_to_its_burst() {
        let mut b = TokenBucket::new(RateLimit { burst: 4, per_second: 10 }, 0);
        assert!(b.has_token(0));
        b.set_limit(RateLimit { burst: 2, per_second: 1 }, 0);
        assert!(b.try_take(0) && b.try_take(0));
        assert!(!b.has_token(999));
        assert!(b.has_token(1000) && b.try_take(1000));
        b.set_limit(RateLimit { burst: 20, per_second: 100 }, 1000);
        assert!(!b.try_take(1000), "a bigger burst is earned, not granted");
        assert!(b.try_take(1010));
    }

    #[test]
    fn clock_going_backwards_does_not_mint_tokens() {
        let mut b = TokenBucket::new(RateLimit { burst: 1, per_second: 1 }, 5000);
        assert!(b.try_take(5000));
        assert!(!b.try_take(1000));
        assert!(!b.try_take(5500));
        assert!(b.try_take(6000));
    }
}
