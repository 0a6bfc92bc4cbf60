//! The TripleSeat read API: one event with its financials, and the date search the
//! sweep uses. Auth is the public API key when set, else OAuth 2.0 client
//! credentials with the token cached until it expires. All calls share one pacer
//! that keeps under TripleSeat's limit of about 10 requests a second.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::TripleseatConfig;
use crate::metrics::{Metrics, Upstream};
use crate::secret::Secret;
use crate::upstream::{encode_component, retry_after, send_counted, with_retry, Failure, RetryPolicy};

/// What went wrong reading TripleSeat, in terms the pipeline decides on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TripleseatError {
    #[error("TripleSeat refused the credentials (401/403 or a login page)")]
    Denied,
    #[error("TripleSeat read credentials are not configured")]
    NotConfigured,
    #[error("TripleSeat answered HTTP {0}")]
    Status(u16),
    #[error("TripleSeat rate limit (429) persisted")]
    RateLimited,
    #[error("TripleSeat did not answer in time")]
    Timeout,
    #[error("TripleSeat could not be reached")]
    Unreachable,
    #[error("TripleSeat answered with a body that is not the expected JSON")]
    Malformed,
}

enum ReadAuth {
    ApiKey(Secret),
    OAuth { client_id: String, secret: Secret },
    Missing,
}

struct Token {
    value: Secret,
    expires: Instant,
}

/// One page of a search.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub total_pages: u32,
    pub results: Vec<Value>,
}

pub struct TripleseatClient {
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    base: String,
    auth: ReadAuth,
    token: Mutex<Option<Token>>,
    retry: RetryPolicy,
    pacer: Mutex<Instant>,
}

/// TripleSeat allows about 10 requests a second; we keep a little under.
const MIN_SPACING: Duration = Duration::from_millis(110);
/// Tokens are renewed this long before TripleSeat says they expire.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

impl TripleseatClient {
    pub fn new(
        config: &TripleseatConfig,
        http: reqwest::Client,
        retry: RetryPolicy,
        metrics: Arc<Metrics>,
    ) -> TripleseatClient {
        let auth = match (&config.public_api_key, &config.oauth_client) {
            (Some(key), _) => ReadAuth::ApiKey(key.clone()),
            (None, Some((client_id, secret))) => ReadAuth::OAuth {
                client_id: client_id.clone(),
                secret: secret.clone(),
            },
            (None, None) => ReadAuth::Missing,
        };
        TripleseatClient {
            http,
            metrics,
            base: config.api_base.clone(),
            auth,
            token: Mutex::new(None),
            retry,
            pacer: Mutex::new(Instant::now()),
        }
    }

    pub fn is_configured(&self) -> bool {
        !matches!(self.auth, ReadAuth::Missing)
    }

    /// `GET /v1/events/<id>.json?show_financial=true`, the `event` object of the answer.
    pub async fn event(&self, event_id: &str, deadline: Instant) -> Result<Value, TripleseatError> {
        let url = format!("{}/v1/events/{}.json", self.base, encode_component(event_id));
        let body = self
            .get_json(&url, &[("show_financial", "true".to_string())], deadline)
            .await?;
        match body.get("event") {
            Some(event) if event.is_object() => Ok(event.clone()),
            _ if body.get("id").is_some() => Ok(body),
            _ => Err(TripleseatError::Malformed),
        }
    }

    /// One page of `GET /v1/events/search.json` for a site's events on `day`.
    pub async fn search_day(
        &self,
        site_id: &str,
        day: NaiveDate,
        statuses: &[String],
        page: u32,
        deadline: Instant,
    ) -> Result<SearchPage, TripleseatError> {
        let date = day.format("%m/%d/%Y").to_string();
        let query = [
            ("event_start_date", date.clone()),
            ("event_end_date", date),
            ("status", statuses.join(",").to_ascii_lowercase()),
            ("site_id", site_id.to_string()),
            ("show_financial", "true".to_string()),
            ("page", page.to_string()),
        ];
        let url = format!("{}/v1/events/search.json", self.base);
        let body = self.get_json(&url, &query, deadline).await?;
        let results = match body.get("results") {
            Some(Value::Array(results)) => results
                .iter()
                .map(|r| r.get("event").filter(|e| e.is_object()).unwrap_or(r).clone())
                .collect(),
            _ => return Err(TripleseatError::Malformed),
        };
        let total_pages = body
            .get("total_pages")
            .and_then(|t| t.as_u64().or_else(|| t.as_str()?.parse().ok()))
            .unwrap_or(1) as u32;
        Ok(SearchPage { total_pages, results })
    }

