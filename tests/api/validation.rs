//! The business rules through the whole pipeline.

use serde_json::json;

use crate::helpers::{paid_event, paid_event_with_id, spawn_app, webhook, AppBuilder};

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

#[tokio::test]
async fn a_line_that_cannot_be_read_refuses_the_event_names_the_line_and_writes_nothing() {
    let app = spawn_app().await;
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Edit)> = vec![
        ("it has no quantity", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!(null)
        }),
        ("its quantity is 0", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!(0)
        }),
        ("its quantity is -24", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!(-24)
        }),
        ("true/false", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!(true)
        }),
        ("not a whole number", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!("1.5")
        }),
        ("is not a number", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!(i64::MAX)
        }),
        ("is more than", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!(1e15)
        }),
        ("it has no price", |e| {
            e["documents"][1]["line_items"][1]
                .as_object_mut()
                .unwrap()
                .remove("price");
        }),
        ("too large to be real", |e| {
            e["documents"][1]["line_items"][1]["quantity"] = json!(100_000);
            e["documents"][1]["line_items"][1]["price"] = json!("99999999999.99");
        }),
        ("the invoice's amounts", |e| {
            e["documents"][1]["financials"]["grand_total"] = json!("999999999999999.00")
        }),
    ];
    for (n, (problem, edit)) in cases.into_iter().enumerate() {
        // An event each: the same failure of one event is emailed once in a while.
        let mut event = paid_event_with_id(7000 + n as u64);
        edit(&mut event);
        app.fakes.tripleseat.put_event(event.clone());
        let answer = app.post_signed(&webhook("UPDATE_EVENT", event)).await;
        answer.assert_reason("VALIDATION_FAILED_UNREADABLE_LINE_ITEM");
        assert_eq!(answer.ok_processed(), (false, false), "{problem}");
        let emails = app.wait_for_emails(n + 1).await;
        let text = emails[n]["content"][0]["value"].as_str().unwrap();
        assert!(text.contains(problem), "{problem}: {text}");
        if problem != "the invoice's amounts" {
            assert!(
                text.contains("line 2 (id 8800102, \u{201c}Maple Bar\u{201d})"),
                "{text}"
            );
        }
    }
    assert!(app.fakes.revel.orders().is_empty(), "nothing was written");
}
