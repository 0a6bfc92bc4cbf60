//! Settled delivery keys (SPEC 10) in the store, so a redelivery after a restart, or
//! to another instance, is still answered `DUPLICATE_DELIVERY`. The in-memory map in
//! `idempotency` stays in front as the fast path; this is asked only on a miss.

use std::time::Duration;

use super::{bounded, ms, now_ms, on_pool, Store, StoreError};
use crate::idempotency::DeliveryKey;

impl Store {
    /// Whether `key` was settled and has not expired.
    pub async fn is_key_settled(&self, key: &DeliveryKey) -> Result<bool, StoreError> {
        let found = bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "SELECT 1 FROM delivery_keys WHERE delivery_key = $1 AND expires_at_ms > $2"
            )
            .bind(key.as_str())
            .bind(now_ms())
            .fetch_optional(pool)
            .await
            .map(|row| row.is_some()))
        })
        .await?;
        Ok(found)
    }

    /// Keeps `key` for `ttl` from now.
    pub async fn settle_key(&self, key: &DeliveryKey, ttl: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO delivery_keys (delivery_key, settled_at_ms, expires_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (delivery_key) DO UPDATE SET settled_at_ms = excluded.settled_at_ms, \
                 expires_at_ms = excluded.expires_at_ms"
            )
            .bind(key.as_str())
            .bind(now)
            .bind(now.saturating_add(ms(ttl)))
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await?;
        Ok(())
    }

    /// Forgets every settled key (an operator's "clear the idempotency cache").
    pub async fn clear_keys(&self) -> Result<u64, StoreError> {
        let done = bounded(async {
            on_pool!(self, |pool| sqlx::query("DELETE FROM delivery_keys")
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))
        })
        .await?;
        Ok(done)
    }
}
