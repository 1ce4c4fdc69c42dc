//! Retrying DynamoDB transaction conflicts.
//!
//! DynamoDB cancels a transaction (and refuses a single-item write) that
//! touches an item another transaction is writing at that moment
//! (`TransactionConflict`). Nothing was written and the same request is
//! likely to succeed a few milliseconds later, so the store retries it with
//! bounded, fully jittered exponential backoff before reporting a conflict.
//! The AWS SDK does not retry these itself: its standard retry covers
//! throttling and transient transport errors only.
//!
//! Retrying the *same* request is sound because every write carries its own
//! conditions: a write whose decision depended on a read (a versioned
//! replace, a budget check) fails its condition on the retry if that read is
//! stale, and the caller re-reads and re-decides (see `nexus_market::retrying`).

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::error::StoreError;

/// How often and how patiently a conflicting write is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictRetry {
    /// Tries in all, the first included (1 = never retry).
    pub attempts: u32,
    /// Backoff ceiling before the n-th retry: `base · 2ⁿ⁻¹`, capped at `max`;
    /// the actual wait is uniform in `[0, ceiling]` ("full jitter"), so
    /// writers that collided once spread out instead of colliding again.
    pub base: Duration,
    pub max: Duration,
}

impl Default for ConflictRetry {
    /// Eight tries, waiting at most ~1.8 s in all (ceilings 25, 50, 100,
    /// 200, 400, 500, 500 ms; half that on average when every try
    /// conflicts): inside any API request's budget, and enough for a crowd
    /// of writers on one hot item (`tests/dynamodb.rs` races eight).
    fn default() -> Self {
        Self {
            attempts: 8,
            base: Duration::from_millis(25),
            max: Duration::from_millis(500),
        }
    }
}

impl ConflictRetry {
    /// Never retry: a conflict is reported at once.
    pub const NONE: ConflictRetry = ConflictRetry {
        attempts: 1,
        base: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// The ceiling of the wait before retry number `retry` (1-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// Sleep a random time in `[0, ceiling(retry)]` before retry number
    /// `retry` (1-based).
    pub async fn backoff(&self, retry: u32) {
        let wait = rand::rng().random_range(Duration::ZERO..=self.ceiling(retry));
        tokio::time::sleep(wait).await;
    }

    /// Run `op` until it does not report [`StoreError::TransactionConflict`]
    /// or the attempts are spent (then the conflict is returned). Any other
    /// outcome, success or error, is returned as it is.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut tried = 0;
        loop {
            tried += 1;
            match op().await {
                Err(StoreError::TransactionConflict) if tried < self.attempts.max(1) => {
                    tracing::debug!(tried, "transaction conflict; retrying");
                    self.backoff(tried).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn flaky(conflicts: u32, calls: &AtomicU32) -> impl Future<Output = Result<u32, StoreError>> {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if n <= conflicts {
                Err(StoreError::TransactionConflict)
            } else {
                Ok(n)
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_retried_until_the_write_goes_through() {
        let calls = AtomicU32::new(0);
        let r = ConflictRetry::default().run(|| flaky(3, &calls)).await;
        assert_eq!(r.unwrap(), 4);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflict_that_outlasts_the_attempts_is_reported() {
        let calls = AtomicU32::new(0);
        let policy = ConflictRetry::default();
        let r = policy.run(|| flaky(u32::MAX, &calls)).await;
        assert!(matches!(r, Err(StoreError::TransactionConflict)), "{r:?}");
        assert_eq!(calls.load(Ordering::SeqCst), policy.attempts);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = ConflictRetry::default()
            .run(|| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(StoreError::ConditionFailed { label: "x".into() }) }
            })
            .await;
        assert!(matches!(r, Err(StoreError::ConditionFailed { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn none_never_retries() {
        let calls = AtomicU32::new(0);
        let r = ConflictRetry::NONE.run(|| flaky(1, &calls)).await;
        assert!(matches!(r, Err(StoreError::TransactionConflict)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = ConflictRetry::default();
        let ms: Vec<u128> = (1..=7).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ms, [25, 50, 100, 200, 400, 500, 500]);
        assert_eq!(p.ceiling(40), p.max, "no overflow on absurd retry counts");
    }

    #[tokio::test(start_paused = true)]
    async fn the_waits_stay_under_the_ceilings() {
        let calls = AtomicU32::new(0);
        let policy = ConflictRetry::default();
        let start = tokio::time::Instant::now();
        let _ = policy.run(|| flaky(u32::MAX, &calls)).await;
        let bound: Duration = (1..policy.attempts).map(|n| policy.ceiling(n)).sum();
        assert!(
            start.elapsed() <= bound,
            "{:?} > {bound:?}",
            start.elapsed()
        );
    }
}
