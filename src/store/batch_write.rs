//! Journal rows and settled keys, a batch at a time, in one transaction. No statement
//! is ever parsed twice: SQLite gets multi-row statements of a few fixed sizes (each
//! prepared once per connection and kept), PostgreSQL one statement per table that
//! takes each column as an array (`UNNEST`). Statements whose text grew with the batch
//! had to be parsed anew each time, and under load that cost more than the rows.

use std::collections::HashMap;

use super::journal::{journal_columns, JournalEntry};
use super::{bounded, now_ms, Backend, Store, StoreError};
use crate::idempotency::DeliveryKey;

/// Settles keys: this, the `(key, settled_at_ms, expires_at_ms)` rows, then the conflict clause.
macro_rules! settle_keys {
    ($($rows:expr),+) => {
        concat!(
            "INSERT INTO delivery_keys (delivery_key, settled_at_ms, expires_at_ms) ",
            $($rows,)+
            " ON CONFLICT (delivery_key) DO UPDATE SET settled_at_ms = excluded.settled_at_ms, \
             expires_at_ms = excluded.expires_at_ms"
        )
    };
}

/// The row counts of SQLite's statements: a batch is written as so many of the
/// largest as fit, then of the next, and so on.
const SQLITE_ROWS: [usize; 3] = [64, 8, 1];

/// SQLite's statements for each of `SQLITE_ROWS`, built once.
struct SqliteStatements {
    journal: [String; 3],
    keys: [String; 3],
}

fn sqlite_statements() -> &'static SqliteStatements {
    static STATEMENTS: std::sync::OnceLock<SqliteStatements> = std::sync::OnceLock::new();
    STATEMENTS.get_or_init(|| SqliteStatements {
        journal: SQLITE_ROWS.map(|rows| {
            format!(
                "INSERT INTO journal ({}) VALUES {}",
                journal_columns!(),
                placeholders(rows, 16)
            )
        }),
        keys: SQLITE_ROWS.map(|rows| format!(settle_keys!("VALUES {}"), placeholders(rows, 3))),
    })
}

/// `(?, ?), (?, ?)` for two rows of two columns. (Numbered parameters would cost
/// SQLite a scan of all the names for each value bound: quadratic at these sizes.)
fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// `rows` split into runs of `SQLITE_ROWS`' sizes, each with its statement's index.
fn sqlite_chunks<T>(mut rows: &[T]) -> Vec<(usize, &[T])> {
    let mut chunks = Vec::new();
    for (index, size) in SQLITE_ROWS.into_iter().enumerate() {
        while rows.len() >= size {
            let (chunk, rest) = rows.split_at(size);
            chunks.push((index, chunk));
            rows = rest;
        }
    }
    chunks
}

/// One array per column, in order.
const POSTGRES_JOURNAL: &str = concat!(
    "INSERT INTO journal (",
    journal_columns!(),
    ") SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::bool[], $10::bool[], $11::bool[], $12::text[], $13::bigint[], $14::text[], \
     $15::text[], $16::text[])"
);
/// `$1`: the keys, `$3`: their expiries, `$2`: when they were settled.
const POSTGRES_KEYS: &str = settle_keys!(
    "SELECT settled.key, $2, settled.expires_at_ms FROM UNNEST($1::text[], $3::bigint[]) AS settled (key, expires_at_ms)"
);

/// One statement may not touch a key twice (PostgreSQL's upsert refuses): the last of
/// a key's settlements is the one a row at a time would have left.
fn latest_settlements(keys: &[(DeliveryKey, i64)]) -> Vec<(&str, i64)> {
    let mut latest: Vec<(&str, i64)> = Vec::with_capacity(keys.len());
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(keys.len());
    for (key, expires_at_ms) in keys {
        match at.get(key.as_str()) {
            Some(&index) => latest[index].1 = *expires_at_ms,
            None => {
                at.insert(key.as_str(), latest.len());
                latest.push((key.as_str(), *expires_at_ms));
            }
        }
    }
    latest
}

