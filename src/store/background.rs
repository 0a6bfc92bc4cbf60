//! Writes that need not hold up an answer: journal rows and settled delivery keys.
//! A run hands them over without waiting; one writer task stores whatever has queued
//! up (letting a batch fill for `LINGER`) in one transaction, so under load many rows
//! cost one commit, and tries a batch again for about a minute while the store is away. A clean shutdown writes everything
//! queued (within its budget); a crash (SIGKILL) can lose the last few milliseconds of
//! rows. A lost journal row is a gap in the history; a lost key only lets a redelivery
//! reach Revel's `local_id` check (or the time gate) once more. A full queue drops
//! with a warning rather than slow a request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::journal::JournalEntry;
use super::{ms, now_ms, Store};
use crate::idempotency::DeliveryKey;

/// Writes waiting at most for the writer.
const QUEUE_CAPACITY: usize = 20_000;
/// Writes one transaction carries at most.
const BATCH: usize = 500;
/// How long the writer lets a batch fill after its first write arrives: under load a
/// transaction then carries many rows (each one is a round trip to the database, and
/// for SQLite a hop to its thread and back), and a row is stored a few ms later.
const LINGER: Duration = Duration::from_millis(5);
/// Tries per batch before it is dropped: about a minute of an unreachable store.
const WRITE_ATTEMPTS: u32 = 6;

enum Write {
    Journal(Box<JournalEntry>),
    SettledKey(DeliveryKey, i64),
}

/// Tries a batch again while the store is briefly away (a restart, a failover), so
/// the journal keeps the runs of an outage, `STORE_UNAVAILABLE` answers included.
async fn write_with_retries(store: &Store, entries: &[JournalEntry], keys: &[(DeliveryKey, i64)]) {
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=WRITE_ATTEMPTS {
        match store.write_batch(entries, keys).await {
            Ok(()) => return,
            Err(error) if attempt == WRITE_ATTEMPTS => {
                tracing::error!(rows = entries.len(), keys = keys.len(), %error, "Store: journal rows and keys not written");
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// The writer's handle: cheap to call from any run.
pub struct Writes {
    sender: Mutex<Option<mpsc::Sender<Write>>>,
    writer: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Writes {
    pub fn start(store: Arc<Store>) -> Writes {
        let (sender, mut queue) = mpsc::channel::<Write>(QUEUE_CAPACITY);
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while queue.recv_many(&mut batch, BATCH).await > 0 {
                if batch.len() < BATCH {
                    tokio::time::sleep(LINGER).await;
                    while batch.len() < BATCH {
                        match queue.try_recv() {
                            Ok(write) => batch.push(write),
                            Err(_) => break,
                        }
                    }
                }
                let (mut entries, mut keys) = (Vec::new(), Vec::new());
                for write in batch.drain(..) {
                    match write {
                        Write::Journal(entry) => entries.push(*entry),
                        Write::SettledKey(key, expires) => keys.push((key, expires)),
                    }
                }
                write_with_retries(&store, &entries, &keys).await;
            }
        });
        Writes {
            sender: Mutex::new(Some(sender)),
            writer: tokio::sync::Mutex::new(Some(writer)),
        }
    }

    /// Queues a journal row.
    pub fn journal(&self, entry: JournalEntry) {
        self.queue(Write::Journal(Box::new(entry)));
    }

    /// Queues a settled key, kept for `ttl` from now.
    pub fn settle_key(&self, key: DeliveryKey, ttl: Duration) {
        self.queue(Write::SettledKey(key, now_ms().saturating_add(ms(ttl))));
    }

    fn queue(&self, write: Write) {
        let sender = self
            .sender
            .lock()
            .expect("invariant: the writer lock is never held across a panic");
        let Some(sender) = sender.as_ref() else {
            tracing::warn!("Store: shutting down, a journal row or key was dropped");
            return;
        };
        if sender.try_send(write).is_err() {
            tracing::warn!("Store: write queue full, a journal row or key was dropped");
        }
    }

    /// Stops taking writes and stores the queued ones, within `bound`.
    pub async fn flush(&self, bound: Duration) {
        drop(
            self.sender
                .lock()
                .expect("invariant: the writer lock is never held across a panic")
                .take(),
        );
        if let Some(writer) = self.writer.lock().await.take() {
            if tokio::time::timeout(bound, writer).await.is_err() {
                tracing::warn!("Store: queued journal rows and keys not written before shutdown");
            }
        }
    }
}
