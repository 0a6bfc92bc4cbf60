//! Reading the event from TripleSeat: payload first, both auth paths, and every
//! way the API can fail.

use std::time::Duration;

use fakes::Fault;
use serde_json::json;

use crate::helpers::{paid_event, spawn_app, status_change_webhook, webhook, AppBuilder, EVENT_ID};

/// A dry-run app that reads TripleSeat with OAuth 2.0 client credentials only.
fn oauth_app() -> AppBuilder {
    AppBuilder::new()
        .without("TRIPLESEAT_PUBLIC_API_KEY")
        .env("TRIPLESEAT_OAUTH_CLIENT_ID", fakes::tripleseat::OAUTH_CLIENT_ID)
        .env("TRIPLESEAT_OAUTH_CLIENT_SECRET", fakes::tripleseat::OAUTH_CLIENT_SECRET)
        .env("DRY_RUN", "true")
}

#[tokio::test]
async fn a_complete_payload_needs_no_api_read() {
    let app = spawn_app().await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    assert_eq!(app.fakes.tripleseat.event_reads(EVENT_ID), 0);
}

#[tokio::test]
async fn missing_financials_are_read_with_the_public_key_and_merged() {
    let app = spawn_app().await;
    let mut api_copy = paid_event();
    api_copy["name"] = json!("Name from the API");
    app.fakes.tripleseat.put_event(api_copy);
    let mut hook = status_change_webhook();
    hook["event"]["name"] = json!("Name from the webhook");
    let answer = app.post_signed(&hook).await;
    answer.assert_reason("REVEL_INJECTED");
    let reads: Vec<_> = app.fakes.tripleseat.plan().requests();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].path, format!("/v1/events/{EVENT_ID}.json"));
    assert!(reads[0].query.contains("show_financial=true"), "{}", reads[0].query);
    assert_eq!(reads[0].headers["x-api-key"], fakes::tripleseat::PUBLIC_API_KEY);
    let order = &app.orders()[0];
    assert_eq!(order["notes"], json!("Triple Seat Event #61234567"));
    // The webhook's own values win over the API's.
    let email = app.wait_for_emails(1).await;
    assert!(email[0]["content"][0]["value"]
        .as_str()
        .unwrap()
        .contains("Name from the webhook"));
}

#[tokio::test]
async fn oauth_client_credentials_are_used_when_no_public_key_is_set_and_the_token_is_cached() {
    let app = oauth_app().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    for _ in 0..3 {
        app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    }
    assert_eq!(
        app.fakes.tripleseat.token_requests(),
        1,
        "the token is cached until it expires"
    );
    let reads = app.fakes.tripleseat.plan().requests();
    let event_read = reads.iter().find(|r| r.path.starts_with("/v1/events/")).unwrap();
    assert!(event_read.headers["authorization"]
        .to_str()
        .unwrap()
        .starts_with("Bearer fake-token-"));
    assert!(event_read.headers.get("x-api-key").is_none());
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_before_anything_is_denied() {
    let app = oauth_app().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    app.fakes.tripleseat.revoke_tokens();
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    assert_eq!(app.fakes.tripleseat.token_requests(), 2);
}

#[tokio::test]
async fn wrong_oauth_credentials_are_an_authorization_denial() {
    let app = AppBuilder::new()
        .without("TRIPLESEAT_PUBLIC_API_KEY")
        .env("TRIPLESEAT_OAUTH_CLIENT_ID", "someone")
        .env("TRIPLESEAT_OAUTH_CLIENT_SECRET", "not-the-secret")
        .spawn()
        .await;
    app.fakes.tripleseat.put_event(paid_event());
    let answer = app.post_signed(&status_change_webhook()).await;
    answer.assert_reason("TRIPLESEAT_AUTHORIZATION_DENIED");
    assert_eq!(answer.json["authorization_status"], json!("DENIED"));
}

#[tokio::test]
async fn refusals_are_denials_settled_without_email() {
    for (description, fault) in [
        ("401", Fault::Status(401)),
        ("403", Fault::Status(403)),
        ("an HTML login page", Fault::HtmlLogin),
    ] {
        let app = spawn_app().await;
        app.fakes.tripleseat.put_event(paid_event());
        app.fakes.tripleseat.plan().fail(Some("GET"), "/v1/events/", fault, 1);
        let answer = app.post_signed(&status_change_webhook()).await;
        assert_eq!(
            answer.json["reason"],
            json!("TRIPLESEAT_AUTHORIZATION_DENIED"),
            "{description}"
        );
        answer.assert_reason("TRIPLESEAT_AUTHORIZATION_DENIED");
        assert_eq!(answer.ok_processed(), (true, false));
        assert_eq!(answer.json["authorization_status"], json!("DENIED"));
        assert_eq!(
            app.fakes.tripleseat.event_reads(EVENT_ID),
            1,
            "{description}: a denial is not retried"
        );
        app.post_signed(&status_change_webhook())
            .await
            .assert_reason("DUPLICATE_DELIVERY");
        assert!(
            app.settled_emails().await.is_empty(),
            "{description}: no email for a denial"
        );
    }
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let app = spawn_app().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes.tripleseat.plan().fail(
        Some("GET"),
        "/v1/events/",
        Fault::RateLimited { retry_after_secs: 0 },
        1,
    );
    app.fakes
        .tripleseat
        .plan()
        .fail(Some("GET"), "/v1/events/", Fault::Status(502), 1);
    app.post_signed(&status_change_webhook())
        .await
        .assert_reason("REVEL_INJECTED");
    assert_eq!(app.fakes.tripleseat.event_reads(EVENT_ID), 3);
}

#[tokio::test]
async fn a_persistent_outage_is_unavailable_and_not_settled() {
    let app = spawn_app().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes
        .tripleseat
        .plan()
        .fail(Some("GET"), "/v1/events/", Fault::Status(503), 3);
    let answer = app.post_signed(&status_change_webhook()).await;
    answer.assert_reason("EVENT_DATA_UNAVAILABLE");
    assert_eq!(answer.ok_processed(), (false, false));
    assert_eq!(app.fakes.tripleseat.event_reads(EVENT_ID), 3, "bounded retries");
    // The outage is over: TripleSeat's redelivery of the same webhook succeeds.
    app.post_signed(&status_change_webhook())
        .await
        .assert_reason("REVEL_INJECTED");
}

#[tokio::test]
async fn a_hanging_api_is_cut_off_by_the_timeout() {
    let app = spawn_app().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes
        .tripleseat
        .plan()
        .fail(Some("GET"), "/v1/events/", Fault::Hang(Duration::from_secs(3)), 3);
    let started = std::time::Instant::now();
    let answer = app.post_signed(&status_change_webhook()).await;
    answer.assert_reason("EVENT_DATA_UNAVAILABLE");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn without_read_credentials_an_incomplete_payload_is_unavailable() {
    let app = AppBuilder::new().without("TRIPLESEAT_PUBLIC_API_KEY").spawn().await;
    let answer = app.post_signed(&status_change_webhook()).await;
    answer.assert_reason("EVENT_DATA_UNAVAILABLE");
    assert!(app.fakes.tripleseat.plan().requests().is_empty());
    // A payload that carries everything still goes through.
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
}
