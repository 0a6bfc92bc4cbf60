//! `/health`, `/` and the test routes' switch.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, AppBuilder};

#[tokio::test]
async fn health_summarises_the_configuration_without_secrets() {
    let app = AppBuilder::new()
        .env("TIMEZONE", "America/Los_Angeles")
        .env("DRY_RUN", "true")
        .spawn()
        .await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let health: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(health["status"], json!("ok"));
    assert_eq!(health["time"], json!("2026-05-16T11:00:00-07:00"));
    assert_eq!(health["env"], json!("test"));
    assert_eq!(health["dry_run"], json!(true));
    assert_eq!(health["enable_connector"], json!(true));
    assert_eq!(health["allowed_locations"], json!("UNRESTRICTED"));
    assert_eq!(health["locations"], json!(2));
    assert_eq!(health["signing_key_configured"], json!(true));
    assert!(health["version"].is_string());
    for secret in [
        crate::helpers::SIGNING_KEY,
        fakes::revel::API_SECRET,
        fakes::sendgrid::API_KEY,
        fakes::tripleseat::PUBLIC_API_KEY,
    ] {
        assert!(!text.contains(secret), "{secret} leaked into /health");
    }
}

#[tokio::test]
async fn allowed_locations_are_listed_when_restricted() {
    let app = AppBuilder::new().env("ALLOWED_LOCATIONS", "15901").spawn().await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["allowed_locations"], json!(["15901"]));
}

#[tokio::test]
async fn the_root_answers_platform_probes() {
    let app = spawn_app().await;
    let root: Value = app.get("/").await.json().await.unwrap();
    assert_eq!(root["name"], json!("tripleseat-revel-connector"));
    let head = app.http.head(&app.address).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn test_endpoints_can_be_turned_off() {
    let app = AppBuilder::new().env("TEST_ENDPOINTS", "false").spawn().await;
    let webhook = app
        .http
        .post(format!("{}/test/webhook", app.address))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 404);
    assert_eq!(app.get("/test/revel").await.status(), 404);
}

#[tokio::test]
async fn the_revel_probe_makes_one_real_read() {
    let app = spawn_app().await;
    let response = app.get("/test/revel").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": 200, "count": 2}));
    assert_eq!(app.fakes.revel.write_calls(), 0);

    let denied = AppBuilder::new().env("REVEL_API_SECRET", "wrong").spawn().await;
    let response = denied.get("/test/revel").await;
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], json!(401));
    assert!(
        !text.contains("wrong") && !text.contains(fakes::revel::API_KEY),
        "no secret in {text}"
    );
}
