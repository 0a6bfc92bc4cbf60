//! `GET /health` (liveness and a secret-free summary) and `GET|HEAD /`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::AllowedLocationsView;
use crate::http::state::AppState;
use crate::tripleseat::auth::ReadsView;

pub async fn root() -> Json<Value> {
    Json(json!({"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}))
}

/// The answer, in the contract's order (SPEC 2), then what later sections added.
#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    time: String,
    version: &'static str,
    env: &'a str,
    dry_run: bool,
    enable_connector: bool,
    allowed_locations: AllowedLocationsView<'a>,
    locations: usize,
    signing_key_configured: bool,
    store: &'static str,
    signature_scheme: &'static str,
    tripleseat_reads: ReadsView,
}

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let services = &state.services;
    let config = &services.config;
    // Liveness stays "ok" while the store is down: a restart would not bring it back.
    let store = if services.store.ping().await {
        "ok"
    } else {
        "unavailable"
    };
    let now = (services.clock)().with_timezone(&config.timezone);
    Json(Health {
        status: "ok",
        time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        version: env!("CARGO_PKG_VERSION"),
        env: &config.env,
        dry_run: services.switches.is_dry_run(),
        enable_connector: services.switches.is_enabled(),
        allowed_locations: config.allowed_locations_view(),
        locations: config.locations.len(),
        signing_key_configured: config.webhook.signing_key.is_some(),
        store,
        signature_scheme: config.webhook.signature_scheme.as_str(),
        tripleseat_reads: services.tripleseat.auth().view().await,
    })
    // Written out here, while the answer's borrows of the configuration are alive.
    .into_response()
}
