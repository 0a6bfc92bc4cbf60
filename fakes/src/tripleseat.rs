//! A simulated TripleSeat: events by id (with financials), date search in pages,
//! OAuth 2.0 (authorization code with rotating refresh tokens, and client
//! credentials), and the public API key. Like the real search, it does not drop LOST
//! or other statuses by itself.
//!
//! By default it accepts every way of reading, so tests of other stages need no
//! consent. `behave_as_public_evidence_says()` turns on what public sources report of
//! the real one: the public key refused on events and search (403), client-credentials
//! tokens refused there ("Token resource owner not found"). Always, as the real
//! OAuth 2.0 server (Doorkeeper) does: an authorization code is good once and for a
//! short time, a refresh rotates the refresh token (the old one is then refused) and
//! revokes the access token it replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Which grant an access token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Client,
    Code,
}

#[derive(Default)]
struct OAuth {
    /// Unused codes: code → (redirect_uri, issued).
    codes: BTreeMap<String, (String, Instant)>,
    /// The refresh tokens still good.
    refresh_tokens: BTreeSet<String>,
    /// Refresh tokens already used once: presenting one again is the failure to avoid.
    spent_refresh_uses: usize,
    issued: usize,
}

#[derive(Default)]
struct State_ {
    events: Mutex<BTreeMap<String, Value>>,
    tokens: Mutex<BTreeMap<String, Grant>>,
    oauth: Mutex<OAuth>,
    /// How long codes and access tokens live.
    code_lifetime: Mutex<Duration>,
    access_lifetime_secs: Mutex<u64>,
    /// Public evidence: the public key cannot read events or search.
    refuses_public_key: Mutex<bool>,
    /// Public evidence: client-credentials tokens cannot either (no resource owner).
    refuses_client_tokens: Mutex<bool>,
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
            code_lifetime: Mutex::new(Duration::from_secs(600)),
            access_lifetime_secs: Mutex::new(7200),
            ..State_::default()
        });
        let router = Router::new()
            .route("/oauth2/authorize", get(authorize))
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

    /// Invalidates every access token issued so far, as a rotation on TripleSeat's side would.
    pub fn revoke_tokens(&self) {
        self.state.tokens.lock().unwrap().clear();
    }

    pub fn token_requests(&self) -> usize {
        self.state.plan.count("POST", "/oauth2/token")
    }

    /// The public key and client-credentials tokens are refused on events and search.
    pub fn behave_as_public_evidence_says(&self) {
        self.refuse_public_key();
        self.refuse_client_credentials();
    }

    /// The public key is refused on events and search (403, "permission").
    pub fn refuse_public_key(&self) {
        *self.state.refuses_public_key.lock().unwrap() = true;
    }

    /// Client-credentials tokens are refused there (401, "Token resource owner not found").
    pub fn refuse_client_credentials(&self) {
        *self.state.refuses_client_tokens.lock().unwrap() = true;
    }

    /// An administrator removed the app's access: every token and refresh token of the
    /// authorization-code grant stops working.
    pub fn revoke_consent(&self) {
        self.state
            .tokens
            .lock()
            .unwrap()
            .retain(|_, grant| *grant != Grant::Code);
        self.state.oauth.lock().unwrap().refresh_tokens.clear();
    }

    /// Codes issued from now on expire after `lifetime` (default 10 minutes).
    pub fn set_code_lifetime(&self, lifetime: Duration) {
        *self.state.code_lifetime.lock().unwrap() = lifetime;
    }

    /// The `expires_in` of access tokens issued from now on (default 7200).
    pub fn set_access_lifetime_secs(&self, secs: u64) {
        *self.state.access_lifetime_secs.lock().unwrap() = secs;
    }

    /// Requests with `grant_type=refresh_token`.
    pub fn refreshes(&self) -> usize {
        self.state
            .plan
            .requests()
            .iter()
            .filter(|r| r.path == "/oauth2/token" && r.body.contains("grant_type=refresh_token"))
            .count()
    }

    /// Times a refresh token was presented after it had been used (and rotated away).
    pub fn spent_refresh_uses(&self) -> usize {
        self.state.oauth.lock().unwrap().spent_refresh_uses
    }

    /// Refresh tokens still good: one, after any number of rotations.
    pub fn valid_refresh_tokens(&self) -> usize {
        self.state.oauth.lock().unwrap().refresh_tokens.len()
    }
}

