//! Retention (SPEC 17): what the store no longer keeps is deleted every hour. The
//! two tables a flood can fill, the journal and the settled keys, are pruned a slice
//! at a time: on SQLite a statement holds the database's only write lock until it
//! ends, and one statement for 280,000 journal rows held it 1.3 s while a delivery's
//! lease or email waited for it. In slices the longest hold was 74 ms (median 47 ms),
//! for 2.4 s in all.

use std::time::Duration;

use super::{bounded, now_ms, on_pool, Store, StoreError};

/// Rows one statement deletes at most: about 50 ms of SQLite's write lock.
const SLICE: i64 = 5_000;
/// Slices one prune deletes at most per table (10 million rows); what is left waits
/// for the next hour's.
const SLICES: u32 = 2_000;
/// Between two slices, so the writers waiting for the lock get a chance to take it.
const PAUSE: Duration = Duration::from_millis(20);

/// `$1`: the cutoff, `$2`: the slice. The outer condition repeats the inner one: on
/// PostgreSQL a key settled again by another instance while the slice runs is checked
/// anew on its new row, and kept, as the single statement before slices did.
const JOURNAL_SLICE: &str =
    "DELETE FROM journal WHERE at_ms < $1 AND id IN (SELECT id FROM journal WHERE at_ms < $1 LIMIT $2)";
const KEYS_SLICE: &str = "DELETE FROM delivery_keys WHERE expires_at_ms <= $1 AND delivery_key IN \
     (SELECT delivery_key FROM delivery_keys WHERE expires_at_ms <= $1 LIMIT $2)";

/// What one prune deleted, and what stopped it when something did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub journal_rows: u64,
    pub expired_keys: u64,
    /// The first statement that failed: the prune stops there, keeping what it deleted
    /// before, and the next hour's takes the rest.
    pub stopped_by: Option<StoreError>,
}

impl Store {
    /// Deletes what retention no longer keeps: journal rows, sent and given-up emails
    /// and sweep runs older than `retention`; expired delivery keys and leases; sweep
    /// notices noted more than two days ago. Stops at the first statement that fails
    /// (the store gone would fail every one of them, each after its own time bound).
    pub async fn prune(&self, retention: Duration) -> Pruned {
        let mut pruned = Pruned::default();
        if let Err(error) = self.prune_into(retention, &mut pruned).await {
            pruned.stopped_by = Some(error);
        }
        pruned
    }

    async fn prune_into(&self, retention: Duration, pruned: &mut Pruned) -> Result<(), StoreError> {
        let now = now_ms();
        let cutoff = now.saturating_sub(super::ms(retention));
        self.delete_in_slices(JOURNAL_SLICE, cutoff, &mut pruned.journal_rows)
            .await?;
        self.delete_in_slices(KEYS_SLICE, now, &mut pruned.expired_keys).await?;
        // Notices are kept two days from when they were noted (their `day` is the site's).
        let notices_cutoff = now.saturating_sub(2 * 86_400_000);
        let small = [
            ("DELETE FROM leases WHERE expires_at_ms <= $1", now),
            ("DELETE FROM oauth_states WHERE expires_at_ms <= $1", now),
            (
                "DELETE FROM outbox WHERE status <> 'pending' AND created_at_ms < $1",
                cutoff,
            ),
            ("DELETE FROM sweep_runs WHERE started_at_ms < $1", cutoff),
            ("DELETE FROM sweep_notices WHERE noted_at_ms < $1", notices_cutoff),
        ];
        for (statement, before) in small {
            bounded(async {
                on_pool!(self, |pool| sqlx::query(statement)
                    .bind(before)
                    .execute(pool)
                    .await
                    .map(drop))
            })
            .await?;
        }
        Ok(())
    }

    /// Runs `statement` (`$1`: `before`, `$2`: the slice) until a slice comes back
    /// short, each slice a call of its own, adding the rows each deletes to `deleted`
    /// as it goes: a slice that fails leaves the count of those before it.
    async fn delete_in_slices(&self, statement: &str, before: i64, deleted: &mut u64) -> Result<(), StoreError> {
        for _ in 0..SLICES {
            let slice = bounded(async {
                on_pool!(self, |pool| sqlx::query(statement)
                    .bind(before)
                    .bind(SLICE)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected()))
            })
            .await?;
            *deleted += slice;
            if slice < SLICE as u64 {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::DeliveryKey;
    use crate::store::journal::JournalEntry;

    /// A journal row `n` ms after the epoch: past any retention.
    fn entry(n: i64) -> JournalEntry {
        JournalEntry {
            at_ms: n,
            correlation_id: format!("req-{n}"),
            source: "webhook".into(),
            instance_id: "inst-test".into(),
            trigger: None,
            event_id: None,
            site_id: None,
            reason: "TIME_GATE_CLOSED_TOO_EARLY".into(),
            ok: true,
            processed: false,
            dry_run: false,
            revel_order_id: None,
            duration_ms: 0,
            signature_form: None,
            signature_shape: None,
            answered_reason: None,
        }
    }

    #[tokio::test]
    async fn a_slice_deletes_no_more_than_its_size() {
        let (_dir, store, pool) = crate::store::temporary_sqlite().await;
        let rows: Vec<JournalEntry> = (1..=12).map(entry).collect();
        let keys: Vec<(DeliveryKey, i64)> = (1..=12)
            .map(|n| (DeliveryKey::new("UPDATE_EVENT", &n.to_string(), "2026-12-02"), n))
            .collect();
        store.write_batch(&rows, &keys).await.unwrap();
        for statement in [JOURNAL_SLICE, KEYS_SLICE] {
            let mut slices = Vec::new();
            for _ in 0..4 {
                let done = sqlx::query(statement)
                    .bind(100_i64)
                    .bind(5_i64)
                    .execute(&pool)
                    .await
                    .unwrap();
                slices.push(done.rows_affected());
            }
            assert_eq!(slices, [5, 5, 2, 0], "{statement}");
        }
    }

    #[tokio::test]
    async fn a_prune_that_fails_partway_keeps_the_count_of_what_it_deleted() {
        let (_dir, store, pool) = crate::store::temporary_sqlite().await;
        let rows: Vec<JournalEntry> = (1..=12).map(entry).collect();
        store.write_batch(&rows, &[]).await.unwrap();
        // The journal is pruned first; the keys' statement then fails.
        sqlx::query("DROP TABLE delivery_keys").execute(&pool).await.unwrap();
        let pruned = store.prune(Duration::from_secs(86_400)).await;
        assert_eq!((pruned.journal_rows, pruned.expired_keys), (12, 0));
        assert!(
            matches!(pruned.stopped_by, Some(StoreError::Unavailable(_))),
            "{pruned:?}"
        );
    }
}
