//! The Revel REST client: `API-AUTHENTICATION: key:secret`, JSON in and out,
//! Tastypie lists followed page by page through `meta.next`, reads retried under
//! the shared policy. Two handles: `RevelReader` can only read (dry runs, lookups,
//! the catalogue, `/test/revel` get nothing else), `RevelWriter` also writes, with
//! single tries classified for the writer, which alone knows how to retry a write
//! without duplicating it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::Value;
use tokio::time::Instant;

use crate::config::RevelConfig;
use crate::metrics::{Metrics, Upstream};
use crate::secret::Secret;
use crate::upstream::{retry_after, send_counted, with_retry, Failure, RetryPolicy};

/// What went wrong talking to Revel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevelError {
    #[error("Revel is not configured (REVEL_API_BASE/REVEL_DOMAIN, REVEL_API_KEY, REVEL_API_SECRET)")]
    NotConfigured,
    #[error("Revel refused the credentials (HTTP {0})")]
    Denied(u16),
    #[error("Revel rate limit (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Revel answered HTTP {0}")]
    Status(u16),
    #[error("Revel did not answer in time")]
    Timeout,
    #[error("Revel could not be reached")]
    Unreachable,
    /// The request may or may not have been applied (timeout or reset after sending, or a 5xx).
    #[error("Revel's answer was lost after the request was sent ({0})")]
    Ambiguous(&'static str),
    #[error("Revel answered with a body that is not the expected JSON")]
    Malformed,
    #[error("Revel rejected the request (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
}

/// The most pages a list may have; a catalogue of 100 000 products at 100 a page.
const MAX_PAGES: usize = 1_000;

/// Revel, read-only: nothing reachable from it can write.
#[derive(Clone)]
pub struct RevelReader {
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    base: Option<String>,
    credentials: Option<(Secret, Secret)>,
    retry: RetryPolicy,
}

/// Revel, read and write: held by the pipeline for runs that are not dry.
pub struct RevelWriter(RevelReader);

/// The two handles on one Revel tenant.
pub fn connect(
    config: &RevelConfig,
    http: reqwest::Client,
    retry: RetryPolicy,
    metrics: Arc<Metrics>,
) -> (RevelReader, RevelWriter) {
    let reader = RevelReader {
        http,
        metrics,
        base: config.api_base.clone(),
        credentials: config.credentials.clone(),
        retry,
    };
    (reader.clone(), RevelWriter(reader))
}

impl RevelWriter {
    pub fn reader(&self) -> &RevelReader {
        &self.0
    }

    /// One POST; the caller decides whether and how to retry.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, RevelError> {
        self.0.send(Method::POST, path, Some(body)).await
    }

    /// One PATCH; PATCHes set absolute values, so repeating one is harmless.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, RevelError> {
        self.0.send(Method::PATCH, path, Some(body)).await
    }
}

impl RevelReader {
    pub fn is_configured(&self) -> bool {
        self.base.is_some() && self.credentials.is_some()
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// A GET of one resource or page, retried on 429, 5xx and timeouts.
    pub async fn get(&self, path_and_query: &str, deadline: Option<Instant>) -> Result<Value, RevelError> {
        with_retry(self.retry, deadline, |_| async {
            match self.send(Method::GET, path_and_query, None).await {
                Ok(value) => Ok(value),
                Err(error) => Err(classify_read(error)),
            }
        })
        .await
    }

    /// Every object of a Tastypie list, following `meta.next` until it is null.
    pub async fn list(&self, path_and_query: &str, deadline: Option<Instant>) -> Result<Vec<Value>, RevelError> {
        let mut objects = Vec::new();
        let mut next = Some(path_and_query.to_string());
        for _ in 0..MAX_PAGES {
            let Some(page_path) = next.take() else {
                return Ok(objects);
            };
            let page = self.get(&page_path, deadline).await?;
            match page.get("objects") {
                Some(Value::Array(items)) => objects.extend(items.iter().cloned()),
                _ => return Err(RevelError::Malformed),
            }
            next = page
                .get("meta")
                .and_then(|m| m.get("next"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(|n| self.relative(n));
        }
        Err(RevelError::Malformed)
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, RevelError> {
        let (Some(base), Some((key, secret))) = (&self.base, &self.credentials) else {
            return Err(RevelError::NotConfigured);
        };
        let mut request = self
            .http
            .request(method.clone(), format!("{base}{path}"))
            .header("API-AUTHENTICATION", format!("{}:{}", key.expose(), secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let is_write = method != Method::GET;
        let response = send_counted(&self.metrics, Upstream::Revel, request)
            .await
            .map_err(|e| transport_error(e, is_write))?;
        read(response, is_write).await
    }

    /// `meta.next` is a path with a query (`/resources/Product/?limit=20&offset=20`);
    /// an absolute URL on the same host is reduced to its path.
    fn relative(&self, next: &str) -> String {
        match reqwest::Url::parse(next) {
            Ok(url) => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            },
            Err(_) => next.to_string(),
        }
    }
}

async fn read(response: Response, is_write: bool) -> Result<Value, RevelError> {
    let status = response.status().as_u16();
    match status {
        200..=299 => {}
        401 | 403 => return Err(RevelError::Denied(status)),
        429 => {
            return Err(RevelError::RateLimited {
                retry_after: retry_after(response.headers()),
            })
        }
        500..=599 if is_write => return Err(RevelError::Ambiguous("server error")),
        500..=599 => return Err(RevelError::Status(status)),
        _ => {
            let text = response.text().await.unwrap_or_default();
            return Err(RevelError::Rejected {
                status,
                detail: text.chars().take(300).collect(),
            });
        }
    }
    let bytes = response.bytes().await.map_err(|_| {
        if is_write {
            RevelError::Ambiguous("body lost")
        } else {
            RevelError::Unreachable
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|_| RevelError::Malformed)
}

fn transport_error(error: reqwest::Error, is_write: bool) -> RevelError {
    if error.is_connect() {
        // Nothing reached Revel, so nothing can have been written.
        RevelError::Unreachable
    } else if is_write {
        RevelError::Ambiguous(if error.is_timeout() {
            "timeout"
        } else {
            "connection lost"
        })
    } else if error.is_timeout() {
        RevelError::Timeout
    } else {
        RevelError::Unreachable
    }
}

fn classify_read(error: RevelError) -> Failure<RevelError> {
    match error {
        RevelError::RateLimited { retry_after } => Failure::RetryAfter(error, retry_after),
        RevelError::Status(_) | RevelError::Timeout | RevelError::Unreachable => Failure::Retry(error),
        other => Failure::Fatal(other),
    }
}
