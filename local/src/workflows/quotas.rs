//! Step Functions' API and transition quotas, simulated on request
//! (`make dev ARGS=--aws-quotas`, [`crate::Options::aws_quotas`]) so local
//! figures show what AWS would allow. Token buckets in real time, with the
//! published defaults of the largest regions (us-east-1, us-west-2,
//! eu-west-1; [AWS] `step-functions/latest/dg/service-quotas.html`):
//!
//! | bucket | size | refill per second |
//! |---|---|---|
//! | `StartExecution`, Standard | 1,300 | 300 |
//! | `StartExecution`, Express | 6,000 | 6,000 |
//! | `StateTransition` (Standard) | 5,000 | 1,500 |
//!
//! An empty `StartExecution` bucket refuses the call with
//! `ThrottlingException` ("Rate exceeded"), as AWS does. Every state entered
//! takes a `StateTransition` token; the interpreter moves through several
//! states in one step, so the bucket may go into debt, and no execution
//! takes its next step (a timer, a task result) until it is out of debt:
//! progress is throttled to the refill rate, as AWS throttles it, without
//! failing anything.
//!
//! Lambda's concurrency: an account runs at most 1,000 invocations at once
//! by default in every Region ([AWS] `lambda/latest/dg/lambda-concurrency.html`).
//! A synchronous invoke beyond it is refused, and Step Functions reports the
//! task as `Lambda.TooManyRequestsException` (which AWS advises retrying).
//! Locally the count covers the runner's own Lambda tasks.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::{RunnerError, WorkflowType};

/// One token bucket.
#[derive(Debug)]
pub struct Bucket {
    size: f64,
    refill_per_sec: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub fn new(size: u32, refill_per_sec: u32) -> Self {
        Self {
            size: f64::from(size),
            refill_per_sec: f64::from(refill_per_sec),
            state: Mutex::new((f64::from(size), Instant::now())),
        }
    }

    fn refill(&self) -> std::sync::MutexGuard<'_, (f64, Instant)> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let refilled =
            (s.0 + now.duration_since(s.1).as_secs_f64() * self.refill_per_sec).min(self.size);
        *s = (refilled, now);
        s
    }

    /// Take `n` tokens, going into debt if there are fewer.
    pub fn charge(&self, n: u64) {
        self.refill().0 -= n as f64;
    }

    /// Not in debt.
    pub fn ready(&self) -> bool {
        self.refill().0 >= 0.0
    }

    /// Take one token if there is one.
    pub fn try_take(&self) -> bool {
        let mut s = self.refill();
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The runner's quota buckets.
#[derive(Debug)]
pub struct Quotas {
    pub start_standard: Bucket,
    pub start_express: Bucket,
    pub transitions: Bucket,
    /// Lambda invocations allowed at once, and running now.
    pub lambda_concurrency: u32,
    pub lambda_in_flight: AtomicU32,
}

/// Lambda's default account concurrency.
pub const LAMBDA_CONCURRENCY: u32 = 1_000;

impl Default for Quotas {
    /// AWS's published defaults (largest regions).
    fn default() -> Self {
        Self {
            start_standard: Bucket::new(1_300, 300),
            start_express: Bucket::new(6_000, 6_000),
            transitions: Bucket::new(5_000, 1_500),
            lambda_concurrency: LAMBDA_CONCURRENCY,
            lambda_in_flight: AtomicU32::new(0),
        }
    }
}

/// One Lambda invocation running; frees its slot when dropped.
#[derive(Debug)]
pub struct LambdaSlot<'q>(&'q AtomicU32);

impl Drop for LambdaSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Quotas {
    /// Another account concurrency (a raised quota, or a small one to
    /// see throttling).
    pub fn with_lambda_concurrency(mut self, n: u32) -> Self {
        self.lambda_concurrency = n;
        self
    }

    /// A slot for one Lambda invocation, or `None` when the account's
    /// concurrency is in use (the invoke is throttled).
    pub fn lambda_slot(&self) -> Option<LambdaSlot<'_>> {
        let limit = self.lambda_concurrency;
        self.lambda_in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| LambdaSlot(&self.lambda_in_flight))
    }

    /// Take a `StartExecution` token, or answer AWS's throttling error.
    pub fn start_execution(&self, kind: WorkflowType) -> Result<(), RunnerError> {
        let bucket = match kind {
            WorkflowType::Standard => &self.start_standard,
            WorkflowType::Express => &self.start_express,
        };
        if bucket.try_take() {
            Ok(())
        } else {
            Err(RunnerError::Throttled("Rate exceeded".into()))
        }
    }

    /// Record `n` states entered.
    pub fn transitions(&self, n: u64) {
        if n > 0 {
            self.transitions.charge(n);
        }
    }

    /// Whether executions may take their next step (the StateTransition
    /// bucket is out of debt); false means wait and ask again.
    pub fn may_transition(&self) -> bool {
        self.transitions.ready()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_slots_are_limited_to_the_concurrency_and_freed_when_done() {
        let q = Quotas::default().with_lambda_concurrency(2);
        let a = q.lambda_slot().unwrap();
        let _b = q.lambda_slot().unwrap();
        assert!(q.lambda_slot().is_none(), "the third waits for a slot");
        drop(a);
        assert!(q.lambda_slot().is_some());
        assert_eq!(Quotas::default().lambda_concurrency, 1_000);
    }

    #[test]
    fn a_burst_empties_the_bucket_then_it_refills_at_its_rate() {
        let b = Bucket::new(10, 100);
        let taken = (0..20).filter(|_| b.try_take()).count();
        assert!((10..=11).contains(&taken), "{taken}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        let again = (0..20).filter(|_| b.try_take()).count();
        assert!((3..=10).contains(&again), "{again} after 50 ms at 100/s");
    }
}
