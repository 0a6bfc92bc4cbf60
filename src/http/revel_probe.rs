//! `GET /test/revel`: one real read-only call to Revel's establishment list. It
//! honours the kill switch and never passes on what Revel's body said: the answer is
//! the status and a count, or the status and a fixed description of the failure.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::http::state::AppState;
use crate::revel::client::RevelError;

pub async fn probe(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let revel = &state.services.revel;
    if state.test_budget.check().is_err() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"status": null, "error": "the test endpoints' rate limit was reached (RATE_LIMITED)"})),
        );
    }
    if !state.services.switches.is_enabled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": null, "error": "the connector is switched off (CONNECTOR_DISABLED): nothing is read"}),
            ),
        );
    }
    if !revel.is_configured() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": null, "error": RevelError::NotConfigured.to_string()})),
        );
    }
    match revel.get("/enterprise/Establishment/?limit=100", None).await {
        Ok(page) => {
            let count = page
                .get("meta")
                .and_then(|m| m.get("total_count"))
                .and_then(Value::as_u64)
                .or_else(|| page.get("objects").and_then(Value::as_array).map(|o| o.len() as u64));
            (StatusCode::OK, Json(json!({"status": 200, "count": count})))
        }
        Err(error) => {
            let upstream = match &error {
                RevelError::Denied(status) | RevelError::Status(status) => Some(*status),
                RevelError::Rejected { status, .. } => Some(*status),
                RevelError::RateLimited { .. } => Some(429),
                _ => None,
            };
            tracing::warn!(%error, "Revel probe failed");
            let said = match &error {
                // Its detail is Revel's own body: logged above, never answered.
                RevelError::Rejected { status, .. } => format!("Revel rejected the request (HTTP {status})"),
                other => other.to_string(),
            };
            (
                StatusCode::BAD_GATEWAY,
                Json(json!({"status": upstream, "error": said})),
            )
        }
    }
}
