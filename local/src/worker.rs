//! What the platform and its background workers share: the stop signal
//! ([`Shutdown`]), the idleness a worker reports ([`Activity`], watched by
//! [`crate::LocalPlatform::settle`]) and the [`Worker`] trait itself.
//!
//! Kept apart from [`crate::platform`] so that the workers (streams,
//! scheduler, event bus, workflows runner, gateway, S3) depend on this small
//! module and the platform depends on them, with no import circle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::functions::BoxFuture;

/// The stop signal every task watches.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal that fires when `rx` turns true (or its sender is dropped).
    pub fn new(rx: watch::Receiver<bool>) -> Self {
        Self(rx)
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the platform stops (or is dropped).
    pub async fn triggered(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sleep, waking early on shutdown; true when shutting down.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = self.triggered() => true,
            _ = tokio::time::sleep(d) => self.is_triggered(),
        }
    }
}

/// What a component has taken on and whether it is idle, for
/// [`crate::LocalPlatform::settle`].
///
/// A *counting* activity (the bus) is idle when nothing is in flight. A
/// *polling* activity (a stream consumer) is idle once a poll that started
/// after the observed position found nothing to do.
#[derive(Debug)]
pub struct Activity {
    polling: bool,
    work: AtomicU64,
    in_flight: AtomicU64,
    ticks: AtomicU64,
    idle_tick: AtomicU64,
}

/// Marks one unit of work in flight until dropped.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Activity {
    fn with(polling: bool) -> Self {
        Self {
            polling,
            work: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            idle_tick: AtomicU64::new(0),
        }
    }
    pub fn counting() -> Self {
        Self::with(false)
    }
    pub fn polling() -> Self {
        Self::with(true)
    }
    /// Record `n` items taken on (events accepted, records read).
    pub fn took(&self, n: u64) {
        self.work.fetch_add(n, Ordering::SeqCst);
    }
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }
    /// Start a poll; returns its number.
    pub fn tick(&self) -> u64 {
        self.ticks.fetch_add(1, Ordering::SeqCst) + 1
    }
    /// Poll `tick` found nothing to do.
    pub fn idle_at(&self, tick: u64) {
        self.idle_tick.fetch_max(tick, Ordering::SeqCst);
    }
    pub fn work(&self) -> u64 {
        self.work.load(Ordering::SeqCst)
    }
    pub fn position(&self) -> u64 {
        self.ticks.load(Ordering::SeqCst)
    }
    pub fn idle_since(&self, position: u64) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
            && (!self.polling || self.idle_tick.load(Ordering::SeqCst) > position)
    }
}

/// A background component started and stopped with the platform (see the
/// module docs).
pub trait Worker: Send + Sync + 'static {
    fn name(&self) -> String;
    fn activity(&self) -> Arc<Activity>;
    /// Run until `shutdown` fires.
    fn run(self: Arc<Self>, shutdown: Shutdown) -> BoxFuture<()>;
}
