//! The admin API and `/metrics` (SPEC 18, 19), over HTTP: the token gate, switches that
//! can only make the connector safer, a change seen by a second instance, the journal,
//! today's events, replay, sweep-now, the audit trail, and counters that count.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{paid_event, paid_event_with_id, webhook, AppBuilder, TestApp, SIGNING_KEY};

pub const TOKEN: &str = "admin-token-for-tests-0123456789abcdef";

pub fn admin_app() -> AppBuilder {
    AppBuilder::new().env("ADMIN_TOKEN", TOKEN)
}

/// One admin call with the token: (status, JSON body).
pub async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(app, method, path, body, Some(TOKEN)).await
}

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> (u16, Value) {
    let mut request = app.http.request(method, format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The value of one series in the `/metrics` text, 0 when absent.
pub async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn without_a_token_configured_every_admin_path_is_404() {
    let app = AppBuilder::new().spawn().await;
    for path in [
        "/admin",
        "/admin/api/status",
        "/admin/api/deliveries",
        "/admin/api/audit",
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 404, "{path}");
    }
    let (status, _) = call(
        &app,
        Method::PUT,
        "/admin/api/switches",
        Some(json!({"enable_connector": false})),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401_json_then_rate_limited_and_never_echoed() {
    let app = admin_app().spawn().await;
    let (status, body) = call(&app, Method::GET, "/admin/api/status", None, None).await;
    assert_eq!(status, 401);
    assert!(body["error"].is_string(), "{body}");
    let wrong = "wrong-token-wrong-token-wrong-token-42";
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, body) = call(&app, Method::GET, "/admin/api/status", None, Some(wrong)).await;
        assert!(!body.to_string().contains(wrong));
        statuses.push(status);
    }
    assert!(statuses.contains(&401) && statuses.last() == Some(&429), "{statuses:?}");
    let (status, body) = admin(&app, Method::GET, "/admin/api/status", None).await;
    assert_eq!(status, 200, "the right token still works: {body}");
    assert!(!body.to_string().contains(TOKEN));
}

#[tokio::test]
async fn an_override_can_only_make_the_connector_safer_than_its_environment() {
    // Environment off, override on: still off.
    let off = admin_app().env("ENABLE_CONNECTOR", "false").spawn().await;
    let (status, body) = admin(
        &off,
        Method::PUT,
        "/admin/api/switches",
        Some(json!({"enable_connector": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enable_connector"]["effective"], json!(false));
    off.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("CONNECTOR_DISABLED");

    // Environment dry, override live: still dry.
    let dry = admin_app().env("DRY_RUN", "true").spawn().await;
    let (_, body) = admin(
        &dry,
        Method::PUT,
        "/admin/api/switches",
        Some(json!({"dry_run": false})),
    )
    .await;
    assert_eq!(body["dry_run"]["effective"], json!(true));
    dry.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("DRY_RUN");
    assert!(dry.orders().is_empty());

    // Environment live, override dry: dry, at once; cleared: live again.
    let live = admin_app().spawn().await;
    let (_, body) = admin(
        &live,
        Method::PUT,
        "/admin/api/switches",
        Some(json!({"dry_run": true, "note": "checking"})),
    )
    .await;
    assert_eq!(body["dry_run"]["effective"], json!(true));
    assert_eq!(body["dry_run"]["override"]["note"], json!("checking"));
    live.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("DRY_RUN");
    let (_, body) = admin(&live, Method::DELETE, "/admin/api/switches/dry_run", None).await;
    assert_eq!(body["dry_run"]["effective"], json!(false));
    live.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");

    let (status, _) = admin(&live, Method::PUT, "/admin/api/switches", Some(json!({"kill": true}))).await;
    assert_eq!(status, 400, "an unknown field is refused");
    let (status, _) = admin(&live, Method::DELETE, "/admin/api/switches/everything", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_kill_switch_flipped_on_one_instance_is_in_force_on_another_within_two_seconds() {
    let first = admin_app().spawn().await;
    let second = admin_app().fakes(&first.fakes).store(&first.store).spawn().await;
    let (status, _) = admin(
        &first,
        Method::PUT,
        "/admin/api/switches",
        Some(json!({"enable_connector": false})),
    )
    .await;
    assert_eq!(status, 200);
    let flipped = Instant::now();
    loop {
        let health: Value = second.get("/health").await.json().await.unwrap();
        if health["enable_connector"] == json!(false) {
            break;
        }
        assert!(
            flipped.elapsed() < Duration::from_secs(2),
            "not seen by the second instance within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second
        .post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("CONNECTOR_DISABLED");
    assert!(second.orders().is_empty());
    assert_eq!(metric(&second, "connector_enabled").await, 0.0);
}

#[tokio::test]
async fn every_change_is_in_the_audit_trail_with_its_address() {
    let app = admin_app().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    admin(
        &app,
        Method::PUT,
        "/admin/api/switches",
        Some(json!({"dry_run": true, "note": "go-live check"})),
    )
    .await;
    admin(&app, Method::DELETE, "/admin/api/switches/dry_run", None).await;
    admin(&app, Method::POST, "/admin/api/events/61234567/replay", None).await;
    admin(&app, Method::POST, "/admin/api/sweep", None).await;
    let (status, body) = admin(&app, Method::GET, "/admin/api/audit", None).await;
    assert_eq!(status, 200);
    let rows = body["audit"].as_array().unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["sweep", "replay", "clear_switch", "set_switch"],
        "newest first"
    );
    assert!(rows.iter().all(|r| r["source_addr"] == json!("127.0.0.1")), "{rows:#?}");
    assert_eq!(rows[3]["detail"], json!("dry_run=true"));
    assert_eq!(rows[3]["note"], json!("go-live check"));
    assert!(rows[1]["detail"].as_str().unwrap().contains("REVEL_INJECTED"));
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_with_filters() {
    let app = admin_app().spawn().await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event_with_id(501)))
        .await
        .assert_reason("REVEL_INJECTED");
    app.post_signed(&webhook("DELETE_EVENT", paid_event_with_id(502))).await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event_with_id(503))).await;
    let mut rows = Vec::new();
    for _ in 0..100 {
        let (_, body) = admin(&app, Method::GET, "/admin/api/deliveries", None).await;
        rows = body["deliveries"].as_array().unwrap().clone();
        if rows.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["event_id"], json!("503"), "newest first");
    let (_, body) = admin(&app, Method::GET, "/admin/api/deliveries?event_id=501", None).await;
    let only: Vec<&Value> = body["deliveries"].as_array().unwrap().iter().collect();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["reason"], json!("REVEL_INJECTED"));
    assert!(only[0]["revel_order_id"].is_string());
    let (_, body) = admin(
        &app,
        Method::GET,
        "/admin/api/deliveries?reason=trigger_type_not_actionable",
        None,
    )
    .await;
    assert_eq!(body["deliveries"][0]["event_id"], json!("502"));
    let (_, body) = admin(
        &app,
        Method::GET,
        "/admin/api/deliveries?since=2999-01-01T00:00:00Z",
        None,
    )
    .await;
    assert!(body["deliveries"].as_array().unwrap().is_empty());
    for bad in ["since=yesterday", "limit=501", "limit=zero"] {
        let (status, body) = admin(&app, Method::GET, &format!("/admin/api/deliveries?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn replaying_an_event_twice_yields_one_order_and_under_the_kill_switch_nothing() {
    let app = admin_app().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    let (status, first) = admin(
        &app,
        Method::POST,
        "/admin/api/events/61234567/replay",
        Some(json!({"note": "invoice fixed"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first["reason"], json!("REVEL_INJECTED"), "{first:#}");
    assert!(first["correlation_id"].as_str().unwrap().starts_with("req-"));
    let (_, second) = admin(&app, Method::POST, "/admin/api/events/61234567/replay", None).await;
    assert_eq!(second["reason"], json!("ALREADY_INJECTED"));
    assert_eq!(second["revel_order_id"], first["revel_order_id"]);
    assert_eq!(app.orders().len(), 1);

    admin(
        &app,
        Method::PUT,
        "/admin/api/switches",
        Some(json!({"enable_connector": false})),
    )
    .await;
    app.fakes.tripleseat.put_event(paid_event_with_id(777));
    let reads = app.fakes.tripleseat.event_reads("777");
    let writes = app.fakes.revel.write_calls();
    let (_, off) = admin(&app, Method::POST, "/admin/api/events/777/replay", None).await;
    assert_eq!(off["reason"], json!("CONNECTOR_DISABLED"));
    assert_eq!(app.fakes.tripleseat.event_reads("777"), reads, "nothing read");
    assert_eq!(app.fakes.revel.write_calls(), writes, "nothing written");

    let (status, _) = admin(&app, Method::POST, "/admin/api/events/not%20an%20id/replay", None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn today_lists_each_sites_events_with_what_happened_and_sweep_now_answers_its_summary() {
    let app = admin_app().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    let (_, before) = admin(&app, Method::GET, "/admin/api/today", None).await;
    let site = before["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site_id"] == json!("15901"))
        .unwrap()
        .clone();
    assert_eq!(site["date"], json!("2026-05-16"));
    assert_eq!(site["events"][0]["event_id"], json!("61234567"));
    assert_eq!(site["events"][0]["state"], json!("not_seen"));

    let (status, swept) = admin(&app, Method::POST, "/admin/api/sweep", None).await;
    assert_eq!(status, 200, "{swept}");
    assert_eq!(swept["summary"]["injected"], json!(1));
    let mut state = Value::Null;
    for _ in 0..100 {
        let (_, after) = admin(&app, Method::GET, "/admin/api/today", None).await;
        state = after["sites"][0]["events"][0].clone();
        if state["state"] == json!("injected") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state["state"], json!("injected"), "{state}");
    assert!(state["revel_order_id"].is_string());

    let (_, status) = admin(&app, Method::GET, "/admin/api/status", None).await;
    assert_eq!(status["last_sweep"]["injected"], json!(1));
    assert_eq!(status["enable_connector"]["effective"], json!(true));
    assert_eq!(status["store"]["status"], json!("ok"));
    assert!(status["outbox"]["pending"].is_number());
}

#[tokio::test]
async fn metrics_count_webhooks_by_reason_orders_and_upstream_calls() {
    let app = admin_app().spawn().await;
    let series = "connector_webhooks_total{reason=\"TRIGGER_TYPE_NOT_ACTIONABLE\"}";
    let before = metric(&app, series).await;
    for n in 0..3 {
        app.post_signed(&webhook("DELETE_EVENT", paid_event_with_id(900 + n)))
            .await
            .assert_reason("TRIGGER_TYPE_NOT_ACTIONABLE");
    }
    assert_eq!(metric(&app, series).await, before + 3.0);
    let injected = metric(&app, "connector_orders_injected_total").await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    assert_eq!(metric(&app, "connector_orders_injected_total").await, injected + 1.0);
    assert_eq!(
        metric(&app, "connector_webhooks_total{reason=\"REVEL_INJECTED\"}").await,
        1.0
    );
    assert!(
        metric(
            &app,
            "connector_upstream_requests_total{upstream=\"revel\",status=\"201\"}"
        )
        .await
            >= 1.0
    );
    assert!(metric(&app, "connector_pipeline_duration_seconds_count").await >= 4.0);
    assert_eq!(metric(&app, "connector_enabled").await, 1.0);
    assert_eq!(metric(&app, "connector_dry_run").await, 0.0);
    assert_eq!(metric(&app, "connector_build_info{version=\"0.1.0\"}").await, 1.0);
    app.sweeper.run_once().await;
    assert_eq!(metric(&app, "connector_sweep_runs_total{result=\"ok\"}").await, 1.0);
    let text = app.get("/metrics").await.text().await.unwrap();
    for name in [
        "connector_outbox_pending",
        "connector_outbox_failed",
        "connector_upstream_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    for secret in [TOKEN, SIGNING_KEY, fakes::revel::API_SECRET, fakes::sendgrid::API_KEY] {
        assert!(!text.contains(secret));
    }
}

#[tokio::test]
async fn with_a_metrics_token_metrics_need_it() {
    let app = AppBuilder::new().env("METRICS_TOKEN", "metrics-token-42").spawn().await;
    assert_eq!(app.get("/metrics").await.status().as_u16(), 401);
    let response = app
        .http
        .get(format!("{}/metrics", app.address))
        .bearer_auth("metrics-token-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("connector_build_info"));
}

#[tokio::test]
async fn no_admin_answer_or_page_holds_a_secret() {
    let app = admin_app().spawn().await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    let page = app.get("/admin").await.text().await.unwrap();
    assert!(page.contains("<title>TripleSeat"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external assets"
    );
    let mut everything = page;
    for path in [
        "/admin/api/status",
        "/admin/api/deliveries",
        "/admin/api/today",
        "/admin/api/audit",
    ] {
        let (status, body) = admin(&app, Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        everything.push_str(&body.to_string());
    }
    for secret in [
        TOKEN,
        SIGNING_KEY,
        fakes::revel::API_KEY,
        fakes::revel::API_SECRET,
        fakes::sendgrid::API_KEY,
        fakes::tripleseat::PUBLIC_API_KEY,
    ] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn with_an_admin_token_the_test_endpoints_need_it() {
    let app = admin_app().spawn().await;
    let body = webhook("UPDATE_EVENT", paid_event()).to_string();
    let open = app
        .http
        .post(format!("{}/test/webhook", app.address))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(open.status().as_u16(), 401);
    assert_eq!(app.get("/test/revel").await.status().as_u16(), 401);
    let (status, answer) = call(
        &app,
        Method::POST,
        "/test/webhook",
        Some(serde_json::from_str(&body).unwrap()),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["reason"], json!("DRY_RUN"));
    let (status, probe) = call(&app, Method::GET, "/test/revel", None, Some(TOKEN)).await;
    assert_eq!((status, &probe["status"]), (200, &json!(200)), "{probe}");
}

#[tokio::test]
async fn the_revel_probe_honours_the_kill_switch_and_never_passes_on_revels_body() {
    let off = AppBuilder::new().env("ENABLE_CONNECTOR", "false").spawn().await;
    let reads = off.fakes.revel.plan().requests().len();
    let response = off.get("/test/revel").await;
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("CONNECTOR_DISABLED"));
    assert_eq!(off.fakes.revel.plan().requests().len(), reads, "nothing read");

    let app = AppBuilder::new().spawn().await;
    app.fakes
        .revel
        .plan()
        .fail(Some("GET"), "/enterprise/Establishment/", fakes::Fault::Status(400), 1);
    let response = app.get("/test/revel").await;
    assert_eq!(response.status().as_u16(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": 400, "error": "Revel rejected the request (HTTP 400)"})
    );
}
