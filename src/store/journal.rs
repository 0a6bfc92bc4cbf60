//! The journal: one row per run (webhook, test webhook, sweep, replay), so an operator
//! can answer "what happened to event 123 on Saturday?" long after the platform's logs
//! have rolled over. No bodies, no signatures, no secrets.
//!
//! Rows are written off the request path, by `background::Writes`.

use std::time::Duration;

use serde::Serialize;
use sqlx::Row;

use super::delivery_keys::{SETTLE_KEYS, SETTLE_KEYS_CONFLICT};
use super::{bounded, now_ms, on_pool, Store, StoreError};
use crate::idempotency::DeliveryKey;

/// Which door a run came in by, as the journal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Webhook,
    TestWebhook,
    Sweep,
    Replay,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::TestWebhook => "test_webhook",
            Source::Sweep => "sweep",
            Source::Replay => "replay",
        }
    }
}

/// One run, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    pub at_ms: i64,
    pub correlation_id: String,
    pub source: String,
    pub instance_id: String,
    pub trigger: Option<String>,
    pub event_id: Option<String>,
    pub site_id: Option<String>,
    pub reason: String,
    pub ok: bool,
    pub processed: bool,
    pub dry_run: bool,
    pub revel_order_id: Option<String>,
    pub duration_ms: i64,
    /// The signature form a webhook matched (`timestamped`, `plain-hex`,
    /// `plain-base64`, `none`); recorded under `WEBHOOK_SIGNATURE_SCHEME=report-only`.
    pub signature_form: Option<String>,
    /// The signature header's shape: its parts' names and lengths, never a value.
    pub signature_shape: Option<String>,
    /// The reason the webhook was answered with, when it is not `reason`: a write that
    /// finished after the deadline was answered `REVEL_WRITE_FAILED` and ended `reason`.
    pub answered_reason: Option<String>,
}

/// Rows one statement carries at most: 16 values a journal row, well inside SQLite's
/// 32,766 and PostgreSQL's 65,535 bound parameters.
const ROWS_PER_STATEMENT: usize = 200;

/// What to look for in the journal; newest first.
#[derive(Debug, Clone, Default)]
pub struct JournalQuery {
    pub event_id: Option<String>,
    pub reason: Option<String>,
    pub since_ms: Option<i64>,
    pub limit: u32,
}

