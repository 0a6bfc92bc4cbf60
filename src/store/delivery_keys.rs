//! Settled delivery keys (SPEC 10) in the store, so a redelivery after a restart, or
//! to another instance, is still answered `DUPLICATE_DELIVERY`. The in-memory map in
//! `idempotency` stays in front as the fast path; this is asked only on a miss.
//! Keys are settled off the request path (`background::Writes`): a crash can lose the
//! last few milliseconds of them, which only lets a redelivery reach Revel's
//! `local_id` check (or the time gate) once more.

use super::{bounded, now_ms, on_pool, Store, StoreError};
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
}
