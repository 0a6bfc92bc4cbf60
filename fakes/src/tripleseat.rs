//! A simulated TripleSeat: events by id (with financials), date search in pages,
//! OAuth 2.0 client credentials, and the public API key. Like the real search, it
//! does not drop LOST or other statuses by itself.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{json, Value};

use crate::faults::{record_and_inject, Plan};

pub const PUBLIC_API_KEY: &str = "test-public-key";
pub const OAUTH_CLIENT_ID: &str = "test-client";
pub const OAUTH_CLIENT_SECRET: &str = "test-client-secret";

#[derive(Default)]
struct State_ {
    events: Mutex<BTreeMap<String, Value>>,
    tokens: Mutex<BTreeSet<String>>,
    page_size: Mutex<usize>,
    /// The search's `site_id` filter is not documented: when set, it is ignored.
    ignores_site_filter: Mutex<bool>,
    plan: Plan,
}

#[derive(Clone)]
pub struct FakeTripleseat {
    pub address: SocketAddr,
    state: Arc<State_>,
}

impl FakeTripleseat {
    pub async fn start() -> FakeTripleseat {
        let state = Arc::new(State_ {
            page_size: Mutex::new(50),
            ignores_site_filter: Mutex::new(false),
            ..State_::default()
        });
        let router = Router::new()
            .route("/oauth2/token", post(token))
            .route("/v1/events/search.json", get(search))
            .route("/v1/events/{file}", get(event))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), middleware))
            .with_state(Arc::clone(&state));
        let address = crate::serve(router).await;
        FakeTripleseat { address, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stores (or replaces) an event object, keyed by its `id`.
    pub fn put_event(&self, event: Value) {
        let id = match &event["id"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => panic!("an event needs an id, got {other}"),
        };
        self.state.events.lock().unwrap().insert(id, event);
    }

    /// Makes the search return every site's events whatever `site_id` it is given.
    pub fn ignore_site_filter(&self) {
        *self.state.ignores_site_filter.lock().unwrap() = true;
    }

    pub fn set_page_size(&self, size: usize) {
        *self.state.page_size.lock().unwrap() = size.max(1);
    }

    pub fn plan(&self) -> &Plan {
        &self.state.plan
    }

    /// Requests for one event (`/v1/events/<id>.json`).
    pub fn event_reads(&self, id: &str) -> usize {
        self.state.plan.count("GET", &format!("/v1/events/{id}"))
    }

    pub fn searches(&self) -> Vec<crate::Recorded> {
        self.state
            .plan
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/events/search.json")
            .collect()
    }

    /// Invalidates every token issued so far, as a rotation on TripleSeat's side would.
    pub fn revoke_tokens(&self) {
        self.state.tokens.lock().unwrap().clear();
    }

    pub fn token_requests(&self) -> usize {
        self.state.plan.count("POST", "/oauth2/token")
    }
}

async fn middleware(State(state): State<Arc<State_>>, request: Request, next: Next) -> Response {
    record_and_inject(&state.plan, request, next).await
}

fn is_authorized(state: &State_, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("x-api-key") == PUBLIC_API_KEY {
        return true;
    }
    header("authorization")
        .strip_prefix("Bearer ")
        .is_some_and(|token| state.tokens.lock().unwrap().contains(token))
}

async fn token(State(state): State<Arc<State_>>, Form(form): Form<BTreeMap<String, String>>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials"
        || field("client_id") != OAUTH_CLIENT_ID
        || field("client_secret") != OAUTH_CLIENT_SECRET
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    let mut tokens = state.tokens.lock().unwrap();
    let token = format!("fake-token-{}", tokens.len() + 1);
    tokens.insert(token.clone());
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 7200, "scope": "events:read", "created_at": 0}))
        .into_response()
}

async fn event(
    State(state): State<Arc<State_>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if !is_authorized(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized"}))).into_response();
    }
    let id = file.trim_end_matches(".json");
    let Some(mut event) = state.events.lock().unwrap().get(id).cloned() else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response();
    };
    if query.get("show_financial").map(String::as_str) != Some("true") {
        strip_financials(&mut event);
    }
    Json(json!({"event": event})).into_response()
}

async fn search(
    State(state): State<Arc<State_>>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if !is_authorized(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized"}))).into_response();
    }
    let (Some(start), Some(end)) = (query.get("event_start_date"), query.get("event_end_date")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "event_start_date and event_end_date are required together"})),
        )
            .into_response();
    };
    let site = query
        .get("site_id")
        .cloned()
        .filter(|_| !*state.ignores_site_filter.lock().unwrap());
    let matching: Vec<Value> = state
        .events
        .lock()
        .unwrap()
        .values()
        .filter(|e| {
            let date = e["event_date"].as_str().unwrap_or("");
            let on_site = site.as_ref().is_none_or(|s| id_of(&e["site_id"]) == *s);
            on_site && mdy_key(date) >= mdy_key(start) && mdy_key(date) <= mdy_key(end)
        })
        .cloned()
        .map(|mut e| {
            if query.get("show_financial").map(String::as_str) != Some("true") {
                strip_financials(&mut e);
            }
            e
        })
        .collect();
    let size = *state.page_size.lock().unwrap();
    let total_pages = matching.len().div_ceil(size);
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let results: Vec<Value> = matching.into_iter().skip((page - 1) * size).take(size).collect();
    Json(json!({"total_pages": total_pages, "results": results})).into_response()
}

fn strip_financials(event: &mut Value) {
    if let Some(documents) = event.get_mut("documents").and_then(Value::as_array_mut) {
        for document in documents {
            if let Some(document) = document.as_object_mut() {
                for key in [
                    "line_items",
                    "billing_totals",
                    "category_totals",
                    "financials",
                    "payment_set",
                ] {
                    document.remove(key);
                }
            }
        }
    }
}

fn id_of(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// `MM/DD/YYYY` as a sortable `YYYYMMDD`.
fn mdy_key(date: &str) -> String {
    let parts: Vec<&str> = date.split('/').collect();
    match parts.as_slice() {
        [m, d, y] => format!("{y}{m:0>2}{d:0>2}"),
        _ => String::new(),
    }
}