impl Store {
    /// Journal rows and settled keys, in one transaction: a few multi-row statements
    /// rather than one a row, so a busy minute's rows cost a few round trips to the
    /// database (each one, for SQLite, a hop to its own thread and back).
    pub async fn write_batch(&self, entries: &[JournalEntry], keys: &[(DeliveryKey, i64)]) -> Result<(), StoreError> {
        let now = now_ms();
        // One statement may not touch a key twice (PostgreSQL's upsert refuses): the
        // last of a key's settlements is the one a row at a time would have left.
        let mut latest: Vec<(&str, i64)> = Vec::with_capacity(keys.len());
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::with_capacity(keys.len());
        for (key, expires_at_ms) in keys {
            match seen.entry(key.as_str()) {
                std::collections::hash_map::Entry::Occupied(at) => latest[*at.get()].1 = *expires_at_ms,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(latest.len());
                    latest.push((key.as_str(), *expires_at_ms));
                }
            }
        }
        bounded(async {
            on_pool!(self, |pool| {
                let mut tx = pool.begin().await?;
                for chunk in latest.chunks(ROWS_PER_STATEMENT) {
                    let mut upsert = sqlx::QueryBuilder::new(SETTLE_KEYS);
                    upsert.push_values(chunk, |mut row, (key, expires_at_ms)| {
                        row.push_bind(*key).push_bind(now).push_bind(*expires_at_ms);
                    });
                    upsert.push(SETTLE_KEYS_CONFLICT);
                    upsert.build().persistent(false).execute(&mut *tx).await?;
                }
                for chunk in entries.chunks(ROWS_PER_STATEMENT) {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO journal (at_ms, correlation_id, source, instance_id, trigger_type, event_id, \
                         site_id, reason, ok, processed, dry_run, revel_order_id, duration_ms, signature_form, signature_shape, answered_reason) ",
                    );
                    insert.push_values(chunk, |mut row, e| {
                        row.push_bind(e.at_ms)
                            .push_bind(&e.correlation_id)
                            .push_bind(&e.source)
                            .push_bind(&e.instance_id)
                            .push_bind(&e.trigger)
                            .push_bind(&e.event_id)
                            .push_bind(&e.site_id)
                            .push_bind(&e.reason)
                            .push_bind(e.ok)
                            .push_bind(e.processed)
                            .push_bind(e.dry_run)
                            .push_bind(&e.revel_order_id)
                            .push_bind(e.duration_ms)
                            .push_bind(&e.signature_form)
                            .push_bind(&e.signature_shape)
                            .push_bind(&e.answered_reason);
                    });
                    insert.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await
            })
        })
        .await
    }

    /// Journal rows matching `query`, newest first.
    pub async fn journal(&self, query: &JournalQuery) -> Result<Vec<JournalEntry>, StoreError> {
        let limit = i64::from(query.limit.clamp(1, 500));
        bounded(async {
            on_pool!(self, |pool| {
                let rows = sqlx::query(
                    "SELECT at_ms, correlation_id, source, instance_id, trigger_type, event_id, site_id, reason, \
                     ok, processed, dry_run, revel_order_id, duration_ms, signature_form, signature_shape, answered_reason FROM journal \
                     WHERE ($1 IS NULL OR event_id = $1) AND ($2 IS NULL OR reason = $2) AND at_ms >= $3 \
                     ORDER BY at_ms DESC, id DESC LIMIT $4",
                )
                .bind(&query.event_id)
                .bind(&query.reason)
                .bind(query.since_ms.unwrap_or(0))
                .bind(limit)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(JournalEntry {
                            at_ms: row.try_get("at_ms")?,
                            correlation_id: row.try_get("correlation_id")?,
                            source: row.try_get("source")?,
                            instance_id: row.try_get("instance_id")?,
                            trigger: row.try_get("trigger_type")?,
                            event_id: row.try_get("event_id")?,
                            site_id: row.try_get("site_id")?,
                            reason: row.try_get("reason")?,
                            ok: row.try_get("ok")?,
                            processed: row.try_get("processed")?,
                            dry_run: row.try_get("dry_run")?,
                            revel_order_id: row.try_get("revel_order_id")?,
                            duration_ms: row.try_get("duration_ms")?,
                            signature_form: row.try_get("signature_form")?,
                            signature_shape: row.try_get("signature_shape")?,
                            answered_reason: row.try_get("answered_reason")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })
        .await
    }

    /// Deletes what retention no longer keeps: journal rows, sent and given-up emails
    /// and sweep runs older than `retention`; expired delivery keys and leases; sweep
    /// notices noted more than two days ago. Returns the journal rows removed.
    pub async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let now = now_ms();
        let cutoff = now.saturating_sub(super::ms(retention));
        // Notices are kept two days from when they were noted (their `day` is the site's).
        let notices_cutoff = now.saturating_sub(2 * 86_400_000);
        bounded(async {
            on_pool!(self, |pool| {
                let journal = sqlx::query("DELETE FROM journal WHERE at_ms < $1")
                    .bind(cutoff)
                    .execute(pool)
                    .await?
                    .rows_affected();
                let others = [
                    ("DELETE FROM delivery_keys WHERE expires_at_ms <= $1", now),
                    ("DELETE FROM leases WHERE expires_at_ms <= $1", now),
                    ("DELETE FROM oauth_states WHERE expires_at_ms <= $1", now),
                    (
                        "DELETE FROM outbox WHERE status <> 'pending' AND created_at_ms < $1",
                        cutoff,
                    ),
                    ("DELETE FROM sweep_runs WHERE started_at_ms < $1", cutoff),
                    ("DELETE FROM sweep_notices WHERE noted_at_ms < $1", notices_cutoff),
                ];
                for (statement, before) in others {
                    sqlx::query(statement).bind(before).execute(pool).await?;
                }
                Ok(journal)
            })
        })
        .await
    }
}
