//! A simulated Revel that keeps state like the real one: establishments, products,
//! orders and their children (OrderItem, Payment, OrderHistory), Tastypie lists of at
//! most 20 objects a page with `meta.next`, filters on fields (foreign keys by plain
//! id), PATCH on orders, and `API-AUTHENTICATION` checked on every call.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::faults::{record_and_inject, Plan};

pub const API_KEY: &str = "test-revel-key";
pub const API_SECRET: &str = "test-revel-secret";
/// The most objects a page holds, whatever `limit` asks.
const PAGE_CAP: usize = 20;
const WRITABLE: &[&str] = &["Order", "OrderItem", "Payment", "OrderHistory"];

#[derive(Default)]
struct Store {
    next_id: u64,
    /// Resource name → id → object.
    objects: BTreeMap<String, BTreeMap<u64, Value>>,
}

#[derive(Default)]
struct State_ {
    store: Mutex<Store>,
    plan: Plan,
}

#[derive(Clone)]
pub struct FakeRevel {
    pub address: SocketAddr,
    state: Arc<State_>,
}

impl FakeRevel {
    pub async fn start() -> FakeRevel {
        let state = Arc::new(State_::default());
        let router = Router::new()
            .route("/enterprise/Establishment/", get(establishments))
            .route("/resources/{resource}/", get(list).post(create))
            .route("/resources/{resource}/{id}/", get(read).patch(update))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), middleware))
            .with_state(Arc::clone(&state));
        let address = crate::serve(router).await;
        FakeRevel { address, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn plan(&self) -> &Plan {
        &self.state.plan
    }

    pub fn add_establishment(&self, id: u64, name: &str) {
        self.insert(
            "Establishment",
            id,
            json!({"id": id, "name": name, "resource_uri": format!("/enterprise/Establishment/{id}/")}),
        );
    }

    /// Adds an active product to an establishment's catalogue; returns its id.
    pub fn add_product(&self, establishment: u64, name: &str, price: &str) -> u64 {
        let mut store = self.state.store.lock().unwrap();
        store.next_id += 1;
        let id = 1000 + store.next_id;
        let product = json!({
            "id": id, "name": name, "price": price.parse::<f64>().unwrap_or(0.0), "active": true,
            "establishment": format!("/enterprise/Establishment/{establishment}/"),
            "resource_uri": format!("/resources/Product/{id}/"),
        });
        store.objects.entry("Product".into()).or_default().insert(id, product);
        id
    }

    /// Stores an object as if someone else had written it (e.g. the earlier connector).
    pub fn insert(&self, resource: &str, id: u64, object: Value) {
        let mut store = self.state.store.lock().unwrap();
        store.next_id = store.next_id.max(id);
        store.objects.entry(resource.into()).or_default().insert(id, object);
    }

    pub fn objects(&self, resource: &str) -> Vec<Value> {
        self.state
            .store
            .lock()
            .unwrap()
            .objects
            .get(resource)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn orders(&self) -> Vec<Value> {
        self.objects("Order")
    }

    /// The children of one order in a resource (`OrderItem`, `Payment`, `OrderHistory`).
    pub fn children(&self, resource: &str, order_id: &Value) -> Vec<Value> {
        let uri = format!("/resources/Order/{order_id}/");
        self.objects(resource)
            .into_iter()
            .filter(|c| c["order"] == json!(uri))
            .collect()
    }

    /// POST and PATCH calls received, faults included.
    pub fn write_calls(&self) -> usize {
        self.state
            .plan
            .requests()
            .iter()
            .filter(|r| r.method == "POST" || r.method == "PATCH")
            .count()
    }

    pub fn catalogue_reads(&self) -> usize {
        self.state
            .plan
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/resources/Product/" && !r.query.contains("offset="))
            .count()
    }
}

async fn middleware(State(state): State<Arc<State_>>, request: Request, next: Next) -> Response {
    let authorized = request
        .headers()
        .get("api-authentication")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("{API_KEY}:{API_SECRET}"));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Authentication required"})),
        )
            .into_response();
    }
    record_and_inject(&state.plan, request, next).await
}

async fn establishments(State(state): State<Arc<State_>>, Query(query): Query<BTreeMap<String, String>>) -> Response {
    page_of(&state, "Establishment", "/enterprise/Establishment/", &query)
}

async fn list(
    State(state): State<Arc<State_>>,
    Path(resource): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    page_of(&state, &resource, &format!("/resources/{resource}/"), &query)
}

