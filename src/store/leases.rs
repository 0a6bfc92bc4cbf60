//! Leases: a named right held by one holder until it expires. An event's lease
//! (`event:<id>`) is taken before the Revel lookup and write, so two instances never
//! write the same event at once; the sweep's (`sweep`) lets one instance sweep at a
//! time. A holder renews its lease while it works; a killed holder's lease simply
//! expires, so nobody holds one forever.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{bounded, ms, now_ms, on_pool, Store, StoreError};

/// How long a lease lasts without renewal; it is renewed every third of that.
pub const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often a waiting run asks again for a lease another holder has.
const RETRY_EVERY: Duration = Duration::from_millis(200);

impl Store {
    /// Takes `name` for `holder` if it is free, expired, or already `holder`'s.
    pub async fn try_take_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        let taken = bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO leases (name, holder, expires_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
                 WHERE leases.expires_at_ms <= $4 OR leases.holder = excluded.holder"
            )
            .bind(name)
            .bind(holder)
            .bind(now.saturating_add(ms(ttl)))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        })
        .await?;
        Ok(taken == 1)
    }

    /// Extends `holder`'s lease; false when it was lost (expired and taken by another).
    pub async fn renew_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let renewed = bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "UPDATE leases SET expires_at_ms = $3 WHERE name = $1 AND holder = $2"
            )
            .bind(name)
            .bind(holder)
            .bind(now_ms().saturating_add(ms(ttl)))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        })
        .await?;
        Ok(renewed == 1)
    }

    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "DELETE FROM leases WHERE name = $1 AND holder = $2"
            )
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await?;
        Ok(())
    }
}

/// A holder id unique to one run: this instance's id and a fresh uuid, so two runs in
/// one process never share a lease.
fn new_holder(store: &Store) -> String {
    format!("{}/{}", store.instance_id(), uuid::Uuid::new_v4().simple())
}

/// Why a lease was not had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotHeld {
    /// Someone else held it until the deadline.
    Busy,
    /// The store could not be asked.
    Store(StoreError),
}

/// A held lease, renewed in the background until dropped; dropping releases it.
pub struct Lease {
    store: Arc<Store>,
    name: String,
    holder: String,
    stop_renewing: Option<watch::Sender<bool>>,
}

impl Lease {
    /// Takes `name` once, or says it is busy.
    pub async fn try_take(store: &Arc<Store>, name: String) -> Result<Lease, NotHeld> {
        let holder = new_holder(store);
        match store.try_take_lease(&name, &holder, LEASE_TTL).await {
            Ok(true) => Ok(Lease::held(store, name, holder)),
            Ok(false) => Err(NotHeld::Busy),
            Err(error) => Err(NotHeld::Store(error)),
        }
    }

    /// Takes `name`, waiting for another holder to finish until `deadline`.
    pub async fn take_by(store: &Arc<Store>, name: String, deadline: Instant) -> Result<Lease, NotHeld> {
        let holder = new_holder(store);
        loop {
            match store.try_take_lease(&name, &holder, LEASE_TTL).await {
                Ok(true) => return Ok(Lease::held(store, name, holder)),
                Ok(false) if Instant::now() + RETRY_EVERY < deadline => tokio::time::sleep(RETRY_EVERY).await,
                Ok(false) => return Err(NotHeld::Busy),
                Err(error) => return Err(NotHeld::Store(error)),
            }
        }
    }

    fn held(store: &Arc<Store>, name: String, holder: String) -> Lease {
        let (stop_renewing, mut stopped) = watch::channel(false);
        let (renewer, lease_name, lease_holder) = (Arc::clone(store), name.clone(), holder.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(LEASE_TTL / 3) => {}
                    _ = stopped.changed() => return,
                }
                match renewer.renew_lease(&lease_name, &lease_holder, LEASE_TTL).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::error!(lease = %lease_name, "Lease: lost before the work finished");
                        return;
                    }
                    Err(error) => tracing::error!(lease = %lease_name, %error, "Lease: renewal failed"),
                }
            }
        });
        Lease {
            store: Arc::clone(store),
            name,
            holder,
            stop_renewing: Some(stop_renewing),
        }
    }

    /// Releases the lease now and waits for the store to say so.
    pub async fn release(mut self) {
        self.stop();
        if let Err(error) = self.store.release_lease(&self.name, &self.holder).await {
            tracing::warn!(lease = %self.name, %error, "Lease: release failed; it expires by itself");
        }
        self.name.clear();
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop_renewing.take() {
            let _ = stop.send(true);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop();
        if self.name.is_empty() {
            return;
        }
        // Dropped without `release` (an early return, a panic): release in the background.
        let (store, name, holder) = (
            Arc::clone(&self.store),
            std::mem::take(&mut self.name),
            self.holder.clone(),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = store.release_lease(&name, &holder).await;
            });
        }
    }
}
