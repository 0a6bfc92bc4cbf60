//! The TripleSeat read API: one event with its financials, and the date search the
//! sweep uses. Each read goes by the first of the ways in `auth` that TripleSeat
//! accepts; all calls share one pacer that keeps under its limit of about 10 a second.

use std::sync::Arc;

use chrono::NaiveDate;
use reqwest::Response;
use serde_json::Value;
use tokio::time::Instant;

use super::auth::{Authorizer, Credential, Unavailable};
use super::failure::{transport_failure, TripleseatError};
use super::pacer::Pacer;
use crate::config::TripleseatConfig;
use crate::metrics::{Metrics, Upstream};
use crate::store::Store;
use crate::upstream::{encode_component, retry_after, send_counted, with_retry, Failure, RetryPolicy};

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
    auth: Authorizer,
    retry: RetryPolicy,
    pacer: Arc<Pacer>,
}

impl TripleseatClient {
    pub fn new(
        config: &TripleseatConfig,
        http: reqwest::Client,
        retry: RetryPolicy,
        metrics: Arc<Metrics>,
        store: Arc<Store>,
    ) -> TripleseatClient {
        let pacer = Arc::new(Pacer::default());
        TripleseatClient {
            auth: Authorizer::new(config, http.clone(), Arc::clone(&metrics), Arc::clone(&pacer), store),
            http,
            metrics,
            base: config.api_base.clone(),
            retry,
            pacer,
        }
    }

    pub fn is_configured(&self) -> bool {
        self.auth.is_configured()
    }

    /// The ways of reading, for `/health`, the console and the consent flow.
    pub fn auth(&self) -> &Authorizer {
        &self.auth
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
        with_retry(self.retry, Some(deadline), |_| {
            self.read_by_any_way(url, query, deadline)
        })
        .await
    }

    /// One read, by the first way TripleSeat accepts: a refused way (401/403 or a
    /// login page) hands over to the next; a refused cached token is renewed once.
    async fn read_by_any_way(
        &self,
        url: &str,
        query: &[(&str, String)],
        deadline: Instant,
    ) -> Result<Value, Failure<TripleseatError>> {
        for way in self.auth.ways_to_try() {
            let mut refused: Option<Credential> = None;
            loop {
                let credential = match self.auth.credential(way, refused.as_ref(), deadline).await {
                    Ok(credential) => credential,
                    Err(Unavailable::Transport(failure)) => return Err(failure),
                    Err(Unavailable::Refused(error)) => {
                        tracing::warn!(
                            way = way.as_str(),
                            error,
                            "TripleSeat: no token for this way; trying the next"
                        );
                        self.auth.note_refused(way);
                        break;
                    }
                    Err(Unavailable::NotSet | Unavailable::Store) => break,
                };
                self.pacer.wait().await;
                let request = credential.apply(self.http.get(url).query(query));
                let response = send_counted(&self.metrics, Upstream::Tripleseat, request)
                    .await
                    .map_err(transport_failure)?;
                // Only a 401 says the token itself is no good; a 403 is about access.
                let token_refused = response.status() == reqwest::StatusCode::UNAUTHORIZED;
                match read_json(response).await {
                    Err(Failure::Fatal(TripleseatError::Denied)) if token_refused && credential.is_renewable() => {
                        refused = Some(credential);
                    }
                    Err(Failure::Fatal(TripleseatError::Denied)) => {
                        tracing::warn!(
                            way = way.as_str(),
                            "TripleSeat: refused this way of reading; trying the next"
                        );
                        self.auth.note_refused(way);
                        break;
                    }
                    answer => {
                        if answer.is_ok() {
                            self.auth.note_worked(way);
                        }
                        return answer;
                    }
                }
            }
        }
        Err(Failure::Fatal(TripleseatError::Denied))
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
