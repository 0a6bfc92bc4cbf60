//! The email outbox's rows: a message is stored `pending` before any attempt, claimed
//! by one sender at a time (a claim expires, so a killed sender's message is picked up
//! again), then marked `sent` after SendGrid's 202, rescheduled after a failure, or
//! `failed` once it has used its attempts (kept, and counted, for the operator).

use std::time::Duration;

use serde::Serialize;
use sqlx::Row;

use super::{bounded, ms, now_ms, on_pool, Store, StoreError};
use crate::email::Message;

/// How long a sender may hold a claimed message before another may try it: longer
/// than one attempt can take (the 10 s request timeout), short enough that a killed
/// sender's message goes out soon after.
const CLAIM_FOR: Duration = Duration::from_secs(30);

/// A message claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub message: Message,
    /// Attempts made so far, this one included.
    pub attempts: i64,
}

/// Messages still to send and given up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: i64,
    pub failed: i64,
}

/// A message that was given up, for the operator.
#[derive(Debug, Clone, Serialize)]
pub struct FailedEmail {
    pub id: i64,
    pub created_at_ms: i64,
    pub correlation_id: String,
    pub subject: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl Store {
    pub async fn enqueue_email(&self, message: &Message) -> Result<i64, StoreError> {
        let now = now_ms();
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO outbox (created_at_ms, correlation_id, subject, body_text, body_html, status, \
                 attempts, next_attempt_at_ms, claimed_until_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $1, 0) \
                 RETURNING id"
            )
            .bind(now)
            .bind(&message.correlation_id)
            .bind(&message.subject)
            .bind(&message.text)
            .bind(&message.html)
            .fetch_one(pool)
            .await
            .and_then(|row| row.try_get::<i64, _>("id")))
        })
        .await
    }

    /// Claims up to `limit` messages that are due, counting the attempt now so a
    /// sender killed mid-send still uses one.
    pub async fn claim_due_emails(&self, limit: i64) -> Result<Vec<Claimed>, StoreError> {
        let now = now_ms();
        bounded(async {
            on_pool!(self, |pool| {
                let rows = sqlx::query(
                    "UPDATE outbox SET claimed_until_ms = $1, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at_ms <= $2 \
                                  AND claimed_until_ms <= $2 ORDER BY id LIMIT $3) \
                       AND status = 'pending' AND claimed_until_ms <= $2 \
                     RETURNING id, correlation_id, subject, body_text, body_html, attempts",
                )
                .bind(now.saturating_add(ms(CLAIM_FOR)))
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(Claimed {
                            id: row.try_get("id")?,
                            attempts: row.try_get("attempts")?,
                            message: Message {
                                subject: row.try_get("subject")?,
                                text: row.try_get("body_text")?,
                                html: row.try_get("body_html")?,
                                correlation_id: row.try_get("correlation_id")?,
                            },
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })
        .await
    }

    pub async fn mark_email_sent(&self, id: i64) -> Result<(), StoreError> {
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at_ms = $2, claimed_until_ms = 0, last_error = NULL WHERE id = $1"
            )
            .bind(id)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await?;
        Ok(())
    }

    /// After a failed attempt: tries again after `retry_in`, or gives up when `retry_in`
    /// is `None` (a final error, or no attempts left).
    pub async fn mark_email_failed(&self, id: i64, error: &str, retry_in: Option<Duration>) -> Result<(), StoreError> {
        let (status, next) = match retry_in {
            Some(wait) => ("pending", now_ms().saturating_add(ms(wait))),
            None => ("failed", now_ms()),
        };
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "UPDATE outbox SET status = $2, next_attempt_at_ms = $3, claimed_until_ms = 0, last_error = $4 WHERE id = $1"
            )
            .bind(id)
            .bind(status)
            .bind(next)
            .bind(error)
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await?;
        Ok(())
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        bounded(async {
            on_pool!(self, |pool| {
                let rows = sqlx::query(
                    "SELECT status, COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'failed') GROUP BY status",
                )
                .fetch_all(pool)
                .await?;
                let mut counts = OutboxCounts::default();
                for row in &rows {
                    let n: i64 = row.try_get("n")?;
                    match row.try_get::<String, _>("status")?.as_str() {
                        "pending" => counts.pending = n,
                        _ => counts.failed = n,
                    }
                }
                Ok(counts)
            })
        })
        .await
    }

    /// The messages given up, newest first.
    pub async fn failed_emails(&self, limit: i64) -> Result<Vec<FailedEmail>, StoreError> {
        bounded(async {
            on_pool!(self, |pool| {
                let rows = sqlx::query(
                    "SELECT id, created_at_ms, correlation_id, subject, attempts, last_error FROM outbox \
                     WHERE status = 'failed' ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(FailedEmail {
                            id: row.try_get("id")?,
                            created_at_ms: row.try_get("created_at_ms")?,
                            correlation_id: row.try_get("correlation_id")?,
                            subject: row.try_get("subject")?,
                            attempts: row.try_get("attempts")?,
                            last_error: row.try_get("last_error")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })
        .await
    }
}
