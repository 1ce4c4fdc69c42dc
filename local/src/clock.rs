//! The local platform's clock: system time plus an offset that only grows.
//!
//! Every function of a local platform gets it as `Platform.clock`, and the
//! scheduler runner reads it, so "now" can be moved forward by tests and by
//! hand (`POST /_local/clock`) to make schedules, expiries and deadlines come
//! due without waiting. It never goes back: a clock that jumps backwards
//! would make things fire twice. The offset is not persisted: a restart
//! returns to system time.
//!
//! Not moved by it: Lambda deadlines, DynamoDB TTL, S3 presigned-URL
//! expiry, EventBridge envelope times and dead-letter file names (real time).

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use nexus_core::time::Clock;

#[derive(Debug, Default)]
pub struct LocalClock {
    offset: Mutex<SignedDuration>,
}

impl LocalClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// How far ahead of system time the clock is.
    pub fn offset(&self) -> SignedDuration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Move forward by `by` (≥ 0); returns the new now.
    pub fn advance(&self, by: SignedDuration) -> Result<Timestamp, String> {
        if by.is_negative() {
            return Err(format!("the local clock only moves forward (asked {by:#})"));
        }
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        let next = offset
            .checked_add(by)
            .filter(|o| Timestamp::now().checked_add(*o).is_ok())
            .ok_or_else(|| format!("advancing by {by:#} leaves the supported time range"))?;
        *offset = next;
        Ok(Timestamp::now() + next)
    }

    /// Jump to `to`, which must not be before now; returns the new now.
    pub fn set(&self, to: Timestamp) -> Result<Timestamp, String> {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        let real = Timestamp::now();
        let now = real + *offset;
        if to < now {
            return Err(format!(
                "the local clock only moves forward: {to} is before now ({now})"
            ));
        }
        *offset = to.duration_since(real);
        Ok(to)
    }
}

impl Clock for LocalClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(self.offset())
            .unwrap_or(Timestamp::MAX)
    }
}

/// A duration for `POST /_local/clock {"advance": …}`: ISO 8601 (`PT2H`,
/// `P1DT30M`; days are 24 h) or a number of seconds.
pub fn parse_advance(v: &serde_json::Value) -> Result<SignedDuration, String> {
    match v {
        serde_json::Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite())
            .and_then(|s| SignedDuration::try_from_secs_f64(s).ok())
            .ok_or_else(|| format!("{n} is not a number of seconds")),
        serde_json::Value::String(s) => {
            let span: jiff::Span = s
                .parse()
                .map_err(|e| format!("{s:?} is not an ISO 8601 duration: {e}"))?;
            // Days as 24 h, like Scheduler's rate(); months and years are refused.
            span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .map_err(|e| format!("{s:?}: {e}"))
        }
        other => Err(format!(
            "advance is an ISO 8601 duration or seconds, not {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn it_moves_forward_only() {
        let c = LocalClock::new();
        let before = c.now();
        let after = c.advance(SignedDuration::from_hours(2)).unwrap();
        assert!(after.duration_since(before) >= SignedDuration::from_hours(2));
        assert!(c.now() >= after);
        assert!(c.advance(SignedDuration::from_secs(-1)).is_err());
        let target = c.now() + SignedDuration::from_hours(24);
        assert_eq!(c.set(target).unwrap(), target);
        assert!(c.now() >= target && c.now() < target + SignedDuration::from_secs(5));
        assert!(c.set(target - SignedDuration::from_hours(1)).is_err());
        assert!(c.offset() > SignedDuration::from_mins(26 * 60 - 1));
    }

    #[test]
    fn advance_takes_iso_durations_or_seconds() {
        assert_eq!(
            parse_advance(&json!("PT2H")).unwrap(),
            SignedDuration::from_hours(2)
        );
        assert_eq!(
            parse_advance(&json!("P1DT30M")).unwrap(),
            SignedDuration::from_mins(24 * 60 + 30)
        );
        assert_eq!(
            parse_advance(&json!(90)).unwrap(),
            SignedDuration::from_secs(90)
        );
        assert_eq!(
            parse_advance(&json!(1.5)).unwrap(),
            SignedDuration::from_millis(1500)
        );
        assert!(parse_advance(&json!("P1M")).is_err());
        assert!(parse_advance(&json!("two hours")).is_err());
        assert!(parse_advance(&json!(null)).is_err());
    }
}
