//! The durable state of SPEC 17 behind one narrow interface: the journal, settled
//! delivery keys, leases (per event and for the sweep), the email outbox, the sweep's
//! runs and notices, runtime switches and the audit trail.
//!
//! Two backends share every statement: embedded SQLite (the zero-setup default, one
//! instance) and PostgreSQL (several instances). The SQL is written once in the common
//! dialect both speak (`$N` parameters, `ON CONFLICT`, `RETURNING`) and `on_pool!`
//! runs it on whichever pool is open. Times are the wall clock in Unix milliseconds,
//! so instances must keep their clocks in sync (every platform does with NTP).
//!
//! Every call is bounded in time: a database that hangs is as unavailable as one
//! that refuses, and the pipeline fails closed on either (`STORE_UNAVAILABLE`).

pub mod background;
pub mod batch_write;
pub mod delivery_keys;
pub mod journal;
pub mod leases;
pub mod migrations;
pub mod open;
pub mod outbox;
pub mod retention;
pub mod sweep_state;
pub mod switches;
pub mod tripleseat_tokens;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::SqlitePool;

use crate::coalesce::{Batched, Coalesced};
use crate::secret::Secret;

/// Runs `$body` with `$pool` bound to whichever pool the store has. The body is
/// written once and compiled for each backend.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Where the state lives (`DATABASE_URL`, `DATA_DIR`).
#[derive(Debug, Clone)]
pub enum StoreTarget {
    /// An embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL; it may hold a password, so it is never printed.
    Postgres(Secret),
}

impl StoreTarget {
    /// `DATABASE_URL` unset: `DATA_DIR/connector.db`; `sqlite://PATH`; `postgres://…`.
    pub fn parse(database_url: Option<&str>, data_dir: &Path) -> Result<StoreTarget, String> {
        let Some(url) = database_url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(StoreTarget::Sqlite(data_dir.join("connector.db")));
        };
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() || path.starts_with(":memory:") {
                return Err("sqlite:// needs a file path (an in-memory database would lose everything)".into());
            }
            return Ok(StoreTarget::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url).map_err(|_| "is not a valid postgres:// URL".to_string())?;
            return Ok(StoreTarget::Postgres(Secret::new(url)));
        }
        let scheme = url.split_once("://").map_or("none", |(scheme, _)| scheme);
        Err(format!(
            "expected postgres://…, postgresql://… or sqlite://PATH (unset: SQLite in DATA_DIR); scheme {scheme:?} is not supported"
        ))
    }

    /// A description safe to print: the file, or the server and database without credentials.
    pub fn describe(&self) -> String {
        match self {
            StoreTarget::Sqlite(path) => format!("sqlite {}", path.display()),
            StoreTarget::Postgres(url) => match reqwest::Url::parse(url.expose()) {
                Ok(parsed) => format!(
                    "postgres {}:{}{}",
                    parsed.host_str().unwrap_or("localhost"),
                    parsed.port().unwrap_or(5432),
                    parsed.path()
                ),
                Err(_) => "postgres".into(),
            },
        }
    }
}

/// The store could not do what was asked; callers fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the store did not answer in time")]
    Timeout,
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub struct Store {
    pub(crate) backend: Backend,
    instance_id: String,
    description: String,
    /// Pings shared by callers: one begun at most `HEALTH_AGE` before a call answers it.
    pings: Coalesced<bool>,
    /// Delivery keys asked at once, looked up together (`delivery_keys`).
    settled_lookups: Batched<String, Result<bool, StoreError>>,
}

/// How long any one store call may take before it counts as unavailable.
const CALL_BOUND: Duration = Duration::from_secs(5);

/// How old the store's state in `/health` may be: probes under load share one round
/// trip a second instead of keeping the database busy answering them.
pub const HEALTH_AGE: Duration = Duration::from_secs(1);
impl Store {
    /// This process's id, as leases and the journal name it.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// `sqlite …` or `postgres host:port/db`, without credentials.
    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// A round trip begun at most `HEALTH_AGE` before the call: true when the database
    /// answered it within a second.
    pub async fn ping(&self) -> bool {
        let ping = || async {
            let ping = async { on_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.is_ok()) };
            tokio::time::timeout(Duration::from_secs(1), ping)
                .await
                .unwrap_or(false)
        };
        self.pings.get(ping).await
    }

    /// Closes every connection (shutdown).
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// Runs one store call within `CALL_BOUND`, mapping every failure to a `StoreError`.
pub(crate) async fn bounded<T>(call: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_BOUND, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(StoreError::Unavailable(error.to_string())),
        Err(_) => Err(StoreError::Timeout),
    }
}

/// The wall clock in Unix milliseconds: what leases, keys and backoffs are measured in.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A store on a SQLite file of its own, for the store's unit tests; keep the directory.
#[cfg(test)]
pub(crate) async fn temporary_sqlite() -> (tempfile::TempDir, Store, SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreTarget::Sqlite(dir.path().join("connector.db")))
        .await
        .unwrap();
    let Backend::Sqlite(pool) = &store.backend else {
        unreachable!("a file path opens SQLite")
    };
    let pool = pool.clone();
    (dir, store, pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_choose_a_backend_or_say_what_is_expected() {
        let dir = Path::new("/var/data");
        assert!(matches!(StoreTarget::parse(None, dir), Ok(StoreTarget::Sqlite(p)) if p == dir.join("connector.db")));
        assert!(matches!(
            StoreTarget::parse(Some("  "), dir),
            Ok(StoreTarget::Sqlite(_))
        ));
        assert!(
            matches!(StoreTarget::parse(Some("sqlite:///tmp/x.db"), dir), Ok(StoreTarget::Sqlite(p)) if p == Path::new("/tmp/x.db"))
        );
        assert!(matches!(
            StoreTarget::parse(Some("postgres://u:p@db:5432/c"), dir),
            Ok(StoreTarget::Postgres(_))
        ));
        assert!(matches!(
            StoreTarget::parse(Some("postgresql://db/c"), dir),
            Ok(StoreTarget::Postgres(_))
        ));
        for bad in ["mysql://u:hunter2@db/c", "sqlite::memory:", "db.example.com"] {
            let error = StoreTarget::parse(Some(bad), dir).unwrap_err();
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
