//! The journal: one row per run (webhook, test webhook, sweep, replay), so an operator
//! can answer "what happened to event 123 on Saturday?" long after the platform's logs
//! have rolled over. No bodies, no signatures, no secrets.
//!
//! Rows are written off the request path, by `background::Writes`.

use serde::Serialize;
use sqlx::Row;

use super::{bounded, on_pool, Store, StoreError};

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

/// The journal's columns but its id, in the order of `JournalEntry`.
macro_rules! journal_columns {
    () => {
        "at_ms, correlation_id, source, instance_id, trigger_type, event_id, site_id, reason, ok, processed, \
         dry_run, revel_order_id, duration_ms, signature_form, signature_shape, answered_reason"
    };
}
pub(super) use journal_columns;

/// One event's rows, found through `journal_by_event`. `$1`: the event, `$2`: the
/// reason or NULL, `$3`: since, `$4`: the limit. One statement for both reads, with
/// `($1 IS NULL OR event_id = $1)`, is planned before `$1` is known, so SQLite never
/// used that index (PostgreSQL only in a plan made anew for each call): it walked the
/// whole journal by time for an event with no rows, and the console asks that of each
/// of today's events.
const JOURNAL_OF_EVENT: &str = concat!(
    "SELECT ",
    journal_columns!(),
    " FROM journal WHERE event_id = $1 AND ($2 IS NULL OR reason = $2) AND at_ms >= $3 \
     ORDER BY at_ms DESC, id DESC LIMIT $4"
);
/// Every event's rows, through `journal_by_time`. `$1`: the reason or NULL, `$2`:
/// since, `$3`: the limit.
const JOURNAL_OF_ALL: &str = concat!(
    "SELECT ",
    journal_columns!(),
    " FROM journal WHERE ($1 IS NULL OR reason = $1) AND at_ms >= $2 ORDER BY at_ms DESC, id DESC LIMIT $3"
);

/// What to look for in the journal; newest first.
#[derive(Debug, Clone, Default)]
pub struct JournalQuery {
    pub event_id: Option<String>,
    pub reason: Option<String>,
    pub since_ms: Option<i64>,
    pub limit: u32,
}

impl Store {
    /// Journal rows matching `query`, newest first.
    pub async fn journal(&self, query: &JournalQuery) -> Result<Vec<JournalEntry>, StoreError> {
        let limit = i64::from(query.limit.clamp(1, 500));
        let since = query.since_ms.unwrap_or(0);
        bounded(async {
            on_pool!(self, |pool| {
                let rows = match &query.event_id {
                    Some(event_id) => sqlx::query(JOURNAL_OF_EVENT).bind(event_id),
                    None => sqlx::query(JOURNAL_OF_ALL),
                }
                .bind(&query.reason)
                .bind(since)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for one of the reads, one line per step; `event` for the one that has it.
    async fn plan(pool: &sqlx::SqlitePool, statement: &str, event: Option<&str>) -> String {
        let explain = format!("EXPLAIN QUERY PLAN {statement}");
        let query = match event {
            Some(event) => sqlx::query_as(&explain).bind(event),
            None => sqlx::query_as(&explain),
        };
        let rows: Vec<(i64, i64, i64, String)> = query
            .bind(None::<String>)
            .bind(0_i64)
            .bind(1_i64)
            .fetch_all(pool)
            .await
            .unwrap();
        rows.into_iter()
            .map(|(_, _, _, step)| step)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn an_events_rows_are_read_through_its_index_and_all_rows_through_time() {
        let (_dir, _store, pool) = crate::store::temporary_sqlite().await;
        let of_event = plan(&pool, JOURNAL_OF_EVENT, Some("15")).await;
        assert!(
            of_event.contains("USING INDEX journal_by_event (event_id=? AND at_ms>?)"),
            "{of_event}"
        );
        let of_all = plan(&pool, JOURNAL_OF_ALL, None).await;
        assert!(of_all.contains("USING INDEX journal_by_time"), "{of_all}");
        for plan in [of_event, of_all] {
            assert!(!plan.contains("TEMP B-TREE"), "the index gives the order: {plan}");
        }
    }
}
