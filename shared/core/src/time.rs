//! Time: UTC instants (`jiff::Timestamp`, RFC 3339 on the wire) and a clock
//! port so rules that depend on "now" are testable.

pub use jiff::Timestamp;

/// Source of the current time. Production uses [`SystemClock`]; tests and the
/// local scheduler can use [`FixedClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FixedClock(std::sync::Mutex<Timestamp>);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        Self(std::sync::Mutex::new(at))
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Epoch seconds, as DynamoDB TTL attributes want them.
pub fn epoch_seconds(t: Timestamp) -> i64 {
    t.as_second()
}
