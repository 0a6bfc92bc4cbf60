//! The web adapter: the spec's endpoint table. It decides nothing about business
//! outcomes; every webhook answer is rendered by `contract`.

pub mod access;
pub mod contract;
pub mod correlation;
pub mod health;
pub mod metrics;
pub mod revel_probe;
pub mod server;
pub mod state;
pub mod webhook;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::http::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/", get(health::root))
        .route("/health", get(health::health))
        .route("/webhook", post(webhook::signed))
        .route("/webhooks/tripleseat", post(webhook::signed))
        .route("/metrics", get(metrics::metrics))
        .route(
            crate::tripleseat::auth::CALLBACK_PATH,
            get(crate::admin::tripleseat_connect::callback),
        );
    if state.services.config.test_endpoints {
        let mut test = Router::new()
            .route("/test/webhook", post(webhook::test))
            .route("/test/revel", get(revel_probe::probe));
        // With an admin token configured, the test doors need it too.
        if state.admin.is_some() {
            test = test.layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                crate::admin::require_token,
            ));
        }
        router = router.merge(test);
    }
    if state.admin.is_some() {
        router = router.merge(crate::admin::router(Arc::clone(&state)));
    }
    router.with_state(state)
}
