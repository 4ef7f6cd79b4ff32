//! When a periodic run stops starting work.
//!
//! Lambda ends an invocation at its deadline without warning: whatever was judged but not yet
//! reported is lost, and the run's error never reaches the log. So a periodic run stops
//! starting new work [`SAFETY_MARGIN`] before the deadline Lambda gives (the invocation
//! context's `deadline`), and spends the margin on what is in flight (at most a few fetches and
//! judgements) and on reporting what was judged, then fails naming what it did not reach.

use std::time::{Duration, Instant, SystemTime};

/// The time kept back before Lambda's deadline: the in-flight calls (each may retry with the
/// SDK's backoff) and the last PutEvaluations batches fit in it. A function whose timeout is
/// shorter than this judges nothing periodically and says so.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(10);

/// The moment after which a run starts no new work, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    stop_at: Option<Instant>,
}

impl Deadline {
    /// No deadline: tests and tools that call the handler directly.
    pub fn none() -> Deadline {
        Deadline { stop_at: None }
    }

    /// Stop starting work at `stop_at`.
    pub fn stop_at(stop_at: Instant) -> Deadline {
        Deadline { stop_at: Some(stop_at) }
    }

    /// From Lambda's deadline (wall-clock time, as the invocation context gives it), less
    /// `margin`. Converted once to the monotonic clock, so that a clock step during the run
    /// moves nothing. A deadline already past, or closer than the margin, stops at once.
    pub fn from_lambda(deadline: SystemTime, margin: Duration) -> Deadline {
        let now = Instant::now();
        let remaining = deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        Deadline::stop_at(now + remaining.saturating_sub(margin))
    }

    /// Is it time to stop starting work?
    pub fn passed(&self) -> bool {
        self.stop_at.is_some_and(|at| Instant::now() >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_closer_than_the_margin_has_passed() {
        let soon = SystemTime::now() + Duration::from_secs(5);
        assert!(Deadline::from_lambda(soon, SAFETY_MARGIN).passed());
        let past = SystemTime::now() - Duration::from_secs(5);
        assert!(Deadline::from_lambda(past, SAFETY_MARGIN).passed());
        let later = SystemTime::now() + Duration::from_secs(60);
        assert!(!Deadline::from_lambda(later, SAFETY_MARGIN).passed());
        assert!(!Deadline::none().passed());
    }
}
