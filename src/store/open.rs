//! Opening the store: the pool for the configured backend, proven by a first
//! connection, and the schema migrated before anything else runs.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::delivery_keys::settled_lookups;
use super::{migrations, Backend, Store, StoreTarget};
use crate::coalesce::Coalesced;
use crate::secret::Secret;

/// Startup could not open or migrate the store. The message never holds the password.
#[derive(Debug, thiserror::Error)]
#[error("DATABASE_URL: {0}")]
pub struct OpenError(String);

/// How long a request waits for a pooled connection (a stopped server fails this fast).
const ACQUIRE_BOUND: Duration = Duration::from_secs(3);
/// How long startup tries to reach the database.
const OPEN_BOUND: Duration = Duration::from_secs(15);

impl Store {
    /// Opens the store and applies its migrations, or says why not (naming `DATABASE_URL`).
    pub async fn open(target: &StoreTarget) -> Result<Store, OpenError> {
        let description = target.describe();
        let backend = match target {
            StoreTarget::Sqlite(path) => Backend::Sqlite(open_sqlite(path).await?),
            StoreTarget::Postgres(url) => Backend::Postgres(open_postgres(url).await?),
        };
        let store = Store {
            settled_lookups: settled_lookups(backend.clone()),
            backend,
            instance_id: format!("inst-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            description,
            pings: Coalesced::within(super::HEALTH_AGE),
        };
        migrations::apply(&store)
            .await
            .map_err(|e| OpenError(format!("cannot migrate the database at {}: {e}", store.description)))?;
        Ok(store)
    }
}

async fn open_sqlite(path: &Path) -> Result<SqlitePool, OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            OpenError(format!(
                "cannot create the data directory {} (DATA_DIR): {e}",
                dir.display()
            ))
        })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        // A statement that may fail partway inside a transaction (the batch upserts)
        // keeps a journal of the pages it changes; past 64 KiB SQLite spills that to a
        // temporary file, two writes per page: under a flood of new keys, about half of
        // all of SQLite's writes. In memory it is a few hundred KiB, for a moment.
        .pragma("temp_store", "memory");
    SqlitePoolOptions::new()
        .max_connections(4)
        .acquire_timeout(ACQUIRE_BOUND)
        // A file's connection cannot go stale the way a server's can, and sqlx's check
        // is a round trip to the connection's thread before every call, one of three
        // with the call's own and the ping sqlx makes when the connection comes back
        // (that one stays: it is what finds a connection left mid-call by a cancelled
        // future). PostgreSQL keeps the check: a restarted server leaves pooled
        // connections that would fail their next call.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| OpenError(format!("cannot open the SQLite database {}: {e}", path.display())))
}

async fn open_postgres(url: &Secret) -> Result<PgPool, OpenError> {
    let target = StoreTarget::Postgres(url.clone()).describe();
    let scrub = |message: String| scrub_password(&message, url.expose());
    let options = PgConnectOptions::from_str(url.expose())
        .map_err(|e| OpenError(scrub(format!("is not a valid postgres:// URL: {e}"))))?;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(ACQUIRE_BOUND)
        .connect_lazy_with(options);
    // The first connection proves the server, the user and the password.
    let connected = tokio::time::timeout(OPEN_BOUND, pool.acquire()).await;
    match connected {
        Ok(Ok(_)) => Ok(pool),
        Ok(Err(error)) => Err(OpenError(scrub(format!("cannot connect to {target}: {error}")))),
        Err(_) => Err(OpenError(format!(
            "cannot connect to {target}: no answer within {}s",
            OPEN_BOUND.as_secs()
        ))),
    }
}

/// Removes the URL's password from a message, whatever quoted it.
fn scrub_password(message: &str, url: &str) -> String {
    let password = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(String::from))
        .filter(|p| !p.is_empty());
    match password {
        Some(password) => message.replace(&password, "***"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_connections_keep_statement_journals_in_memory() {
        let (_dir, _store, pool) = crate::store::temporary_sqlite().await;
        // Held at once, so each of the pool's first connections answers for itself.
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut connection = pool.acquire().await.unwrap();
            let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
                .fetch_one(&mut *connection)
                .await
                .unwrap();
            assert_eq!(temp_store, 2, "2 is MEMORY");
            held.push(connection);
        }
    }

    #[test]
    fn descriptions_never_hold_the_password() {
        let target = StoreTarget::parse(
            Some("postgres://connector:hunter2@db.internal:6543/conn"),
            Path::new("."),
        )
        .unwrap();
        assert_eq!(target.describe(), "postgres db.internal:6543/conn");
        assert_eq!(
            scrub_password(
                "password authentication failed: hunter2",
                "postgres://connector:hunter2@db/c"
            ),
            "password authentication failed: ***"
        );
    }
}
