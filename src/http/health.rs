//! `GET /health` (liveness and a secret-free summary) and `GET|HEAD /`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::http::state::AppState;

pub async fn root() -> Json<Value> {
    Json(json!({"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}))
}

pub async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    let config = &state.services.config;
    // Liveness stays "ok" while the store is down: a restart would not bring it back.
    let store = if state.services.store.ping().await {
        "ok"
    } else {
        "unavailable"
    };
    let now = (state.services.clock)().with_timezone(&config.timezone);
    let allowed = config.allowed_locations_view();
    Json(json!({
        "status": "ok",
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        "version": env!("CARGO_PKG_VERSION"),
        "env": config.env,
        "dry_run": state.services.switches.is_dry_run(),
        "enable_connector": state.services.switches.is_enabled(),
        "allowed_locations": allowed,
        "locations": config.locations.len(),
        "signing_key_configured": config.webhook.signing_key.is_some(),
        "store": store,
        "signature_scheme": config.webhook.signature_scheme.as_str(),
        "tripleseat_reads": state.services.tripleseat.auth().view().await,
    }))
}
