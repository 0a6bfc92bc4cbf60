//! The admin API's handlers (SPEC 18). Every change is written to the audit trail with
//! the client's address; nothing here ever answers with a secret.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;
use tracing::Instrument;

use crate::http::access::{client_address, json_error};
use crate::http::state::AppState;
use crate::http::{contract, correlation};
use crate::pipeline::outcome::Outcome;
use crate::pipeline::{process_replay, Progress, Services};
use crate::store::journal::{JournalEntry, JournalQuery};
use crate::store::switches::AuditEntry;
use crate::store::StoreError;
use crate::switches::{DRY_RUN, ENABLE_CONNECTOR};
use crate::tripleseat::id_string;

/// How long `today` may spend searching TripleSeat, all sites together.
const TODAY_BOUND: Duration = Duration::from_secs(20);
/// Search pages per site for `today` (50 events a page).
const TODAY_PAGES: u32 = 10;

type Answer = Result<Json<Value>, Response>;

fn unavailable(error: StoreError) -> Response {
    tracing::error!(%error, "Admin: the store is unavailable");
    json_error(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable")
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Who asked, for the audit trail.
pub(super) struct Caller(String);

impl Caller {
    pub(super) fn of(headers: &HeaderMap, peer: SocketAddr) -> Caller {
        Caller(client_address(headers, peer).to_string())
    }
}

pub(super) async fn audit(state: &AppState, caller: &Caller, action: &str, detail: String, note: Option<String>) {
    let entry = AuditEntry {
        at_ms: 0,
        action: action.into(),
        detail,
        source_addr: Some(caller.0.clone()),
        note,
    };
    tracing::info!(action, detail = %entry.detail, client = %caller.0, "Admin: {action}");
    if let Err(error) = state.services.store.add_audit(&entry).await {
        tracing::error!(%error, action, "Admin: the audit row was not written");
    }
}

/// `GET /admin/api/status`.
pub async fn status(State(state): State<Arc<AppState>>) -> Answer {
    let services = &state.services;
    let config = &services.config;
    let store_ok = services.store.ping().await;
    let outbox = match services.store.outbox_counts().await {
        Ok(counts) => json!({
            "pending": counts.pending,
            "failed": counts.failed,
            "failed_recent": services.store.failed_emails(20).await.unwrap_or_default().into_iter().map(|f| json!({
                "id": f.id,
                "created_at": rfc3339(f.created_at_ms),
                "subject": f.subject,
                "correlation_id": f.correlation_id,
                "attempts": f.attempts,
                "last_error": f.last_error,
            })).collect::<Vec<_>>(),
        }),
        Err(_) => Value::Null,
    };
    let last_sweep = match services.store.last_sweep_run().await {
        Ok(Some(run)) => {
            let mut value = serde_json::to_value(&run).unwrap_or(Value::Null);
            value["started_at"] = json!(rfc3339(run.started_at_ms));
            value["finished_at"] = json!(rfc3339(run.finished_at_ms));
            value
        }
        _ => Value::Null,
    };
    let allowed = config.allowed_locations_view();
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "env": config.env,
        "instance_id": services.store.instance_id(),
        "store": {"status": if store_ok { "ok" } else { "unavailable" }, "backend": services.store.description()},
        "enable_connector": services.switches.enable_connector_view(),
        "dry_run": services.switches.dry_run_view(),
        "allowed_locations": {"effective": allowed, "environment": allowed, "override": null},
        "locations": config.locations.iter().map(|l| json!({"site_id": l.site_id, "name": l.name, "timezone": l.timezone.name()})).collect::<Vec<_>>(),
        "outbox": outbox,
        "last_sweep": last_sweep,
        "tripleseat_reads": services.tripleseat.auth().view().await,
        "signature_scheme": config.webhook.signature_scheme.as_str(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchChange {
    enable_connector: Option<bool>,
    dry_run: Option<bool>,
    note: Option<String>,
}

/// `PUT /admin/api/switches`: `{"enable_connector": bool}` and/or `{"dry_run": bool}`.
pub async fn set_switches(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Answer {
    let change: SwitchChange = serde_json::from_slice(&body).map_err(|e| {
        json_error(
            StatusCode::BAD_REQUEST,
            &format!("expected {{\"enable_connector\": bool, \"dry_run\": bool, \"note\": string}}: {e}"),
        )
    })?;
    let changes: Vec<(&str, bool)> = [(ENABLE_CONNECTOR, change.enable_connector), (DRY_RUN, change.dry_run)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
    if changes.is_empty() {
        return Err(json_error(StatusCode::BAD_REQUEST, "name enable_connector or dry_run"));
    }
    let note = change.note.map(|n| n.chars().take(500).collect::<String>());
    let caller = Caller::of(&headers, peer);
    let store = &state.services.store;
    for (name, value) in changes {
        store
            .set_switch(name, value, note.as_deref())
            .await
            .map_err(unavailable)?;
        audit(&state, &caller, "set_switch", format!("{name}={value}"), note.clone()).await;
    }
    state.services.switches.refresh(store).await;
    Ok(Json(switches_answer(&state)))
}

/// `DELETE /admin/api/switches/<name>`: the environment's value again.
pub async fn clear_switch(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Answer {
    if name != ENABLE_CONNECTOR && name != DRY_RUN {
        return Err(json_error(
            StatusCode::NOT_FOUND,
            "no such switch: enable_connector or dry_run",
        ));
    }
    let store = &state.services.store;
    let removed = store.clear_switch(&name).await.map_err(unavailable)?;
    if removed {
        audit(&state, &Caller::of(&headers, peer), "clear_switch", name, None).await;
    }
    state.services.switches.refresh(store).await;
    Ok(Json(switches_answer(&state)))
}

fn switches_answer(state: &AppState) -> Value {
    json!({
        "enable_connector": state.services.switches.enable_connector_view(),
        "dry_run": state.services.switches.dry_run_view(),
    })
}

#[derive(Debug, Deserialize)]
pub struct DeliveriesQuery {
    event_id: Option<String>,
    reason: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

/// `GET /admin/api/deliveries`: journal rows, newest first.
pub async fn deliveries(State(state): State<Arc<AppState>>, Query(query): Query<DeliveriesQuery>) -> Answer {
    let limit = match query.limit.as_deref().map(str::parse::<u32>) {
        None => 50,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        Some(_) => return Err(json_error(StatusCode::BAD_REQUEST, "limit: a number from 1 to 500")),
    };
    let since_ms = match query.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    json_error(
                        StatusCode::BAD_REQUEST,
                        "since: an RFC 3339 time such as 2026-05-16T00:00:00Z",
                    )
                })?
                .timestamp_millis(),
        ),
    };
    let filter = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let rows = state
        .services
        .store
        .journal(&JournalQuery {
            event_id: filter(query.event_id),
            reason: filter(query.reason).map(|r| r.to_ascii_uppercase()),
            since_ms,
            limit,
        })
        .await
        .map_err(unavailable)?;
    Ok(Json(
        json!({"deliveries": rows.iter().map(delivery_view).collect::<Vec<_>>()}),
    ))
}

fn delivery_view(row: &JournalEntry) -> Value {
    let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
    value["at"] = json!(rfc3339(row.at_ms));
    value
}

/// What the journal says of an event, for `today`.
fn state_of(latest: Option<&JournalEntry>) -> Value {
    let Some(row) = latest else {
        return json!({"state": "not_seen"});
    };
    let state = match row.reason.as_str() {
        "REVEL_INJECTED" | "ALREADY_INJECTED" => "injected",
        "DRY_RUN" => "dry_run",
        _ if !row.ok => "failed",
        _ => "waiting",
    };
    json!({"state": state, "reason": row.reason, "revel_order_id": row.revel_order_id, "at": rfc3339(row.at_ms)})
}

/// `GET /admin/api/today`: per allowed site, today's events in TripleSeat and their state.
pub async fn today(State(state): State<Arc<AppState>>) -> Answer {
    let services = &state.services;
    let config = &services.config;
    let deadline = Instant::now() + TODAY_BOUND;
    let mut sites = Vec::new();
    for location in config
        .locations
        .iter()
        .filter(|l| config.is_location_allowed(&l.site_id))
    {
        let day = (services.clock)().with_timezone(&location.timezone).date_naive();
        let mut site = json!({
            "site_id": location.site_id,
            "name": location.name,
            "date": day.format("%Y-%m-%d").to_string(),
            "events": [],
        });
        match services.tripleseat.is_configured() {
            true => {
                let (events, error) = site_events(services, &location.site_id, day, deadline).await?;
                site["events"] = json!(events);
                if let Some(error) = error {
                    site["error"] = json!(error);
                }
            }
            false => site["error"] = json!("TripleSeat read credentials are missing"),
        }
        sites.push(site);
    }
    Ok(Json(json!({"sites": sites})))
}

/// The site's events of `day`, each with its latest journalled state, page by page
/// until the deadline; with what stopped the search early, if anything did.
async fn site_events(
    services: &Services,
    site_id: &str,
    day: chrono::NaiveDate,
    deadline: Instant,
) -> Result<(Vec<Value>, Option<String>), Response> {
    let statuses = &services.config.rules.inject_statuses;
    let mut events = Vec::new();
    for page in 1..=TODAY_PAGES {
        let search = services.tripleseat.search_day(site_id, day, statuses, page, deadline);
        let found = match tokio::time::timeout_at(deadline, search).await {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => return Ok((events, Some(format!("TripleSeat search failed: {error}")))),
            Err(_) => return Ok((events, Some("TripleSeat search ran out of time".into()))),
        };
        for event in &found.results {
            if let Some(view) = event_view(services, event).await? {
                events.push(view);
            }
        }
        if page >= found.total_pages {
            break;
        }
    }
    Ok((events, None))
}

/// One event as the console lists it: id, name, status and its latest state.
async fn event_view(services: &Services, event: &Value) -> Result<Option<Value>, Response> {
    let Some(event_id) = id_string(event.get("id")) else {
        return Ok(None);
    };
    let query = JournalQuery {
        event_id: Some(event_id.clone()),
        limit: 1,
        ..JournalQuery::default()
    };
    let latest = services.store.journal(&query).await.map_err(unavailable)?;
    let mut view = json!({
        "event_id": event_id,
        "name": event.get("name").and_then(Value::as_str),
        "status": event.get("status").and_then(Value::as_str),
    });
    if let (Some(view), Value::Object(state)) = (view.as_object_mut(), state_of(latest.first())) {
        view.extend(state);
    }
    Ok(Some(view))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReplayRequest {
    note: Option<String>,
}

/// `POST /admin/api/events/<event_id>/replay`: steps 8–14 now, under every guard; the
/// answer is the webhook contract's JSON.
pub async fn replay(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let event_id = event_id.trim().to_string();
    if event_id.is_empty() || event_id.len() > 40 || !event_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return json_error(StatusCode::BAD_REQUEST, "event_id: a TripleSeat event id");
    }
    let request: ReplayRequest = serde_json::from_slice(&body).unwrap_or_default();
    let correlation_id = correlation::new_id("req");
    let span = tracing::info_span!("replay", correlation_id = %correlation_id, event_id = %event_id);
    let progress = Arc::new(Progress::default());
    let run = process_replay(
        Arc::clone(&state.services),
        event_id.clone(),
        correlation_id.clone(),
        Arc::clone(&progress),
    );
    let outcome = tokio::spawn(run.instrument(span)).await.unwrap_or_else(|_| {
        tracing::error!("Replay: the run panicked (INTERNAL_ERROR)");
        Outcome::InternalError
    });
    let detail = format!("event {event_id}: {} ({correlation_id})", outcome.reason());
    audit(&state, &Caller::of(&headers, peer), "replay", detail, request.note).await;
    contract::render(&progress.answer(outcome), &correlation_id)
}

/// `POST /admin/api/sweep`: a sweep now, or word that one is running.
pub async fn sweep(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let summary = state.sweeper.run_once().await;
    let caller = Caller::of(&headers, peer);
    if summary.was_busy {
        audit(
            &state,
            &caller,
            "sweep",
            "not run: a sweep is already running".into(),
            None,
        )
        .await;
        return (
            StatusCode::CONFLICT,
            Json(json!({"ran": false, "reason": "a sweep is already running"})),
        )
            .into_response();
    }
    if summary.store_unavailable {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store is unavailable; nothing was searched",
        );
    }
    let detail = format!(
        "searched={} injected={} already_injected={} failed={}",
        summary.searched,
        summary.injected,
        summary.already_injected,
        summary.failed + summary.search_failures
    );
    audit(&state, &caller, "sweep", detail, None).await;
    Json(json!({"ran": true, "summary": summary})).into_response()
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<String>,
}

/// `GET /admin/api/audit`: the audit trail, newest first.
pub async fn audit_trail(State(state): State<Arc<AppState>>, Query(query): Query<AuditQuery>) -> Answer {
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => 100,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        Some(_) => return Err(json_error(StatusCode::BAD_REQUEST, "limit: a number from 1 to 500")),
    };
    let rows = state.services.store.audit(limit).await.map_err(unavailable)?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
            value["at"] = json!(rfc3339(row.at_ms));
            value
        })
        .collect();
    Ok(Json(json!({"audit": rows})))
}