impl Store {
    /// Journal rows and settled keys, in one transaction.
    pub async fn write_batch(&self, entries: &[JournalEntry], keys: &[(DeliveryKey, i64)]) -> Result<(), StoreError> {
        let keys = latest_settlements(keys);
        let settled_at = now_ms();
        bounded(async {
            match &self.backend {
                Backend::Sqlite(pool) => {
                    let statements = sqlite_statements();
                    let mut tx = pool.begin().await?;
                    for (index, chunk) in sqlite_chunks(&keys) {
                        let mut upsert = sqlx::query(&statements.keys[index]);
                        for (key, expires_at_ms) in chunk {
                            upsert = upsert.bind(*key).bind(settled_at).bind(*expires_at_ms);
                        }
                        upsert.execute(&mut *tx).await?;
                    }
                    for (index, chunk) in sqlite_chunks(entries) {
                        let insert = chunk
                            .iter()
                            .fold(sqlx::query(&statements.journal[index]), bind_journal_row);
                        insert.execute(&mut *tx).await?;
                    }
                    tx.commit().await
                }
                Backend::Postgres(pool) => {
                    let mut tx = pool.begin().await?;
                    if !keys.is_empty() {
                        let (names, expiries): (Vec<&str>, Vec<i64>) = keys.iter().copied().unzip();
                        sqlx::query(POSTGRES_KEYS)
                            .bind(names)
                            .bind(settled_at)
                            .bind(expiries)
                            .execute(&mut *tx)
                            .await?;
                    }
                    if !entries.is_empty() {
                        postgres_journal(entries).execute(&mut *tx).await?;
                    }
                    tx.commit().await
                }
            }
        })
        .await
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// One more journal row's sixteen values, the columns in order.
fn bind_journal_row<'q>(query: SqliteQuery<'q>, e: &'q JournalEntry) -> SqliteQuery<'q> {
    query
        .bind(e.at_ms)
        .bind(&e.correlation_id)
        .bind(&e.source)
        .bind(&e.instance_id)
        .bind(&e.trigger)
        .bind(&e.event_id)
        .bind(&e.site_id)
        .bind(&e.reason)
        .bind(e.ok)
        .bind(e.processed)
        .bind(e.dry_run)
        .bind(&e.revel_order_id)
        .bind(e.duration_ms)
        .bind(&e.signature_form)
        .bind(&e.signature_shape)
        .bind(&e.answered_reason)
}

/// The journal statement with its sixteen column arrays bound.
fn postgres_journal(entries: &[JournalEntry]) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let text = |f: fn(&JournalEntry) -> &str| entries.iter().map(f).collect::<Vec<_>>();
    let optional = |f: fn(&JournalEntry) -> Option<&str>| entries.iter().map(f).collect::<Vec<_>>();
    let flag = |f: fn(&JournalEntry) -> bool| entries.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&JournalEntry) -> i64| entries.iter().map(f).collect::<Vec<_>>();
    sqlx::query(POSTGRES_JOURNAL)
        .bind(number(|e| e.at_ms))
        .bind(text(|e| &e.correlation_id))
        .bind(text(|e| &e.source))
        .bind(text(|e| &e.instance_id))
        .bind(optional(|e| e.trigger.as_deref()))
        .bind(optional(|e| e.event_id.as_deref()))
        .bind(optional(|e| e.site_id.as_deref()))
        .bind(text(|e| &e.reason))
        .bind(flag(|e| e.ok))
        .bind(flag(|e| e.processed))
        .bind(flag(|e| e.dry_run))
        .bind(optional(|e| e.revel_order_id.as_deref()))
        .bind(number(|e| e.duration_ms))
        .bind(optional(|e| e.signature_form.as_deref()))
        .bind(optional(|e| e.signature_shape.as_deref()))
        .bind(optional(|e| e.answered_reason.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_into_the_fixed_statement_sizes_largest_first() {
        let rows: Vec<usize> = (0..141).collect();
        let sizes: Vec<(usize, usize)> = sqlite_chunks(&rows).iter().map(|(i, c)| (*i, c.len())).collect();
        assert_eq!(
            sizes,
            [(0, 64), (0, 64), (1, 8), (2, 1), (2, 1), (2, 1), (2, 1), (2, 1)]
        );
        let flat: Vec<usize> = sqlite_chunks(&rows).into_iter().flat_map(|(_, c)| c.to_vec()).collect();
        assert_eq!(flat, rows, "every row once, in order");
        assert!(sqlite_chunks::<usize>(&[]).is_empty());
    }

    #[test]
    fn each_row_has_a_placeholder_per_column() {
        assert_eq!(placeholders(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(sqlite_statements().journal[0].matches('?').count(), 64 * 16);
    }

    #[test]
    fn a_keys_last_settlement_is_the_one_kept_and_order_is_first_seen() {
        let key = |id: &str| DeliveryKey::new("UPDATE_EVENT", id, "2026-12-02");
        let keys = vec![(key("a"), 1), (key("b"), 2), (key("a"), 3)];
        let latest = latest_settlements(&keys);
        assert_eq!(latest, vec![(keys[0].0.as_str(), 3), (keys[1].0.as_str(), 2)]);
    }
}