fn page_of(state: &State_, resource: &str, path: &str, query: &BTreeMap<String, String>) -> Response {
    let store = state.store.lock().unwrap();
    let matching: Vec<Value> = store
        .objects
        .get(resource)
        .map(|m| m.values().filter(|o| matches_filters(o, query)).cloned().collect())
        .unwrap_or_default();
    let limit = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l: &usize| *l > 0)
        .unwrap_or(PAGE_CAP)
        .min(PAGE_CAP);
    let offset: usize = query.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let total = matching.len();
    let objects: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    let next = (offset + limit < total).then(|| {
        let mut next_query = query.clone();
        next_query.insert("limit".into(), limit.to_string());
        next_query.insert("offset".into(), (offset + limit).to_string());
        let encoded: Vec<String> = next_query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        format!("{path}?{}", encoded.join("&"))
    });
    let previous = (offset > 0).then(|| format!("{path}?limit={limit}&offset={}", offset.saturating_sub(limit)));
    Json(json!({
        "meta": {"limit": limit, "offset": offset, "total_count": total, "next": next, "previous": previous},
        "objects": objects,
    }))
    .into_response()
}

/// Exact matches on fields; a foreign key (a URI) matches its plain id.
fn matches_filters(object: &Value, query: &BTreeMap<String, String>) -> bool {
    query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "limit" | "offset" | "format" | "order_by" | "fields"))
        .all(|(field, wanted)| match object.get(field) {
            Some(Value::String(s)) => {
                s == wanted || s.trim_end_matches('/').rsplit('/').next() == Some(wanted.as_str())
            }
            Some(Value::Bool(b)) => b.to_string() == *wanted,
            Some(Value::Number(n)) => n.to_string() == *wanted,
            _ => false,
        })
}

async fn read(State(state): State<Arc<State_>>, Path((resource, id)): Path<(String, u64)>) -> Response {
    match state
        .store
        .lock()
        .unwrap()
        .objects
        .get(&resource)
        .and_then(|m| m.get(&id))
    {
        Some(object) => Json(object.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

async fn create(
    State(state): State<Arc<State_>>,
    Path(resource): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let _ = headers;
    if !WRITABLE.contains(&resource.as_str()) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(json!({"error": "read-only resource"})),
        )
            .into_response();
    }
    let Value::Object(mut object) = body else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "a JSON object is required"})),
        )
            .into_response();
    };
    if object.contains_key("id") || object.contains_key("resource_uri") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "id and resource_uri are assigned by Revel"})),
        )
            .into_response();
    }
    let mut store = state.store.lock().unwrap();
    store.next_id += 1;
    let id = store.next_id;
    object.insert("id".into(), json!(id));
    object.insert("resource_uri".into(), json!(format!("/resources/{resource}/{id}/")));
    match resource.as_str() {
        "Order" => {
            object.insert("orderhistory".into(), json!([]));
            object.insert("has_history".into(), json!(false));
            object.insert("closed".into(), json!(false));
            object.insert("printed".into(), json!(false));
        }
        "OrderHistory" => {
            let order_id = parent_id(&object);
            if let Some(order) = order_id.and_then(|oid| store.objects.get_mut("Order")?.get_mut(&oid)) {
                if let Some(history) = order["orderhistory"].as_array_mut() {
                    history.push(json!(format!("/resources/OrderHistory/{id}/")));
                }
                order["has_history"] = json!(true);
            }
        }
        _ => {}
    }
    if resource != "Order"
        && parent_id(&object).is_none_or(|oid| !store.objects.get("Order").is_some_and(|o| o.contains_key(&oid)))
    {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "order does not exist"}))).into_response();
    }
    let object = Value::Object(object);
    store.objects.entry(resource).or_default().insert(id, object.clone());
    (StatusCode::CREATED, Json(object)).into_response()
}

async fn update(
    State(state): State<Arc<State_>>,
    Path((resource, id)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let mut store = state.store.lock().unwrap();
    let Some(object) = store.objects.get_mut(&resource).and_then(|m| m.get_mut(&id)) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response();
    };
    let (Value::Object(target), Value::Object(changes)) = (object, body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "a JSON object is required"})),
        )
            .into_response();
    };
    let changes: Map<String, Value> = changes;
    for (key, value) in changes {
        if key != "id" && key != "resource_uri" {
            target.insert(key, value);
        }
    }
    Json(Value::Object(target.clone())).into_response()
}

fn parent_id(object: &Map<String, Value>) -> Option<u64> {
    object
        .get("order")?
        .as_str()?
        .trim_end_matches('/')
        .rsplit('/')
        .next()?
        .parse()
        .ok()
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
