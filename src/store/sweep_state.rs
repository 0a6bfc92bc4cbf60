//! What the sweep keeps between runs and instances: each run's summary, and the
//! failure emails it already sent today (an event that keeps failing is reported once
//! a day, not every run, whichever instance sweeps).

use serde::Serialize;
use sqlx::Row;

use super::{bounded, now_ms, on_pool, Store, StoreError};

/// One sweep run as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepRun {
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub instance_id: String,
    pub searched: i64,
    pub injected: i64,
    pub already_injected: i64,
    pub failed: i64,
    pub search_failures: i64,
    /// `REASON=n,…`, or `none`.
    pub skipped: String,
    pub dry_run: bool,
}

impl Store {
    pub async fn record_sweep_run(&self, run: &SweepRun) -> Result<(), StoreError> {
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO sweep_runs (started_at_ms, finished_at_ms, instance_id, searched, injected, \
                 already_injected, failed, search_failures, skipped, dry_run) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            )
            .bind(run.started_at_ms)
            .bind(run.finished_at_ms)
            .bind(&run.instance_id)
            .bind(run.searched)
            .bind(run.injected)
            .bind(run.already_injected)
            .bind(run.failed)
            .bind(run.search_failures)
            .bind(&run.skipped)
            .bind(run.dry_run)
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await?;
        Ok(())
    }

    /// The newest run, by any instance.
    pub async fn last_sweep_run(&self) -> Result<Option<SweepRun>, StoreError> {
        bounded(async {
            on_pool!(self, |pool| {
                let row = sqlx::query(
                    "SELECT started_at_ms, finished_at_ms, instance_id, searched, injected, already_injected, \
                     failed, search_failures, skipped, dry_run FROM sweep_runs ORDER BY id DESC LIMIT 1",
                )
                .fetch_optional(pool)
                .await?;
                row.map(|row| {
                    Ok(SweepRun {
                        started_at_ms: row.try_get("started_at_ms")?,
                        finished_at_ms: row.try_get("finished_at_ms")?,
                        instance_id: row.try_get("instance_id")?,
                        searched: row.try_get("searched")?,
                        injected: row.try_get("injected")?,
                        already_injected: row.try_get("already_injected")?,
                        failed: row.try_get("failed")?,
                        search_failures: row.try_get("search_failures")?,
                        skipped: row.try_get("skipped")?,
                        dry_run: row.try_get("dry_run")?,
                    })
                })
                .transpose()
            })
        })
        .await
    }

    /// True the first time (period, event, reason) is noted, by any instance. The
    /// period is the sweep's site-local day (`2026-05-16`) or a webhook failure's
    /// window (`window-<n>`).
    pub async fn is_first_notice(&self, period: &str, event_id: &str, reason: &str) -> Result<bool, StoreError> {
        let inserted = bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO sweep_notices (day, event_id, reason, noted_at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING"
            )
            .bind(period)
            .bind(event_id)
            .bind(reason)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        })
        .await?;
        Ok(inserted == 1)
    }
}
