//! Settled delivery keys (SPEC 10) in the store, so a redelivery after a restart, or
//! to another instance, is still answered `DUPLICATE_DELIVERY`. The in-memory map in
//! `idempotency` stays in front as the fast path; this is asked only on a miss.
//! Keys are settled off the request path (`background::Writes`): a crash can lose the
//! last few milliseconds of them, which only lets a redelivery reach Revel's
//! `local_id` check (or the time gate) once more.
//!
//! Under a flood of new deliveries every one asks, so the keys asked while a query is
//! under way are looked up together by the next one: a round trip per batch, not per
//! delivery, and no delivery waits longer than for one query before its own.

use std::collections::HashSet;

use super::{bounded, now_ms, Backend, Store, StoreError, CALL_BOUND};
use crate::coalesce::Batched;
use crate::idempotency::DeliveryKey;

/// Keys one query looks up at most.
const KEYS_PER_QUERY: usize = 256;

/// `$1`: the keys as a JSON array of strings; `$2`: now.
const SQLITE_SETTLED: &str = "SELECT delivery_key FROM delivery_keys \
     WHERE delivery_key IN (SELECT value FROM json_each($1)) AND expires_at_ms > $2";
/// `$1`: the keys; `$2`: now.
const POSTGRES_SETTLED: &str =
    "SELECT delivery_key FROM delivery_keys WHERE delivery_key = ANY($1) AND expires_at_ms > $2";

/// Starts the task that looks up the keys asked while a query is under way.
pub(super) fn settled_lookups(backend: Backend) -> Batched<String, Result<bool, StoreError>> {
    Batched::start(KEYS_PER_QUERY, move |keys: Vec<String>| {
        let backend = backend.clone();
        async move {
            match bounded(settled_among(&backend, &keys)).await {
                Ok(settled) => keys.iter().map(|key| Ok(settled.contains(key))).collect(),
                Err(error) => keys.iter().map(|_| Err(error.clone())).collect(),
            }
        }
    })
}

/// Which of `keys` are settled and not expired.
async fn settled_among(backend: &Backend, keys: &[String]) -> Result<HashSet<String>, sqlx::Error> {
    let now = now_ms();
    let found: Vec<(String,)> = match backend {
        Backend::Sqlite(pool) => {
            let keys = serde_json::to_string(keys).expect("invariant: strings always serialize");
            sqlx::query_as(SQLITE_SETTLED)
                .bind(keys)
                .bind(now)
                .fetch_all(pool)
                .await?
        }
        Backend::Postgres(pool) => {
            sqlx::query_as(POSTGRES_SETTLED)
                .bind(keys)
                .bind(now)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(found.into_iter().map(|(key,)| key).collect())
}

impl Store {
    /// Whether `key` was settled and has not expired.
    pub async fn is_key_settled(&self, key: &DeliveryKey) -> Result<bool, StoreError> {
        let asked = self.settled_lookups.ask(key.as_str().to_string());
        // A lookup may wait behind the query under way, then run in the next: each of
        // the two is bounded by `CALL_BOUND` already; this is the backstop.
        match tokio::time::timeout(CALL_BOUND * 2, asked).await {
            Ok(Some(answer)) => answer,
            Ok(None) => Err(StoreError::Unavailable("the store is closed".into())),
            Err(_) => Err(StoreError::Timeout),
        }
    }
}
