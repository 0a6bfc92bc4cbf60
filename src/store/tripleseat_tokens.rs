//! The TripleSeat authorization an operator gave (OAuth 2.0 authorization code), and
//! the consent links handed out for it. TripleSeat may rotate the refresh token on
//! every refresh and refuse the old one, so the row is the only copy that counts:
//! every instance reads it before refreshing, and replaces it only if its `version`
//! is still the one it read (compare and swap), so two instances never keep
//! different tokens and a restart never uses a spent one.

use sqlx::Row;

use super::{bounded, now_ms, on_pool, Store, StoreError};

const AUTHORIZATION_CODE: &str = "authorization_code";

/// Tokens as the store keeps them. `Debug` is not derived: these are credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTokens {
    pub access_token: String,
    pub access_expires_ms: i64,
    pub refresh_token: String,
    /// Goes up by one with every write.
    pub version: i64,
    pub connected_at_ms: i64,
    pub refreshed_at_ms: i64,
}

/// New tokens from TripleSeat's token endpoint.
pub struct FreshTokens<'a> {
    pub access_token: &'a str,
    pub access_expires_ms: i64,
    pub refresh_token: &'a str,
}

impl Store {
    pub async fn tripleseat_tokens(&self) -> Result<Option<StoredTokens>, StoreError> {
        bounded(async {
            on_pool!(self, |pool| {
                let row = sqlx::query(
                    "SELECT access_token, access_expires_ms, refresh_token, version, connected_at_ms, \
                     refreshed_at_ms FROM tripleseat_tokens WHERE name = $1",
                )
                .bind(AUTHORIZATION_CODE)
                .fetch_optional(pool)
                .await?;
                row.map(|row| {
                    Ok(StoredTokens {
                        access_token: row.try_get("access_token")?,
                        access_expires_ms: row.try_get("access_expires_ms")?,
                        refresh_token: row.try_get("refresh_token")?,
                        version: row.try_get("version")?,
                        connected_at_ms: row.try_get("connected_at_ms")?,
                        refreshed_at_ms: row.try_get("refreshed_at_ms")?,
                    })
                })
                .transpose()
            })
        })
        .await
    }

    /// Stores the tokens of a new consent, whatever was there before.
    pub async fn connect_tripleseat(&self, tokens: &FreshTokens<'_>) -> Result<(), StoreError> {
        let now = now_ms();
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO tripleseat_tokens (name, access_token, access_expires_ms, refresh_token, version, \
                 connected_at_ms, refreshed_at_ms) VALUES ($1, $2, $3, $4, 1, $5, $5) \
                 ON CONFLICT (name) DO UPDATE SET access_token = excluded.access_token, \
                 access_expires_ms = excluded.access_expires_ms, refresh_token = excluded.refresh_token, \
                 version = tripleseat_tokens.version + 1, connected_at_ms = excluded.connected_at_ms, \
                 refreshed_at_ms = excluded.refreshed_at_ms"
            )
            .bind(AUTHORIZATION_CODE)
            .bind(tokens.access_token)
            .bind(tokens.access_expires_ms)
            .bind(tokens.refresh_token)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await
    }

    /// Replaces the tokens after a refresh, only if they are still at `version`.
    /// False: another instance refreshed first (read the row again and use its tokens).
    pub async fn rotate_tripleseat_tokens(&self, version: i64, tokens: &FreshTokens<'_>) -> Result<bool, StoreError> {
        let replaced = bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "UPDATE tripleseat_tokens SET access_token = $3, access_expires_ms = $4, refresh_token = $5, \
                 version = version + 1, refreshed_at_ms = $6 WHERE name = $1 AND version = $2"
            )
            .bind(AUTHORIZATION_CODE)
            .bind(version)
            .bind(tokens.access_token)
            .bind(tokens.access_expires_ms)
            .bind(tokens.refresh_token)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        })
        .await?;
        Ok(replaced == 1)
    }

    /// Forgets the authorization if it is still at `version` (TripleSeat refused its
    /// refresh token: consent must be given again).
    pub async fn forget_tripleseat_tokens(&self, version: i64) -> Result<bool, StoreError> {
        let removed = bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "DELETE FROM tripleseat_tokens WHERE name = $1 AND version = $2"
            )
            .bind(AUTHORIZATION_CODE)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        })
        .await?;
        Ok(removed == 1)
    }

    /// Remembers a consent link's `state` until `expires_at_ms`; `browser_bound`: the
    /// callback must come with the cookie that holds it.
    pub async fn remember_oauth_state(
        &self,
        state: &str,
        expires_at_ms: i64,
        browser_bound: bool,
    ) -> Result<(), StoreError> {
        bounded(async {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO oauth_states (state, created_at_ms, expires_at_ms, browser_bound) VALUES ($1, $2, $3, $4)"
            )
            .bind(state)
            .bind(now_ms())
            .bind(expires_at_ms)
            .bind(browser_bound)
            .execute(pool)
            .await
            .map(|_| ()))
        })
        .await
    }

    /// Uses up a consent link's `state`: once, for a state handed out and unexpired,
    /// `Some(browser_bound)`; else `None`.
    pub async fn take_oauth_state(&self, state: &str) -> Result<Option<bool>, StoreError> {
        bounded(async {
            on_pool!(self, |pool| {
                let row = sqlx::query(
                    "DELETE FROM oauth_states WHERE state = $1 AND expires_at_ms > $2 RETURNING browser_bound",
                )
                .bind(state)
                .bind(now_ms())
                .fetch_optional(pool)
                .await?;
                row.map(|row| row.try_get::<bool, _>("browser_bound")).transpose()
            })
        })
        .await
    }
}
