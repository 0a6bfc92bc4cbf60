//! Giving TripleSeat consent once (SPEC 20). `GET /admin/tripleseat/connect` (admin
//! token) sends the operator to TripleSeat's authorize page; TripleSeat sends the
//! browser back to `GET /oauth/tripleseat/callback`, which checks the one-time state,
//! exchanges the code and stores the tokens. The callback carries no admin token (it
//! is TripleSeat's redirect), so the state is what proves the link was ours.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::api::{audit, Caller};
use crate::http::access::json_error;
use crate::http::state::AppState;
use crate::tripleseat::auth::{ConsentError, CALLBACK_PATH, CONSENT_LINK_TTL};

/// `GET /admin/tripleseat/connect`: a redirect to TripleSeat's consent page, or with
/// `Accept: application/json` (the console) the link as `{"authorize_url": …}`.
pub async fn connect(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let config = &state.services.config;
    let link = state
        .services
        .tripleseat
        .auth()
        .consent_link(config.public_base_url.as_deref(), true)
        .await;
    let (url, consent_state) = match link {
        Ok(link) => link,
        Err(error) => {
            let status = match error {
                ConsentError::Store => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::CONFLICT,
            };
            return json_error(status, &format!("cannot start the TripleSeat consent: {error}"));
        }
    };
    audit(
        &state,
        &Caller::of(&headers, peer),
        "tripleseat_connect",
        "consent link handed out".into(),
        None,
    )
    .await;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    // The callback must come back to this browser: the cookie holds the state.
    let secure = if config
        .public_base_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{CONSENT_COOKIE}={consent_state}; Path={CALLBACK_PATH}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        CONSENT_LINK_TTL.as_secs()
    );
    let mut response = if wants_json {
        Json(json!({"authorize_url": url})).into_response()
    } else {
        (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
    };
    if let Ok(cookie) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The cookie that ties a consent link to the browser that asked for it.
const CONSENT_COOKIE: &str = "tripleseat_consent";

/// The consent cookie's value, from the request's `Cookie` headers.
fn consent_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CONSENT_COOKIE)
        .map(|(_, value)| value.to_string())
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /oauth/tripleseat/callback?code=…&state=…` (or `?error=…` when the operator
/// declined): a small page saying what happened, in words for a browser.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Response {
    let (code, consent_state) = match returned(&callback) {
        Ok(returned) => returned,
        Err(not_returned) => return not_returned.page(),
    };
    let completed = state
        .services
        .tripleseat
        .auth()
        .complete_consent(
            code,
            consent_state,
            consent_cookie(&headers).as_deref(),
            state.services.config.public_base_url.as_deref(),
        )
        .await;
    match completed {
        Ok(()) => connected(&state).await,
        Err(error) => {
            tracing::warn!(%error, "TripleSeat consent: not completed");
            let status = match error {
                ConsentError::Store | ConsentError::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
                ConsentError::NotConfigured(_) => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            page(status, "Not connected", &html_escape(&error.to_string()))
        }
    }
}

/// What a callback without a code and state means.
enum NotReturned {
    /// The operator declined, or TripleSeat failed: its error code, made safe to show.
    Declined(String),
    /// Someone opened the address without coming back from TripleSeat.
    Incomplete,
}

impl NotReturned {
    fn page(&self) -> Response {
        let message = match self {
            NotReturned::Declined(error) => format!(
                "TripleSeat answered <code>{error}</code>. Nothing changed; start again from the console when ready."
            ),
            NotReturned::Incomplete => {
                "This address is where TripleSeat sends you back after consent; it needs its code and state.".into()
            }
        };
        page(StatusCode::BAD_REQUEST, "Not connected", &message)
    }
}

/// The code and state TripleSeat sent back.
fn returned(callback: &Callback) -> Result<(&str, &str), NotReturned> {
    match (&callback.code, &callback.state, &callback.error) {
        (_, _, Some(error)) => {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            tracing::warn!(error, "TripleSeat consent: declined or failed at TripleSeat");
            Err(NotReturned::Declined(error))
        }
        (Some(code), Some(consent_state), None) => Ok((code, consent_state)),
        _ => Err(NotReturned::Incomplete),
    }
}

/// Consent given: audited, and said so.
async fn connected(state: &AppState) -> Response {
    let entry = crate::store::switches::AuditEntry {
        at_ms: 0,
        action: "tripleseat_connected".into(),
        detail: "authorization code exchanged; tokens stored".into(),
        source_addr: None,
        note: None,
    };
    if let Err(error) = state.services.store.add_audit(&entry).await {
        tracing::error!(%error, "TripleSeat consent: the audit row was not written");
    }
    page(
        StatusCode::OK,
        "Connected",
        "TripleSeat reads now use the authorization you gave. You can close this page; the console shows the way in use.",
    )
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>TripleSeat: {title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem\">\
         <h1>TripleSeat: {title}</h1><p>{message}</p></body></html>"
    );
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
