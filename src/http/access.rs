//! Who may call what: the admin token's gate, bearer values compared in constant
//! time, the client's address behind Render's proxy, and the JSON error answer.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

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

    /// Counts a failed attempt from `client`: true once it has failed too often.
    pub fn is_over_failure_limit(&self, client: IpAddr) -> bool {
        if self.failures.len() > LIMITER_KEYS {
            self.failures.retain_recent();
        }
        self.failures.check_key(&client).is_err()
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
