//! The business rules through the whole pipeline.

use serde_json::json;

use crate::helpers::{paid_event, spawn_app, webhook, AppBuilder};

#[tokio::test]
async fn each_failed_rule_is_answered_settled_and_writes_nothing() {
    let app = spawn_app().await;
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Edit)> = vec![
        ("STATUS_NOT_INJECTABLE", |e| e["status"] = json!("TENTATIVE")),
        ("NO_BILLING_INVOICE", |e| {
            e["documents"].as_array_mut().unwrap().remove(1);
        }),
        ("INVOICE_NOT_CLOSED", |e| {
            e["documents"][1]["financials"]["amount_due"] = json!("87.70");
            e["documents"][1]["payment_set"]["payments"][1]["state"] = json!("pending");
        }),
        ("PAYMENT_INSUFFICIENT", |e| {
            e["documents"][1]["payment_set"]["payments"][1]["amount"] = json!("87.69")
        }),
        ("NO_LINE_ITEMS", |e| e["documents"][1]["line_items"] = json!([])),
    ];
    for (n, (code, edit)) in cases.into_iter().enumerate() {
        let mut event = paid_event();
        event["updated_at"] = json!(format!("case {n}"));
        edit(&mut event);
        // A payload without a full invoice is completed from the API, which agrees with it.
        app.fakes.tripleseat.put_event(event.clone());
        let body = webhook("UPDATE_EVENT", event);
        let reason = format!("VALIDATION_FAILED_{code}");
        let answer = app.post_signed(&body).await;
        answer.assert_reason(&reason);
        assert_eq!(answer.ok_processed(), (true, false), "{code}");
        assert_eq!(answer.json["time_gate"], json!("OPEN"));
        app.post_signed(&body).await.assert_reason("DUPLICATE_DELIVERY");
    }
    assert!(app.fakes.revel.plan().requests().is_empty());
    assert!(
        app.settled_emails().await.is_empty(),
        "a business rule is a skip, not a failure"
    );
}

#[tokio::test]
async fn relaxed_rules_let_an_unpaid_invoice_through() {
    let app = AppBuilder::new()
        .env("REQUIRE_CLOSED_INVOICE", "false")
        .env("REQUIRE_FULL_PAYMENT", "false")
        .env("DRY_RUN", "true")
        .spawn()
        .await;
    let mut event = paid_event();
    event["documents"][1]["financials"]["amount_due"] = json!("87.70");
    event["documents"][1]["payment_set"]["payments"][1]["state"] = json!("pending");
    let answer = app.post_signed(&webhook("UPDATE_EVENT", event)).await;
    answer.assert_reason("DRY_RUN");
    assert_eq!(answer.json["planned_order"]["payment"], json!("50.00"));
    assert_eq!(answer.json["planned_order"]["is_fully_paid"], json!(false));
}

#[tokio::test]
async fn inject_statuses_are_configurable() {
    let app = AppBuilder::new().env("INJECT_STATUSES", "closed").spawn().await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("VALIDATION_FAILED_STATUS_NOT_INJECTABLE");
}
