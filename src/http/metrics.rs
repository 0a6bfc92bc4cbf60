//! `GET /metrics`: the Prometheus text exposition; with `METRICS_TOKEN` set it needs
//! `Authorization: Bearer <METRICS_TOKEN>`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::access::{bearer, json_error, same_secret};
use crate::http::state::AppState;

pub async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let services = &state.services;
    if let Some(token) = &services.config.metrics_token {
        if !bearer(&headers).is_some_and(|presented| same_secret(token, presented)) {
            tracing::warn!("Metrics: request without a valid token");
            return json_error(
                StatusCode::UNAUTHORIZED,
                "a valid metrics token is required (Authorization: Bearer …)",
            );
        }
    }
    let outbox = services.store.outbox_counts().await.ok();
    let text = services
        .metrics
        .render(services.switches.is_enabled(), services.switches.is_dry_run(), outbox);
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}
