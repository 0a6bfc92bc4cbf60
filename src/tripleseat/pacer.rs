//! TripleSeat allows about 10 requests a second per credential; every call the
//! connector makes (reads and token requests) waits here for its turn, a little
//! under that. A caller that gives up while waiting (a request past its deadline)
//! leaves nothing reserved behind: governor grants a slot only when it is taken,
//! so a burst of cancelled callers cannot make later reads wait for ghosts.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// One request every 110 ms: about 9 a second, with no burst above that.
const SPACING: Duration = Duration::from_millis(110);

pub struct Pacer(DefaultDirectRateLimiter);

impl Default for Pacer {
    fn default() -> Pacer {
        let quota = Quota::with_period(SPACING)
            .expect("invariant: the spacing is not zero")
            .allow_burst(NonZeroU32::MIN);
        Pacer(RateLimiter::direct(quota))
    }
}

impl Pacer {
    /// Waits until this caller may send.
    pub async fn wait(&self) {
        self.0.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancelled_waiters_leave_no_ghost_slots() {
        let pacer = Pacer::default();
        pacer.wait().await;
        // Fifty callers give up while waiting: none of them may cost the next one.
        for _ in 0..50 {
            let _ = tokio::time::timeout(Duration::from_millis(1), pacer.wait()).await;
        }
        let started = std::time::Instant::now();
        pacer.wait().await;
        assert!(
            started.elapsed() < SPACING * 10,
            "waited {:?} after the cancelled burst",
            started.elapsed()
        );
    }
}
