//! Operating the connector without a redeploy (SPEC 18): the admin API under
//! `/admin/api`, the operator console at `/admin`, and the gate in front of them.
//! Without `ADMIN_TOKEN` none of it is mounted, so every `/admin` path is a 404.

pub mod api;
mod console;
pub mod tripleseat_connect;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::http::access::{bearer, client_address, json_error};
use crate::http::state::AppState;

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
    if gate.is_over_failure_limit(client) {
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
