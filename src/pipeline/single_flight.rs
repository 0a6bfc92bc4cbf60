//! Writes for one event id are serialised: whoever holds an event's turn is the only
//! one looking it up in Revel and writing it, so two deliveries (or a delivery and
//! the sweep) arriving together still yield one order. Turns are dropped from the
//! map once nobody holds or waits for them, so the map stays small.

use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Default)]
pub struct EventTurns {
    turns: DashMap<String, Arc<Mutex<()>>>,
}

/// Holding this is holding the event's turn.
pub struct Turn<'a> {
    owner: &'a EventTurns,
    event_id: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl EventTurns {
    pub async fn wait_for(&self, event_id: &str) -> Turn<'_> {
        let lock = Arc::clone(self.turns.entry(event_id.to_string()).or_default().value());
        let guard = lock.lock_owned().await;
        Turn {
            owner: self,
            event_id: event_id.to_string(),
            guard: Some(guard),
        }
    }

    pub fn len(&self) -> usize {
        self.turns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        // Only the map holds it now: nobody is waiting, so forget it.
        self.owner
            .turns
            .remove_if(&self.event_id, |_, lock| Arc::strong_count(lock) == 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn one_event_is_written_by_one_holder_at_a_time() {
        let turns = Arc::new(EventTurns::default());
        let inside = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (turns, inside, most) = (Arc::clone(&turns), Arc::clone(&inside), Arc::clone(&most));
                tokio::spawn(async move {
                    let _turn = turns.wait_for("61234567").await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(turns.is_empty(), "finished turns are forgotten");
    }
}
