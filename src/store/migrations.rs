//! Versioned schema migrations, embedded in the binary and applied at startup. One
//! file per version in `migrations/`, written in the SQL both backends share; the
//! auto-assigned id, the one phrase they spell differently, is rewritten for PostgreSQL. A database migrated by a newer build (a version
//! this build does not know) stops startup: an instance never runs against a newer
//! schema than it knows.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use super::{on_pool, Store};

/// (version, description, DDL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "store", include_str!("../../migrations/0001_store.sql")),
    (
        2,
        "tripleseat auth",
        include_str!("../../migrations/0002_tripleseat_auth.sql"),
    ),
];

/// An auto-assigned id, as SQLite and as PostgreSQL say it.
const SQLITE_ID: &str = "INTEGER PRIMARY KEY AUTOINCREMENT";
const POSTGRES_ID: &str = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";

#[derive(Debug, Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug)]
struct Embedded(Dialect);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                let sql = match self.0 {
                    Dialect::Sqlite => Cow::Borrowed(*sql),
                    Dialect::Postgres => Cow::Owned(sql.replace(SQLITE_ID, POSTGRES_ID)),
                };
                Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, sql, false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

pub(super) async fn apply(store: &Store) -> Result<(), String> {
    let dialect = if store.is_shared() {
        Dialect::Postgres
    } else {
        Dialect::Sqlite
    };
    let migrator = Migrator::new(Embedded(dialect)).await.map_err(|e| e.to_string())?;
    let applied = on_pool!(store, |pool| migrator.run(pool).await);
    applied.map_err(|error| match error {
        sqlx::migrate::MigrateError::VersionMissing(version) => format!(
            "the database holds schema version {version}, newer than this build knows (up to {}); run a newer build",
            latest()
        ),
        other => other.to_string(),
    })
}

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.iter().map(|(v, ..)| *v).max().unwrap_or(0)
}