async fn middleware(State(state): State<Arc<State_>>, request: Request, next: Next) -> Response {
    record_and_inject(&state.plan, request, next).await
}

/// Why a read is refused, as the real one answers it; `None` when it is allowed.
fn refusal(state: &State_, headers: &HeaderMap) -> Option<Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let unauthorized = || (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized"}))).into_response();
    if header("x-api-key") == PUBLIC_API_KEY {
        return (*state.refuses_public_key.lock().unwrap()).then(|| {
            (
                StatusCode::FORBIDDEN,
                Json(json!({"errors": "You do not have permission to access this resource"})),
            )
                .into_response()
        });
    }
    let Some(token) = header("authorization").strip_prefix("Bearer ") else {
        return Some(unauthorized());
    };
    match state.tokens.lock().unwrap().get(token) {
        Some(Grant::Code) => None,
        Some(Grant::Client) if !*state.refuses_client_tokens.lock().unwrap() => None,
        Some(Grant::Client) => Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "Token resource owner not found"})),
            )
                .into_response(),
        ),
        None => Some(unauthorized()),
    }
}

/// The consent page, as if the administrator approved at once: straight back to
/// `redirect_uri` with a fresh code and the caller's state.
async fn authorize(State(state): State<Arc<State_>>, Query(query): Query<BTreeMap<String, String>>) -> Response {
    let field = |k: &str| query.get(k).cloned().unwrap_or_default();
    if field("client_id") != OAUTH_CLIENT_ID || field("response_type") != "code" || field("redirect_uri").is_empty() {
        return (StatusCode::BAD_REQUEST, "invalid authorization request").into_response();
    }
    let mut oauth = state.oauth.lock().unwrap();
    oauth.issued += 1;
    let code = format!("fake-code-{}", oauth.issued);
    oauth
        .codes
        .insert(code.clone(), (field("redirect_uri"), Instant::now()));
    // Codes and our states are URL-safe as they are.
    let back = format!("{}?code={code}&state={}", field("redirect_uri"), field("state"));
    (StatusCode::FOUND, [(axum::http::header::LOCATION, back)]).into_response()
}

async fn token(State(state): State<Arc<State_>>, Form(form): Form<BTreeMap<String, String>>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let refuse = |status: StatusCode, error: &str| (status, Json(json!({"error": error}))).into_response();
    if field("client_id") != OAUTH_CLIENT_ID || field("client_secret") != OAUTH_CLIENT_SECRET {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let lifetime = *state.access_lifetime_secs.lock().unwrap();
    let mut oauth = state.oauth.lock().unwrap();
    let mut tokens = state.tokens.lock().unwrap();
    oauth.issued += 1;
    let serial = oauth.issued;
    match field("grant_type") {
        "client_credentials" => {
            let token = format!("fake-token-{serial}");
            tokens.insert(token.clone(), Grant::Client);
            Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": "events:read", "created_at": 0}))
                .into_response()
        }
        "authorization_code" => {
            let code_lifetime = *state.code_lifetime.lock().unwrap();
            match oauth.codes.remove(field("code")) {
                Some((redirect_uri, issued))
                    if redirect_uri == field("redirect_uri") && issued.elapsed() < code_lifetime =>
                {
                    grant_code_tokens(&mut oauth, &mut tokens, serial, lifetime)
                }
                _ => refuse(StatusCode::BAD_REQUEST, "invalid_grant"),
            }
        }
        "refresh_token" => {
            let presented = field("refresh_token");
            if !oauth.refresh_tokens.remove(presented) {
                if presented.starts_with("fake-refresh-") {
                    oauth.spent_refresh_uses += 1;
                }
                return refuse(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            // The access tokens of this grant are revoked with the rotation.
            tokens.retain(|_, grant| *grant != Grant::Code);
            grant_code_tokens(&mut oauth, &mut tokens, serial, lifetime)
        }
        _ => refuse(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

/// A new access token and refresh token of the authorization-code grant.
fn grant_code_tokens(
    oauth: &mut OAuth,
    tokens: &mut BTreeMap<String, Grant>,
    serial: usize,
    lifetime: u64,
) -> Response {
    let (access, refresh) = (format!("fake-code-token-{serial}"), format!("fake-refresh-{serial}"));
    tokens.insert(access.clone(), Grant::Code);
    oauth.refresh_tokens.insert(refresh.clone());
    Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "refresh_token": refresh, "scope": "events:read", "created_at": 0}))
        .into_response()
}

async fn event(
    State(state): State<Arc<State_>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
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
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
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
