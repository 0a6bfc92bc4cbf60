//! A simulated SendGrid Mail Send endpoint that keeps every message it accepts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::faults::{record_and_inject, Plan};

pub const API_KEY: &str = "SG.test-sendgrid-key";

#[derive(Default)]
struct State_ {
    messages: Mutex<Vec<Value>>,
    plan: Plan,
}

#[derive(Clone)]
pub struct FakeSendgrid {
    pub address: SocketAddr,
    state: Arc<State_>,
}

impl FakeSendgrid {
    pub async fn start() -> FakeSendgrid {
        let state = Arc::new(State_::default());
        let router = Router::new()
            .route("/v3/mail/send", post(send))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), middleware))
            .with_state(Arc::clone(&state));
        let address = crate::serve(router).await;
        FakeSendgrid { address, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every message accepted (answered 202), in order.
    pub fn messages(&self) -> Vec<Value> {
        self.state.messages.lock().unwrap().clone()
    }

    pub fn plan(&self) -> &Plan {
        &self.state.plan
    }
}

async fn middleware(State(state): State<Arc<State_>>, request: Request, next: Next) -> Response {
    record_and_inject(&state.plan, request, next).await
}

async fn send(State(state): State<Arc<State_>>, headers: HeaderMap, Json(message): Json<Value>) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {API_KEY}"));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errors": [{"message": "authorization required", "field": null}]})),
        )
            .into_response();
    }
    let content = message["content"].as_array().cloned().unwrap_or_default();
    let types: Vec<&str> = content.iter().filter_map(|c| c["type"].as_str()).collect();
    if message["personalizations"][0]["to"]
        .as_array()
        .is_none_or(Vec::is_empty)
        || types.first() != Some(&"text/plain")
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"message": "invalid message", "field": null}]})),
        )
            .into_response();
    }
    state.messages.lock().unwrap().push(message);
    (StatusCode::ACCEPTED, [("x-message-id", "fake-message")]).into_response()
}
