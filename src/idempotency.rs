//! Delivery keys and the bounded in-memory store of deliveries seen.
//!
//! The store is a fast path against TripleSeat's redeliveries, not the guarantee
//! against duplicate orders: that lives in Revel (`local_id`), which survives restarts.
//!
//! A delivery *claims* its key, which fails if the key is in flight or settled and
//! unexpired. The claim is a guard: `settle()` keeps the key for the TTL; dropping
//! an unsettled guard (a failure, a panic, a dry run) releases it so a redelivery
//! can succeed. Memory is bounded: entries expire after the TTL and, past the cap,
//! the oldest are evicted first. A queue in insertion order makes eviction O(1).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::mapref::entry::Entry as MapEntry;
use dashmap::DashMap;
use tokio::time::Instant;

/// `trigger:event-or-booking-id:updated_at`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryKey(String);

impl DeliveryKey {
    pub fn new(trigger: &str, id: &str, updated_at: &str) -> DeliveryKey {
        DeliveryKey(format!("{trigger}:{id}:{updated_at}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    stamp: u64,
    settled: bool,
    since: Instant,
}

#[derive(Debug)]
pub struct IdempotencyStore {
    entries: DashMap<DeliveryKey, Entry>,
    order: Mutex<VecDeque<(u64, DeliveryKey)>>,
    next_stamp: AtomicU64,
    ttl: Duration,
    max_entries: usize,
}

/// The key is already in flight or settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadySeen;

impl IdempotencyStore {
    pub fn new(ttl: Duration, max_entries: usize) -> Arc<IdempotencyStore> {
        Arc::new(IdempotencyStore {
            entries: DashMap::new(),
            order: Mutex::new(VecDeque::new()),
            next_stamp: AtomicU64::new(0),
            ttl,
            max_entries: max_entries.max(1),
        })
    }

    /// Claims `key`, or says it has been seen. `can_settle` is false for dry runs,
    /// whose claims keep concurrent copies out but never outlive the request.
    pub fn claim(self: &Arc<Self>, key: DeliveryKey, can_settle: bool) -> Result<Claim, AlreadySeen> {
        let now = Instant::now();
        let stamp = self.next_stamp.fetch_add(1, Ordering::Relaxed);
        match self.entries.entry(key.clone()) {
            MapEntry::Occupied(mut occupied) => {
                let existing = occupied.get();
                if !existing.settled || now.duration_since(existing.since) < self.ttl {
                    return Err(AlreadySeen);
                }
                occupied.insert(Entry {
                    stamp,
                    settled: false,
                    since: now,
                });
            }
            MapEntry::Vacant(vacant) => {
                vacant.insert(Entry {
                    stamp,
                    settled: false,
                    since: now,
                });
            }
        }
        self.remember(stamp, key.clone(), now);
        Ok(Claim {
            store: Arc::clone(self),
            key,
            stamp,
            can_settle,
            settled: false,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records the claim's place in line, then evicts expired and over-cap entries
    /// from the front. Queue records whose entry was released or replaced are stale
    /// and simply dropped when they reach the front.
    fn remember(&self, stamp: u64, key: DeliveryKey, now: Instant) {
        let mut order = self
            .order
            .lock()
            .expect("invariant: the order lock is never held across a panic");
        order.push_back((stamp, key));
        while let Some((front_stamp, front_key)) = order.front() {
            let current = self.entries.get(front_key).map(|e| *e);
            let is_stale = current.is_none_or(|e| e.stamp != *front_stamp);
            let is_expired = current.is_some_and(|e| e.settled && now.duration_since(e.since) >= self.ttl);
            let over_cap = self.entries.len() > self.max_entries;
            if is_stale {
                order.pop_front();
            } else if is_expired || over_cap {
                let (front_stamp, front_key) = order.pop_front().expect("invariant: front exists");
                self.entries.remove_if(&front_key, |_, e| e.stamp == front_stamp);
            } else {
                break;
            }
        }
        // Released claims leave stale records behind; compact before they pile up.
        if order.len() > self.max_entries.saturating_mul(2).max(64) {
            order.retain(|(stamp, key)| self.entries.get(key).is_some_and(|e| e.stamp == *stamp));
        }
    }
}

/// A claimed delivery key. Settle it to keep it; drop it to release it.
#[derive(Debug)]
pub struct Claim {
    store: Arc<IdempotencyStore>,
    key: DeliveryKey,
    stamp: u64,
    can_settle: bool,
    settled: bool,
}

impl Claim {
    /// Keeps the key for the TTL, unless this claim belongs to a dry run. True when kept.
    pub fn settle(&mut self) -> bool {
        if !self.can_settle {
            return false;
        }
        if let Some(mut entry) = self.store.entries.get_mut(&self.key) {
            if entry.stamp == self.stamp {
                entry.settled = true;
                entry.since = Instant::now();
                self.settled = true;
            }
        }
        self.settled
    }

    pub fn key(&self) -> &DeliveryKey {
        &self.key
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.settled {
            let stamp = self.stamp;
            self.store.entries.remove_if(&self.key, |_, e| e.stamp == stamp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> DeliveryKey {
        DeliveryKey::new("UPDATE_EVENT", &n.to_string(), "05/14/2026 04:51 PM")
    }

    #[test]
    fn a_settled_key_is_seen_again_until_it_expires() {
        let store = IdempotencyStore::new(Duration::from_secs(60), 10);
        let mut claim = store.claim(key(1), true).unwrap();
        assert_eq!(store.claim(key(1), true).unwrap_err(), AlreadySeen, "in flight");
        claim.settle();
        drop(claim);
        assert_eq!(store.claim(key(1), true).unwrap_err(), AlreadySeen, "settled");
    }

    #[test]
    fn an_unsettled_claim_is_released_when_dropped() {
        let store = IdempotencyStore::new(Duration::from_secs(60), 10);
        drop(store.claim(key(1), true).unwrap());
        assert!(store.claim(key(1), true).is_ok());
    }

    #[test]
    fn a_dry_run_claim_never_settles() {
        let store = IdempotencyStore::new(Duration::from_secs(60), 10);
        let mut claim = store.claim(key(1), false).unwrap();
        claim.settle();
        drop(claim);
        assert!(store.claim(key(1), true).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn settled_keys_expire_after_the_ttl() {
        let store = IdempotencyStore::new(Duration::from_secs(60), 10);
        store.claim(key(1), true).unwrap().settle();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(store.claim(key(1), true).is_err());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(store.claim(key(1), true).is_ok());
    }

    #[test]
    fn the_store_stays_within_its_cap_and_evicts_the_oldest() {
        let store = IdempotencyStore::new(Duration::from_secs(3600), 100);
        for n in 0..1_000 {
            store.claim(key(n), true).unwrap().settle();
            assert!(store.len() <= 100, "over the cap after {n}");
        }
        assert_eq!(store.len(), 100);
        assert!(store.claim(key(999), true).is_err(), "the newest is kept");
        assert!(store.claim(key(0), true).is_ok(), "the oldest was evicted");
        assert!(store.order.lock().unwrap().len() <= 264);
    }

    #[test]
    fn released_claims_do_not_grow_the_queue_without_bound() {
        let store = IdempotencyStore::new(Duration::from_secs(3600), 10);
        for n in 0..10_000 {
            drop(store.claim(key(n), true).unwrap());
        }
        assert!(store.is_empty());
        assert!(store.order.lock().unwrap().len() <= 65);
    }
}
