//! A source of "now" for expiry checks and rate limits, so tests drive time instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in seconds since the Unix epoch, as `f64`. `Clock::default()` is the system
/// clock; [`Clock::manual`] gives a clock that only moves when a test advances it.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> f64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0)
        }))
    }

    /// A clock starting at `start` seconds that moves only through the returned handle.
    pub fn manual(start: f64) -> (Clock, ManualClock) {
        let cell = Arc::new(AtomicU64::new(start.to_bits()));
        let c = cell.clone();
        (
            Clock(Arc::new(move || f64::from_bits(c.load(Ordering::SeqCst)))),
            ManualClock(cell),
        )
    }

    /// Seconds since the epoch.
    pub fn now(&self) -> f64 {
        (self.0)()
    }

    /// Whole seconds since the epoch.
    pub fn now_secs(&self) -> u64 {
        self.now().max(0.0) as u64
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// The handle that moves a [`Clock::manual`] clock.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Move the clock forward by `secs`.
    pub fn advance(&self, secs: f64) {
        let now = f64::from_bits(self.0.load(Ordering::SeqCst));
        self.0.store((now + secs).to_bits(), Ordering::SeqCst);
    }
}
