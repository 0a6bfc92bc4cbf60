//! Runtime overrides of `ENABLE_CONNECTOR` and `DRY_RUN` (SPEC 18) and the audit trail
//! of every change. The override can only make the connector safer than its
//! environment; that rule lives where the switches are read, not here.

use serde::Serialize;
use sqlx::Row;

use super::{bounded, now_ms, on_pool, Store, StoreError};

/// One stored override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchOverride {
    pub name: String,
    pub value: bool,
    pub updated_at_ms: i64,
    pub note: Option<String>,
}

/// One change, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub action: String,
    pub detail: String,
    pub source_addr: Option<String>,
    pub note: Option<String>,
}

impl Store {
    pub async fn switch_overrides(&self) -> Result<Vec<SwitchOverride>, StoreError> {
        bounded(async {
            on_pool!(self, |pool| {
                let rows = sqlx::query("SELECT name, value, updated_at_ms, note FROM switches ORDER BY name")
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(SwitchOverride {
                            name: row.try_get("name")?,
                            value: row.try_get("value")?,
                            updated_at_ms: row.try_get("updated_at_ms")?,
                            note: row.try_get("note")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })
        .await
    }

    pub async fn set_switch(&self, name: &str, value: bool, note: Option<&str>) -> Result<(), StoreError> {
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO switches (name, value, updated_at_ms, note) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms, \
                 note = excluded.note"
            )
            .bind(name)
            .bind(value)
            .bind(now_ms())
            .bind(note)
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await?;
        Ok(())
    }

    /// Removes an override; true when there was one.
    pub async fn clear_switch(&self, name: &str) -> Result<bool, StoreError> {
        let removed = bounded(async {
            on_pool!(self, |pool| sqlx::query("DELETE FROM switches WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))
        })
        .await?;
        Ok(removed > 0)
    }

    pub async fn add_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO audit (at_ms, action, detail, source_addr, note) VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(if entry.at_ms > 0 { entry.at_ms } else { now_ms() })
            .bind(&entry.action)
            .bind(&entry.detail)
            .bind(&entry.source_addr)
            .bind(&entry.note)
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await?;
        Ok(())
    }

    /// The audit trail, newest first.
    pub async fn audit(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        bounded(async {
            on_pool!(self, |pool| {
                let rows =
                    sqlx::query("SELECT at_ms, action, detail, source_addr, note FROM audit ORDER BY id DESC LIMIT $1")
                        .bind(limit)
                        .fetch_all(pool)
                        .await?;
                rows.iter()
                    .map(|row| {
                        Ok(AuditEntry {
                            at_ms: row.try_get("at_ms")?,
                            action: row.try_get("action")?,
                            detail: row.try_get("detail")?,
                            source_addr: row.try_get("source_addr")?,
                            note: row.try_get("note")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })
        .await
    }
}
