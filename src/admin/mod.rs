//! Operating the connector without a redeploy (SPEC 18): the admin API under
//! `/admin/api`, the operator console at `/admin`, and the gate in front of them.
//! Without `ADMIN_TOKEN` none of it is mounted, so every `/admin` path is a 404.

pub mod api;
mod console;
pub mod tripleseat_connect;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;
use crate::startup::AppState;

/// Failed attempts per client address before it is answered 429 (refilled one every 6 s).
const FAILURES_PER_MINUTE: u32 = 10;
/// Client addresses remembered by the limiter before the idle ones are forgotten.
const LIMITER_KEYS: usize = 10_000;

/// The admin token and the limiter of failed attempts.
pub struct AdminGate {
    token: Secret,
    failures: DefaultKeyedRateLimiter<IpAddr>,
}

impl AdminGate {
    pub fn new(token: Secret) -> AdminGate {
        let quota = Quota::per_minute(NonZeroU32::new(FAILURES_PER_MINUTE).expect("invariant: a non-zero constant"));
        AdminGate {
            token,
            failures: RateLimiter::keyed(quota),
        }
    }

    /// Whether `presented` is the token, compared in constant time (of equal-length digests).
    pub fn accepts(&self, presented: &str) -> bool {
        same_secret(&self.token, presented)
    }
}

/// Constant-time comparison of a presented bearer value with a secret: both are hashed
/// first, so neither the content nor the length of the secret shows in the timing.
pub fn same_secret(secret: &Secret, presented: &str) -> bool {
    let expected = Sha256::digest(secret.expose().as_bytes());
    let given = Sha256::digest(presented.as_bytes());
    expected.ct_eq(&given).into()
}

/// The value of `Authorization: Bearer <value>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The client as Render's proxy saw it: the last `X-Forwarded-For` hop (the one the
/// proxy added), else the peer.
pub fn client_address(headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|hop| hop.trim().parse().ok())
        .unwrap_or(peer.ip())
}

/// A JSON error with its status.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let api = Router::new()
        .route("/status", get(api::status))
        .route("/switches", put(api::set_switches))
        .route("/switches/{name}", delete(api::clear_switch))
        .route("/deliveries", get(api::deliveries))
        .route("/today", get(api::today))
        .route("/events/{event_id}/replay", post(api::replay))
        .route("/sweep", post(api::sweep))
        .route("/audit", get(api::audit_trail))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), require_token));
    let connect = Router::new()
        .route("/admin/tripleseat/connect", get(tripleseat_connect::connect))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), require_token));
    Router::new()
        .route("/admin", get(console::page))
        .route("/admin/", get(console::page))
        .nest("/admin/api", api)
        .merge(connect)
}

/// Lets a request through with the admin token; else 401 (429 past the failure limit).
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let Some(gate) = state.admin.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if bearer(request.headers()).is_some_and(|token| gate.accepts(token)) {
        return next.run(request).await;
    }
    let client = client_address(request.headers(), peer);
    tracing::warn!(%client, path = %request.uri().path(), "Admin: request without a valid token");
    if gate.failures.len() > LIMITER_KEYS {
        gate.failures.retain_recent();
    }
    if gate.failures.check_key(&client).is_err() {
        let mut response = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed attempts; try again later",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        return response;
    }
    let mut response = json_error(
        StatusCode::UNAUTHORIZED,
        "a valid admin token is required (Authorization: Bearer …)",
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_values_are_read_in_any_case_and_compared_whole() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        let secret = Secret::new("0123456789abcdef0123456789abcdef");
        assert!(same_secret(&secret, "0123456789abcdef0123456789abcdef"));
        assert!(!same_secret(&secret, "0123456789abcdef0123456789abcde"));
        assert!(!same_secret(&secret, ""));
    }

    #[test]
    fn the_client_is_the_hop_the_proxy_added() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(client_address(&headers, peer).to_string(), "10.0.0.1");
        headers.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        assert_eq!(client_address(&headers, peer).to_string(), "5.6.7.8");
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_address(&headers, peer).to_string(), "10.0.0.1");
    }
}
