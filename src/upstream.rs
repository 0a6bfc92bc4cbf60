//! The shared HTTP client and the one retry policy every upstream uses.
//!
//! Each client classifies its own failures into [`Failure`]: retry now, retry
//! after a delay the server asked for, or give up. The schedule is bounded in
//! attempts and in time; a wait never runs past the caller's deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::{Metrics, Upstream};

/// The bounded backoff schedule: `attempts` tries in all, waits doubling from `base`
/// up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(500),
            max: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1` (attempt counts from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// How one failed try should be treated.
pub enum Failure<E> {
    /// Worth another try after the usual backoff (5xx, timeout, reset).
    Retry(E),
    /// Worth another try after the wait the server asked for (429 `Retry-After`).
    RetryAfter(E, Option<Duration>),
    /// Final: another try would fail the same way.
    Fatal(E),
}

/// Runs `attempt` until it succeeds, fails for good, the policy is spent, or the
/// next wait would end after `deadline`. Returns the last error.
pub async fn with_retry<T, E, F, Fut>(policy: RetryPolicy, deadline: Option<Instant>, mut attempt: F) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let mut number = 1;
    loop {
        let (error, asked) = match attempt(number).await {
            Ok(value) => return Ok(value),
            Err(Failure::Fatal(error)) => return Err(error),
            Err(Failure::Retry(error)) => (error, None),
            Err(Failure::RetryAfter(error, asked)) => (error, asked),
        };
        if number >= policy.attempts {
            return Err(error);
        }
        // A server's Retry-After is honoured but capped, so a hostile value cannot park us.
        let wait = asked.map_or_else(|| policy.backoff(number), |a| a.min(policy.max.max(policy.base)));
        if deadline.is_some_and(|d| Instant::now() + wait >= d) {
            return Err(error);
        }
        tokio::time::sleep(wait).await;
        number += 1;
    }
}

/// Reads `Retry-After` as seconds (the form APIs use for 429).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Percent-encodes a path segment or query value: everything but RFC 3986's unreserved set.
pub fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends one request, counting it by status (or `timeout` / `error`) and timing it for `/metrics`.
pub async fn send_counted(
    metrics: &Metrics,
    upstream: Upstream,
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let started = std::time::Instant::now();
    let result = request.send().await;
    let status = match &result {
        Ok(response) => response.status().as_u16().to_string(),
        Err(error) if error.is_timeout() => "timeout".to_string(),
        Err(_) => "error".to_string(),
    };
    metrics.upstream_request(upstream, &status, started.elapsed());
    result
}

/// Limits on upstream calls. The timeouts are fixed by the contract; tests shorten them.
#[derive(Debug, Clone)]
pub struct UpstreamLimits {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl UpstreamLimits {
    /// The contract's timeouts (5 s to connect, 10 s a request) and the default retries.
    pub fn of_the_contract() -> UpstreamLimits {
        UpstreamLimits {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// The one HTTP client, with the contract's connect and request timeouts.
pub fn http_client(limits: &UpstreamLimits) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.request_timeout)
        .user_agent(concat!("tripleseat-revel-connector/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("invariant: a client with only timeouts and a user agent always builds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(1),
            max: Duration::from_millis(4),
        }
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("Triple Seat 61234567"), "Triple%20Seat%2061234567");
        assert_eq!(encode_component("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(encode_component("61234567"), "61234567");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(500),
            max: Duration::from_secs(3),
        };
        let waits: Vec<_> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 3000, 3000]);
    }

    #[tokio::test]
    async fn retries_until_success_within_the_attempt_budget() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, &str> = with_retry(quick(), None, |n| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(Failure::Retry("busy"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt_and_on_fatal_errors() {
        let calls = AtomicU32::new(0);
        let spent: Result<(), &str> = with_retry(quick(), None, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Failure::RetryAfter("429", Some(Duration::from_millis(1)))) }
        })
        .await;
        assert_eq!(spent, Err("429"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let fatal: Result<(), &str> = with_retry(quick(), None, |_| async { Err(Failure::Fatal("401")) }).await;
        assert_eq!(fatal, Err("401"));
    }

    #[tokio::test]
    async fn never_waits_past_the_deadline() {
        let policy = RetryPolicy {
            attempts: 10,
            base: Duration::from_secs(60),
            max: Duration::from_secs(60),
        };
        let started = Instant::now();
        let result: Result<(), &str> =
            with_retry(policy, Some(Instant::now() + Duration::from_millis(50)), |_| async {
                Err(Failure::Retry("down"))
            })
            .await;
        assert_eq!(result, Err("down"));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
