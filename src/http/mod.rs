//! The web adapter: the spec's endpoint table. It decides nothing about business
//! outcomes; every webhook answer is rendered by `contract`.

pub mod contract;
pub mod correlation;
pub mod health;
pub mod metrics;
pub mod revel_probe;
pub mod webhook;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::startup::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/", get(health::root))
        .route("/health", get(health::health))
        .route("/webhook", post(webhook::signed))
        .route("/webhooks/tripleseat", post(webhook::signed))
        .route("/metrics", get(metrics::metrics));
    if state.services.config.test_endpoints {
        router = router
            .route("/test/webhook", post(webhook::test))
            .route("/test/revel", get(revel_probe::probe));
    }
    if state.admin.is_some() {
        router = router.merge(crate::admin::router(Arc::clone(&state)));
    }
    router.with_state(state)
}
