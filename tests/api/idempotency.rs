//! Deliveries seen: duplicates answered, failures not settled, test and dry runs
//! never leaving a trace, the store bounded.

use fakes::Fault;
use futures::future::join_all;
use serde_json::json;

use crate::helpers::{paid_event, spawn_app, status_change_webhook, webhook, AppBuilder};

#[tokio::test]
async fn a_redelivered_paid_event_is_a_duplicate_and_creates_one_order() {
    let app = spawn_app().await;
    let event = webhook("UPDATE_EVENT", paid_event());
    app.post_signed(&event).await.assert_reason("REVEL_INJECTED");
    let again = app.post_signed(&event).await;
    again.assert_reason("DUPLICATE_DELIVERY");
    assert_eq!(
        again.json["event_id"],
        json!("61234567"),
        "the duplicate's answer still names its event"
    );
    assert_eq!(again.ok_processed(), (true, false));
    assert_eq!(app.orders().len(), 1);
}

#[tokio::test]
async fn a_failed_delivery_is_not_settled_so_its_redelivery_is_processed() {
    let app = spawn_app().await;
    app.fakes
        .revel
        .plan()
        .fail(Some("POST"), "/resources/Order/", Fault::Status(400), 1);
    let event = webhook("UPDATE_EVENT", paid_event());
    app.post_signed(&event).await.assert_reason("REVEL_WRITE_FAILED");
    app.post_signed(&event).await.assert_reason("REVEL_INJECTED");
    assert_eq!(app.orders().len(), 1);
}

#[tokio::test]
async fn twenty_identical_deliveries_at_once_are_processed_once() {
    let app = spawn_app().await;
    let event = webhook("UPDATE_EVENT", paid_event());
    let answers = join_all((0..20).map(|_| app.post_signed(&event))).await;
    let reasons: Vec<String> = answers
        .iter()
        .map(|a| a.json["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        reasons.iter().filter(|r| *r == "REVEL_INJECTED").count(),
        1,
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| *r == "DUPLICATE_DELIVERY").count(),
        19,
        "{reasons:?}"
    );
    assert_eq!(app.orders().len(), 1);
}

#[tokio::test]
async fn a_test_delivery_never_makes_a_later_real_one_a_duplicate() {
    let app = spawn_app().await;
    let event = webhook("UPDATE_EVENT", paid_event());
    let test = app.post_test(&event).await;
    test.assert_reason("DRY_RUN");
    assert_eq!(test.json["dry_run"], json!(true));
    app.post_test(&event).await.assert_reason("DRY_RUN");
    app.post_signed(&event).await.assert_reason("REVEL_INJECTED");
}

#[tokio::test]
async fn a_dry_run_never_settles_its_key() {
    let app = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    let event = webhook("UPDATE_EVENT", paid_event());
    for _ in 0..3 {
        let answer = app.post_signed(&event).await;
        answer.assert_reason("DRY_RUN");
        assert_eq!(answer.ok_processed(), (true, true));
    }
    assert_eq!(app.services.deliveries.len(), 0);
}

#[tokio::test]
async fn a_different_updated_at_is_a_new_delivery() {
    let app = spawn_app().await;
    let mut event = paid_event();
    app.post_signed(&webhook("UPDATE_EVENT", event.clone()))
        .await
        .assert_reason("REVEL_INJECTED");
    event["updated_at"] = json!("05/16/2026 09:00 AM");
    // Not a duplicate delivery, and Revel's local_id still keeps it to one order.
    app.post_signed(&webhook("UPDATE_EVENT", event))
        .await
        .assert_reason("ALREADY_INJECTED");
    assert_eq!(app.orders().len(), 1);
}

#[tokio::test]
async fn the_store_stays_within_its_cap() {
    let app = AppBuilder::new().env("IDEMPOTENCY_MAX_ENTRIES", "5").spawn().await;
    for n in 0..12 {
        let mut event = paid_event();
        event["updated_at"] = json!(format!("rev {n}"));
        event["status"] = json!("TENTATIVE");
        app.post_signed(&webhook("UPDATE_EVENT", event))
            .await
            .assert_reason("VALIDATION_FAILED_STATUS_NOT_INJECTABLE");
        assert!(
            app.services.deliveries.len() <= 5,
            "{} entries after {n}",
            app.services.deliveries.len()
        );
    }
    let _ = status_change_webhook();
}
