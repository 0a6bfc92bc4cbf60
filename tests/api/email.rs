//! Emails through the fake SendGrid: one per injected order, one per failure,
//! none for skips; escaped; retried; never on the request path.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fakes::Fault;
use serde_json::{json, Value};

use crate::helpers::{paid_event, spawn_app, status_change_webhook, webhook, AppBuilder};

fn part(message: &Value, kind: &str) -> String {
    message["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == json!(kind))
        .map(|c| c["value"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {kind} part in {message:#}"))
}

#[tokio::test]
async fn an_injected_order_sends_one_success_email_with_its_totals() {
    let app = spawn_app().await;
    let answer = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("REVEL_INJECTED");
    let messages = app.wait_for_emails(1).await;
    assert_eq!(app.settled_emails().await.len(), 1, "exactly one email");
    let message = &messages[0];
    assert_eq!(
        message["subject"],
        json!("Triple Seat Event Injected — Event #61234567")
    );
    assert_eq!(
        message["personalizations"][0]["to"],
        json!([{"email": "ops@example.com"}])
    );
    assert_eq!(message["from"]["email"], json!("connector@example.com"));
    assert_eq!(
        message["content"][0]["type"],
        json!("text/plain"),
        "plain text comes first"
    );
    assert_eq!(message["custom_args"]["correlation_id"], answer.json["correlation_id"]);
    let text = part(message, "text/plain");
    for expected in [
        "Event: Harper Family Brunch",
        "Date: 05/16/2026",
        "Location: Sample Doughnuts - Summerlin",
        &format!("Revel order: {}", answer.json["revel_order_id"].as_str().unwrap()),
        "24 x Glazed Classic @ 2.25 = 54.00",
        "Subtotal: 153.00",
        "Discount: 15.30",
        "Total: 137.70",
        "Payment: 137.70",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    let html = part(message, "text/html");
    assert!(
        html.contains("<td>Maple Bar</td><td style=\"text-align:right\">12</td>"),
        "{html}"
    );
}

#[tokio::test]
async fn failures_send_one_email_naming_the_reason() {
    let app = spawn_app().await;
    let mut unmatched = paid_event();
    unmatched["documents"][1]["line_items"][0]["display_name"] = json!("Lobster Thermidor");
    let answer = app.post_signed(&webhook("UPDATE_EVENT", unmatched)).await;
    answer.assert_reason("ITEMS_UNMATCHED");
    let messages = app.wait_for_emails(1).await;
    assert_eq!(
        messages[0]["subject"],
        json!("FAILED: Triple Seat Event Injection — Event #61234567")
    );
    let text = part(&messages[0], "text/plain");
    assert!(
        text.contains("ITEMS_UNMATCHED") && text.contains("- Lobster Thermidor"),
        "{text}"
    );
    assert!(text.contains(answer.json["correlation_id"].as_str().unwrap()));

    app.fakes
        .revel
        .plan()
        .fail(Some("POST"), "/resources/Order/", Fault::Status(400), 1);
    let mut other = paid_event();
    other["id"] = json!(777);
    app.post_signed(&webhook("UPDATE_EVENT", other))
        .await
        .assert_reason("REVEL_WRITE_FAILED");
    let messages = app.wait_for_emails(2).await;
    assert!(part(&messages[1], "text/plain").contains("REVEL_WRITE_FAILED"));
    assert!(messages[1]["subject"].as_str().unwrap().ends_with("Event #777"));
}

#[tokio::test]
async fn skips_duplicates_denials_and_dry_runs_send_nothing() {
    let app = spawn_app().await;
    // A duplicate (after one real injection, which does email).
    let body = webhook("UPDATE_EVENT", paid_event());
    app.post_signed(&body).await.assert_reason("REVEL_INJECTED");
    app.post_signed(&body).await.assert_reason("DUPLICATE_DELIVERY");
    // A closed time gate.
    app.set_now(Utc.with_ymd_and_hms(2026, 5, 20, 18, 0, 0).unwrap());
    let mut later = paid_event();
    later["updated_at"] = json!("later");
    app.post_signed(&webhook("UPDATE_EVENT", later))
        .await
        .assert_reason("TIME_GATE_CLOSED_EVENT_DAY_PASSED");
    app.set_now(crate::helpers::event_day_morning());
    // A denial.
    let mut denied = paid_event();
    denied["id"] = json!(31);
    app.fakes.tripleseat.put_event(denied.clone());
    app.fakes
        .tripleseat
        .plan()
        .fail(Some("GET"), "/v1/events/", Fault::Status(403), 1);
    let mut hook = status_change_webhook();
    hook["event"]["id"] = json!(31);
    app.post_signed(&hook)
        .await
        .assert_reason("TRIPLESEAT_AUTHORIZATION_DENIED");
    // A test delivery that fails.
    let mut unmatched = paid_event();
    unmatched["id"] = json!(32);
    unmatched["documents"][1]["line_items"][0]["display_name"] = json!("Lobster Thermidor");
    app.post_test(&webhook("UPDATE_EVENT", unmatched))
        .await
        .assert_reason("ITEMS_UNMATCHED");
    assert_eq!(app.settled_emails().await.len(), 1, "only the injection emailed");

    let off = AppBuilder::new().env("ENABLE_CONNECTOR", "false").spawn().await;
    off.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("CONNECTOR_DISABLED");
    let dry = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    let mut unmatched = paid_event();
    unmatched["documents"][1]["line_items"][0]["display_name"] = json!("Lobster Thermidor");
    dry.post_signed(&webhook("UPDATE_EVENT", unmatched))
        .await
        .assert_reason("ITEMS_UNMATCHED");
    assert!(off.settled_emails().await.is_empty());
    assert!(dry.settled_emails().await.is_empty());
}

#[tokio::test]
async fn tripleseat_values_are_escaped_in_the_html_part() {
    let app = spawn_app().await;
    let mut event = paid_event();
    event["name"] = json!("<script>alert(1)</script> Fish & Chips");
    app.post_signed(&webhook("UPDATE_EVENT", event))
        .await
        .assert_reason("REVEL_INJECTED");
    let messages = app.wait_for_emails(1).await;
    let html = part(&messages[0], "text/html");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Fish &amp; Chips"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
}

#[tokio::test]
async fn a_failing_sendgrid_is_retried_until_it_accepts_once() {
    let app = spawn_app().await;
    app.fakes
        .sendgrid
        .plan()
        .fail(Some("POST"), "/v3/mail/send", Fault::Status(500), 2);
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    app.wait_for_emails(1).await;
    assert_eq!(app.settled_emails().await.len(), 1);
    assert_eq!(app.fakes.sendgrid.plan().count("POST", "/v3/mail/send"), 3);
}

#[tokio::test]
async fn a_hanging_sendgrid_never_delays_the_answer() {
    let quick = spawn_app().await;
    let started = Instant::now();
    quick
        .post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let usual = started.elapsed();

    let app = spawn_app().await;
    app.fakes
        .sendgrid
        .plan()
        .fail(None, "/v3/mail/send", Fault::Hang(Duration::from_secs(5)), 10);
    let started = Instant::now();
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    assert!(
        started.elapsed() < usual + Duration::from_secs(1),
        "{:?} against {usual:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn without_email_configuration_nothing_is_sent_and_nothing_fails() {
    let app = AppBuilder::new().without("SENDGRID_API_KEY").spawn().await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    assert!(app.settled_emails().await.is_empty());
    assert!(app.fakes.sendgrid.plan().requests().is_empty());
}
