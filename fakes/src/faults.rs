//! Request recording and fault injection shared by the fakes.

use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// One request as a fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

/// What a fake does instead of (or after) answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with a small JSON error body.
    Status(u16),
    /// Answer this status with this JSON body (an upstream's own error format).
    Json(u16, serde_json::Value),
    /// Answer 429 with `Retry-After` in seconds.
    RateLimited { retry_after_secs: u64 },
    /// Answer 200 with an HTML login page, as TripleSeat does on bad credentials.
    HtmlLogin,
    /// Wait this long before answering normally (the client times out first).
    Hang(Duration),
    /// Handle the request (a write is stored), then wait this long before answering.
    StoreThenHang(Duration),
}

#[derive(Debug)]
struct Rule {
    method: Option<String>,
    path_prefix: String,
    fault: Fault,
    /// Matching requests let through before the fault starts.
    skip: usize,
    remaining: usize,
}

/// The recorder and the fault plan of one fake.
#[derive(Debug, Default)]
pub struct Plan {
    requests: Mutex<Vec<Recorded>>,
    rules: Mutex<Vec<Rule>>,
}

impl Plan {
    /// The next `times` requests with this method (any, if `None`) whose path starts
    /// with `path_prefix` get `fault`.
    pub fn fail(&self, method: Option<&str>, path_prefix: &str, fault: Fault, times: usize) {
        self.fail_after(method, path_prefix, 0, fault, times);
    }

    /// Like `fail`, after letting the first `skip` matching requests through.
    pub fn fail_after(&self, method: Option<&str>, path_prefix: &str, skip: usize, fault: Fault, times: usize) {
        self.rules.lock().unwrap().push(Rule {
            method: method.map(str::to_ascii_uppercase),
            path_prefix: path_prefix.to_string(),
            fault,
            skip,
            remaining: times,
        });
    }

    /// Forgets every fault still planned.
    pub fn heal(&self) {
        self.rules.lock().unwrap().clear();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }

    fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap();
        let index = rules.iter().position(|r| {
            r.remaining > 0 && r.method.as_deref().is_none_or(|m| m == method) && path.starts_with(&r.path_prefix)
        })?;
        if rules[index].skip > 0 {
            rules[index].skip -= 1;
            return None;
        }
        rules[index].remaining -= 1;
        let fault = rules[index].fault.clone();
        if rules[index].remaining == 0 {
            rules.remove(index);
        }
        Some(fault)
    }
}

/// Middleware: record the request, then apply the first matching fault.
pub async fn record_and_inject(plan: &Plan, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    plan.requests.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    let request = Request::from_parts(parts, Body::from(bytes));
    match plan.take(&method, &path) {
        None => next.run(request).await,
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(serde_json::json!({"error": "injected fault"}))).into_response()
        }
        Some(Fault::Json(code, body)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(body)).into_response()
        }
        Some(Fault::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            "{\"error\": \"too many requests\"}",
        )
            .into_response(),
        Some(Fault::HtmlLogin) => (
            StatusCode::OK,
            [("content-type", "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><body><form action=\"/login\">Sign in</form></body></html>",
        )
            .into_response(),
        Some(Fault::Hang(wait)) => {
            tokio::time::sleep(wait).await;
            next.run(request).await
        }
        Some(Fault::StoreThenHang(wait)) => {
            let response = next.run(request).await;
            tokio::time::sleep(wait).await;
            response
        }
    }
}
