//! SendGrid v3 Mail Send: `POST /v3/mail/send` with a bearer key; 202 (200 in
//! sandbox mode) is success; 429 and 5xx are worth retrying, other 4xx are final.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::Message;
use crate::config::EmailConfig;
use crate::metrics::{Metrics, Upstream};
use crate::secret::Secret;
use crate::upstream::{retry_after, send_counted, Failure};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("SendGrid answered HTTP {0}")]
    Status(u16),
    #[error("SendGrid refused the message (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
    #[error("SendGrid rate limit (429)")]
    RateLimited,
    #[error("SendGrid did not answer in time")]
    Timeout,
    #[error("SendGrid could not be reached")]
    Unreachable,
}

pub struct SendgridClient {
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    base: String,
    key: Secret,
    sender: String,
    recipients: Vec<String>,
}

impl SendgridClient {
    pub fn new(config: &EmailConfig, http: reqwest::Client, metrics: Arc<Metrics>) -> SendgridClient {
        SendgridClient {
            http,
            metrics,
            base: config.api_base.clone(),
            key: config.api_key.clone(),
            sender: config.sender.clone(),
            recipients: config.recipients.clone(),
        }
    }

    /// One try; the outbox owns the retry schedule.
    pub async fn send(&self, message: &Message) -> Result<(), Failure<SendError>> {
        let to: Vec<_> = self.recipients.iter().map(|r| json!({"email": r})).collect();
        let body = json!({
            "personalizations": [{"to": to}],
            "from": {"email": self.sender, "name": "TripleSeat Connector"},
            "subject": message.subject,
            // text/plain must come before text/html.
            "content": [
                {"type": "text/plain", "value": message.text},
                {"type": "text/html", "value": message.html},
            ],
            "categories": ["tripleseat-connector"],
            "custom_args": {"correlation_id": message.correlation_id},
        });
        let request = self
            .http
            .post(format!("{}/v3/mail/send", self.base))
            .bearer_auth(self.key.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        let response = send_counted(&self.metrics, Upstream::Sendgrid, request)
            .await
            .map_err(|e| {
                Failure::Retry(if e.is_timeout() {
                    SendError::Timeout
                } else {
                    SendError::Unreachable
                })
            })?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            429 => {
                let wait = retry_after(response.headers()).or_else(|| rate_limit_reset(response.headers()));
                Err(Failure::RetryAfter(SendError::RateLimited, wait))
            }
            500..=599 => Err(Failure::Retry(SendError::Status(status))),
            _ => {
                let detail = error_detail(&response.bytes().await.unwrap_or_default());
                Err(Failure::Fatal(SendError::Rejected { status, detail }))
            }
        }
    }
}

/// What SendGrid's `{"errors": [{"message", "field"}]}` says, short, for the log and the
/// outbox row: "HTTP 403" alone does not tell a missing sender identity from a bad key.
fn error_detail(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(body) else {
        return "no error details".into();
    };
    let errors = parsed
        .get("errors")
        .and_then(|e| e.as_array())
        .cloned()
        .unwrap_or_default();
    let said: Vec<String> = errors
        .iter()
        .filter_map(|error| {
            let message = error.get("message")?.as_str()?;
            Some(match error.get("field").and_then(|f| f.as_str()) {
                Some(field) => format!("{message} (field {field})"),
                None => message.to_string(),
            })
        })
        .collect();
    if said.is_empty() {
        return "no error details".into();
    }
    said.join("; ").chars().take(300).collect()
}

/// `X-RateLimit-Reset` is an epoch second; the wait is the time until then.
fn rate_limit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let reset: i64 = headers.get("X-RateLimit-Reset")?.to_str().ok()?.trim().parse().ok()?;
    let now = chrono::Utc::now().timestamp();
    Some(Duration::from_secs(reset.saturating_sub(now).max(0) as u64))
}
