//! Versioned schema migrations, embedded in the binary and applied at startup. Each
//! backend has its own files in `migrations/<backend>/` (the DDL differs a little);
//! they must keep the same versions. A database migrated by a newer build (a version
//! this build does not know) stops startup: an instance never runs against a newer
//! schema than it knows.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use super::{on_pool, Store};

/// (version, description, SQLite DDL, PostgreSQL DDL).
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[(
    1,
    "store",
    include_str!("../../migrations/sqlite/0001_store.sql"),
    include_str!("../../migrations/postgres/0001_store.sql"),
)];

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
            .map(|(version, description, sqlite, postgres)| {
                let sql = match self.0 {
                    Dialect::Sqlite => sqlite,
                    Dialect::Postgres => postgres,
                };
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
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