    async fn get_json(&self, url: &str, query: &[(&str, String)], deadline: Instant) -> Result<Value, TripleseatError> {
        if !self.is_configured() {
            return Err(TripleseatError::NotConfigured);
        }
        with_retry(self.retry, Some(deadline), |attempt| async move {
            let request = self.authorize(self.http.get(url).query(query)).await?;
            self.pace().await;
            let response = send_counted(&self.metrics, Upstream::Tripleseat, request)
                .await
                .map_err(transport_failure)?;
            if response.status() == StatusCode::UNAUTHORIZED && matches!(self.auth, ReadAuth::OAuth { .. }) {
                // A token revoked or rotated before its stated expiry: forget it, and try
                // once more with a fresh one before calling it a denial.
                *self.token.lock().await = None;
                if attempt == 1 {
                    return Err(Failure::Retry(TripleseatError::Denied));
                }
            }
            read_json(response).await
        })
        .await
    }

    async fn authorize(&self, request: RequestBuilder) -> Result<RequestBuilder, Failure<TripleseatError>> {
        match &self.auth {
            ReadAuth::ApiKey(key) => Ok(request.header("X-API-Key", key.expose())),
            ReadAuth::OAuth { client_id, secret } => {
                let token = self.token(client_id, secret).await?;
                Ok(request.bearer_auth(token.expose()))
            }
            ReadAuth::Missing => Err(Failure::Fatal(TripleseatError::NotConfigured)),
        }
    }

    async fn token(&self, client_id: &str, secret: &Secret) -> Result<Secret, Failure<TripleseatError>> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.expires > Instant::now()) {
            return Ok(token.value.clone());
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            expires_in: Option<u64>,
        }
        self.pace().await;
        let request = self.http.post(format!("{}/oauth2/token", self.base)).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret.expose()),
        ]);
        let response = send_counted(&self.metrics, Upstream::Tripleseat, request)
            .await
            .map_err(transport_failure)?;
        let answer: TokenAnswer =
            serde_json::from_value(read_json(response).await?).map_err(|_| Failure::Fatal(TripleseatError::Denied))?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(7200));
        let token = Secret::new(answer.access_token);
        *cached = Some(Token {
            value: token.clone(),
            expires: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        });
        Ok(token)
    }

    /// Waits for this request's slot so that all callers together stay under the limit.
    async fn pace(&self) {
        let slot = {
            let mut next = self.pacer.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + MIN_SPACING;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

async fn read_json(response: Response) -> Result<Value, Failure<TripleseatError>> {
    let status = response.status();
    let is_html = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html"));
    match status.as_u16() {
        401 | 403 => return Err(Failure::Fatal(TripleseatError::Denied)),
        429 => {
            return Err(Failure::RetryAfter(
                TripleseatError::RateLimited,
                retry_after(response.headers()),
            ))
        }
        500..=599 => return Err(Failure::Retry(TripleseatError::Status(status.as_u16()))),
        200..=299 => {}
        other => return Err(Failure::Fatal(TripleseatError::Status(other))),
    }
    let bytes = response.bytes().await.map_err(transport_failure)?;
    // TripleSeat answers a failed login with an HTML page, sometimes with status 200.
    if is_html || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        return Err(Failure::Fatal(TripleseatError::Denied));
    }
    serde_json::from_slice(&bytes).map_err(|_| Failure::Fatal(TripleseatError::Malformed))
}

fn transport_failure(error: reqwest::Error) -> Failure<TripleseatError> {
    if error.is_timeout() {
        Failure::Retry(TripleseatError::Timeout)
    } else {
        Failure::Retry(TripleseatError::Unreachable)
    }
}
