//! The Revel writer against a fake Revel that keeps state like the real one.

use std::time::Duration;

use fakes::Fault;
use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{paid_event, paid_event_with_id, spawn_app, webhook, AppBuilder, EVENT_ID};

fn order_of(app: &crate::helpers::TestApp) -> Value {
    let orders = app.orders();
    assert_eq!(orders.len(), 1, "exactly one order: {orders:#?}");
    orders[0].clone()
}

#[tokio::test]
async fn a_due_paid_event_becomes_one_order_matching_the_invoice_to_the_cent() {
    let app = spawn_app().await;
    let answer = app.post_signed(&webhook("STATUS_CHANGE_EVENT", paid_event())).await;
    answer.assert_reason("REVEL_INJECTED");
    assert_eq!(answer.ok_processed(), (true, true));
    assert_eq!(answer.json["time_gate"], json!("OPEN"));
    let order = order_of(&app);
    assert_eq!(answer.json["revel_order_id"], json!(order["id"].to_string()));
    assert_eq!(order["local_id"], json!("Triple Seat 61234567"));
    assert_eq!(order["establishment"], json!("/enterprise/Establishment/4/"));
    assert_eq!(order["notes"], json!("Triple Seat Event #61234567"));
    assert_eq!(order["call_name"], json!("Dana Whitfield 702-555-0147"));
    assert_eq!(order["dining_option"], json!(3));
    assert_eq!(order["created_by"], json!("/enterprise/User/11/"));
    assert_eq!(order["station"], json!("/resources/PosStation/22/"));
    // Naive Las Vegas time: 18:00 UTC is 11:00 PDT.
    assert_eq!(order["created_date"], json!("2026-05-16T11:00:00"));
    assert_eq!(order["subtotal"].to_string(), "153.00");
    assert_eq!(order["discount_amount"].to_string(), "15.30");
    assert_eq!(order["final_total"].to_string(), "137.70");
    assert_eq!(order["remaining_due"].to_string(), "0.00");
    assert_eq!(order["discount"], json!("/resources/Discount/55/"));
    assert_eq!(order["printed"], json!(true));

    let items = app.fakes.revel.children("OrderItem", &order["id"]);
    let lines: Vec<(String, i64, String)> = items
        .iter()
        .map(|i| {
            (
                i["product"].as_str().unwrap().to_string(),
                i["quantity"].as_i64().unwrap(),
                i["price"].to_string(),
            )
        })
        .collect();
    let product = |name: &str| {
        let id = app
            .fakes
            .revel
            .objects("Product")
            .into_iter()
            .find(|p| p["name"] == json!(name))
            .unwrap()["id"]
            .clone();
        format!("/resources/Product/{id}/")
    };
    assert_eq!(
        lines,
        vec![
            (product("Glazed Classic"), 24, "2.25".to_string()),
            (product("Maple Bar"), 12, "2.75".to_string()),
            (product("Chocolate Sprinkle Ring"), 12, "2.50".to_string()),
            (product("Coffee Carafe"), 2, "18.00".to_string()),
        ],
        "TripleSeat's unit prices override the catalogue's"
    );
    let payments = app.fakes.revel.children("Payment", &order["id"]);
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["amount"], json!("137.70"));
    assert_eq!(payments[0]["payment_type"], json!(44));
    let history = app.fakes.revel.children("OrderHistory", &order["id"]);
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0]["closed"],
        json!("2026-05-16T11:00:00"),
        "fully paid, so closed"
    );
}

#[tokio::test]
async fn the_catalogue_is_read_once_for_many_events_within_its_ttl() {
    let app = spawn_app().await;
    for id in 1..=5 {
        app.post_signed(&webhook("UPDATE_EVENT", paid_event_with_id(id)))
            .await
            .assert_reason("REVEL_INJECTED");
    }
    assert_eq!(app.orders().len(), 5);
    assert_eq!(app.fakes.revel.catalogue_reads(), 1);
    let pages = app.fakes.revel.plan().count("GET", "/resources/Product/");
    assert_eq!(pages, 2, "34 products at 20 a page: every page was read");
}

#[tokio::test]
async fn concurrent_first_requests_share_one_catalogue_read() {
    let app = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    let bodies: Vec<Value> = (1..=8)
        .map(|id| webhook("UPDATE_EVENT", paid_event_with_id(id)))
        .collect();
    let answers = join_all(bodies.iter().map(|b| app.post_signed(b))).await;
    for answer in &answers {
        answer.assert_reason("DRY_RUN");
    }
    assert_eq!(app.fakes.revel.catalogue_reads(), 1);
}

#[tokio::test]
async fn one_event_delivered_twenty_times_at_once_under_different_triggers_is_one_order() {
    let app = spawn_app().await;
    let triggers = [
        "CREATE_EVENT",
        "UPDATE_EVENT",
        "STATUS_CHANGE_EVENT",
        "EVENT_UPDATED",
        "EVENT_CREATED",
    ];
    let bodies: Vec<Value> = (0..20)
        .map(|n| {
            let mut event = paid_event();
            event["updated_at"] = json!(format!("rev {n}"));
            webhook(triggers[n % triggers.len()], event)
        })
        .collect();
    let answers = join_all(bodies.iter().map(|b| app.post_signed(b))).await;
    let reasons: Vec<&str> = answers.iter().map(|a| a.json["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons.iter().filter(|r| **r == "REVEL_INJECTED").count(),
        1,
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| **r == "ALREADY_INJECTED").count(),
        19,
        "{reasons:?}"
    );
    let order = order_of(&app);
    assert_eq!(app.fakes.revel.children("OrderItem", &order["id"]).len(), 4);
}

#[tokio::test]
async fn a_restart_that_lost_its_store_still_yields_one_order() {
    let first = spawn_app().await;
    first
        .post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let fakes = first.fakes.clone();
    first.stop().await;
    let second = AppBuilder::new().fakes(&fakes).spawn().await;
    let answer = second.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("ALREADY_INJECTED");
    assert_eq!(answer.ok_processed(), (true, false));
    assert_eq!(
        answer.json["revel_order_id"],
        json!(second.orders()[0]["id"].to_string())
    );
    assert_eq!(second.orders().len(), 1);
}

#[tokio::test]
async fn an_order_made_by_the_earlier_connector_counts() {
    let app = spawn_app().await;
    app.fakes.revel.insert(
        "Order",
        900,
        json!({"id": 900, "uuid": "legacy", "local_id": "tripleseat_event_61234567", "establishment": "/enterprise/Establishment/4/",
               "orderhistory": ["/resources/OrderHistory/901/"], "has_history": true}),
    );
    let answer = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("ALREADY_INJECTED");
    assert_eq!(answer.json["revel_order_id"], json!("900"));
    assert_eq!(app.fakes.revel.write_calls(), 0);
}

#[tokio::test]
async fn a_failed_payment_leaves_a_partial_order_that_a_redelivery_completes() {
    let app = spawn_app().await;
    app.fakes
        .revel
        .plan()
        .fail(Some("POST"), "/resources/Payment/", Fault::Status(400), 1);
    let body = webhook("UPDATE_EVENT", paid_event());
    let first = app.post_signed(&body).await;
    first.assert_reason("REVEL_PARTIAL_ORDER");
    assert_eq!(first.ok_processed(), (false, false));
    let order = order_of(&app);
    assert_eq!(first.json["revel_order_id"], json!(order["id"].to_string()));
    assert!(app.fakes.revel.children("Payment", &order["id"]).is_empty());

    let failure = app.wait_for_emails(1).await;
    assert!(failure[0]["subject"].as_str().unwrap().starts_with("FAILED"));
    assert!(failure[0]["content"][0]["value"]
        .as_str()
        .unwrap()
        .contains(&order["id"].to_string()));

    // The fault clears; TripleSeat redelivers (the partial answer did not settle the key).
    let second = app.post_signed(&body).await;
    second.assert_reason("REVEL_INJECTED");
    let order = order_of(&app);
    assert_eq!(
        second.json["revel_order_id"],
        json!(order["id"].to_string()),
        "the same order was completed"
    );
    assert_eq!(
        app.fakes.revel.children("OrderItem", &order["id"]).len(),
        4,
        "no duplicate items"
    );
    assert_eq!(app.fakes.revel.children("Payment", &order["id"]).len(), 1);
    assert_eq!(app.fakes.revel.children("OrderHistory", &order["id"]).len(), 1);
    assert_eq!(app.fakes.revel.objects("Order")[0]["final_total"].to_string(), "137.70");
}

#[tokio::test]
async fn a_write_that_timed_out_after_being_stored_is_not_repeated() {
    let app = spawn_app().await;
    app.fakes.revel.plan().fail(
        Some("POST"),
        "/resources/OrderItem/",
        Fault::StoreThenHang(Duration::from_secs(2)),
        1,
    );
    app.fakes.revel.plan().fail(
        Some("POST"),
        "/resources/Order/",
        Fault::StoreThenHang(Duration::from_secs(2)),
        1,
    );
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let order = order_of(&app);
    assert_eq!(
        app.fakes.revel.children("OrderItem", &order["id"]).len(),
        4,
        "the stored item was found, not re-sent"
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_on_writes_are_retried_without_duplicates() {
    let app = spawn_app().await;
    app.fakes.revel.plan().fail(
        Some("POST"),
        "/resources/Order/",
        Fault::RateLimited { retry_after_secs: 0 },
        1,
    );
    app.fakes
        .revel
        .plan()
        .fail(Some("POST"), "/resources/Payment/", Fault::Status(503), 1);
    app.fakes
        .revel
        .plan()
        .fail(Some("PATCH"), "/resources/Order/", Fault::Status(502), 1);
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let order = order_of(&app);
    assert_eq!(app.fakes.revel.children("Payment", &order["id"]).len(), 1);
}

#[tokio::test]
async fn a_revel_outage_before_any_write_is_a_write_failure() {
    let app = spawn_app().await;
    app.fakes
        .revel
        .plan()
        .fail(Some("POST"), "/resources/Order/", Fault::Status(400), 1);
    let answer = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("REVEL_WRITE_FAILED");
    assert!(app.orders().is_empty());
}

#[tokio::test]
async fn unmatched_items_stop_the_order_and_are_named() {
    let app = spawn_app().await;
    let mut event = paid_event();
    event["documents"][1]["line_items"][3]["display_name"] = json!("Vegan Quiche Platter");
    let answer = app.post_signed(&webhook("UPDATE_EVENT", event)).await;
    answer.assert_reason("ITEMS_UNMATCHED");
    assert_eq!(answer.ok_processed(), (false, false));
    assert_eq!(answer.json["unmatched_items"], json!(["Vegan Quiche Platter"]));
    assert_eq!(app.fakes.revel.write_calls(), 0);
}

#[tokio::test]
async fn partial_orders_write_the_matched_items_when_allowed() {
    let app = AppBuilder::new().env("ALLOW_PARTIAL_ORDERS", "true").spawn().await;
    let mut event = paid_event();
    event["documents"][1]["line_items"][3]["display_name"] = json!("Vegan Quiche Platter");
    app.post_signed(&webhook("UPDATE_EVENT", event))
        .await
        .assert_reason("REVEL_INJECTED");
    let order = order_of(&app);
    assert_eq!(app.fakes.revel.children("OrderItem", &order["id"]).len(), 3);
    assert_eq!(
        order["final_total"].to_string(),
        "101.70",
        "the unmatched line's 36.00 left the total"
    );
}

#[tokio::test]
async fn dry_runs_and_test_deliveries_write_nothing_but_show_the_full_plan() {
    let dry = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    let production_path = dry.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    let live = spawn_app().await;
    let test_path = live.post_test(&webhook("UPDATE_EVENT", paid_event())).await;
    for (app, answer) in [(&dry, production_path), (&live, test_path)] {
        answer.assert_reason("DRY_RUN");
        assert_eq!(answer.ok_processed(), (true, true));
        assert_eq!(answer.json["dry_run"], json!(true));
        let plan = &answer.json["planned_order"];
        assert_eq!(plan["establishment"], json!("4"));
        assert_eq!(plan["items"].as_array().unwrap().len(), 4);
        assert_eq!(plan["items"][0]["name"], json!("Glazed Classic"));
        assert_eq!(plan["items"][0]["quantity"], json!(24));
        assert_eq!(plan["items"][0]["unit_price"], json!("2.25"));
        assert!(plan["items"][0]["product_id"].is_string());
        assert_eq!(plan["subtotal"], json!("153.00"));
        assert_eq!(plan["discount"], json!("15.30"));
        assert_eq!(plan["total"], json!("137.70"));
        assert_eq!(plan["payment"], json!("137.70"));
        assert_eq!(app.fakes.revel.write_calls(), 0, "not one write call");
        assert!(app.settled_emails().await.is_empty(), "no email from a dry run");
    }
}

#[tokio::test]
async fn an_incomplete_order_made_elsewhere_is_reported_not_touched() {
    let app = spawn_app().await;
    app.fakes.revel.insert(
        "Order",
        700,
        json!({"id": 700, "uuid": "someone-else", "local_id": "Triple Seat 61234567", "establishment": "/enterprise/Establishment/4/", "orderhistory": []}),
    );
    let answer = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("REVEL_PARTIAL_ORDER");
    assert_eq!(answer.json["revel_order_id"], json!("700"));
    assert_eq!(app.fakes.revel.write_calls(), 0);
    let _ = EVENT_ID;
}

#[tokio::test]
async fn missing_revel_ids_fail_the_write_before_anything_is_written() {
    let app = AppBuilder::new().without("REVEL_PAYMENT_TYPE_ID").spawn().await;
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_WRITE_FAILED");
    assert_eq!(app.fakes.revel.write_calls(), 0);
}

#[tokio::test]
async fn without_revel_a_test_delivery_still_plans_from_the_payload() {
    let app = AppBuilder::new().without("REVEL_API_BASE").spawn().await;
    let answer = app.post_test(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("DRY_RUN");
    assert_eq!(answer.json["planned_order"]["total"], json!("137.70"));
    assert_eq!(answer.json["planned_order"]["items"][0]["product_id"], json!(null));
    let live = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    live.assert_reason("REVEL_WRITE_FAILED");
}

#[tokio::test]
async fn an_order_for_another_event_never_counts_as_this_ones() {
    let app = spawn_app().await;
    app.fakes.revel.insert(
        "Order",
        800,
        json!({"id": 800, "uuid": "x", "local_id": "Triple Seat 999", "establishment": "/enterprise/Establishment/4/",
               "orderhistory": ["/resources/OrderHistory/801/"], "has_history": true}),
    );
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    assert_eq!(app.orders().len(), 2);
}

/// The finalize PATCH the fake Revel received (the one that sets `final_total`).
fn finalize_body(app: &crate::helpers::TestApp) -> serde_json::Map<String, Value> {
    app.fakes
        .revel
        .plan()
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.starts_with("/resources/Order/"))
        .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
        .find_map(|body| {
            body.get("final_total")
                .is_some()
                .then(|| body.as_object().unwrap().clone())
        })
        .expect("a finalize PATCH")
}

#[tokio::test]
async fn finalize_writes_only_the_proven_fields_unless_revel_totals_is_invoice() {
    let pos = spawn_app().await;
    pos.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let body = finalize_body(&pos);
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["discount", "discount_amount", "final_total", "printed", "subtotal"],
        "{body:?}"
    );
    assert_eq!(body["final_total"].to_string(), "137.70");
    assert_eq!(body["discount"], json!("/resources/Discount/55/"));

    let invoice = AppBuilder::new().env("REVEL_TOTALS", "invoice").spawn().await;
    invoice
        .post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let body = finalize_body(&invoice);
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "discount",
            "discount_amount",
            "final_total",
            "opened",
            "printed",
            "remaining_due",
            "subtotal",
            "surcharge",
            "tax"
        ],
        "{body:?}"
    );
    assert_eq!(body["remaining_due"].to_string(), "0.00");
}

#[tokio::test]
async fn two_orders_for_one_event_are_a_loud_failure_not_already_injected() {
    let app = spawn_app().await;
    let order = |id: u64, local_id: &str| {
        json!({"id": id, "uuid": format!("u-{id}"), "local_id": local_id, "establishment": "/enterprise/Establishment/4/",
               "orderhistory": [format!("/resources/OrderHistory/{id}/")], "has_history": true})
    };
    app.fakes.revel.insert("Order", 910, order(910, "Triple Seat 61234567"));
    app.fakes
        .revel
        .insert("Order", 911, order(911, "tripleseat_event_61234567"));
    let answer = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("REVEL_DUPLICATE_ORDER");
    assert_eq!(answer.ok_processed(), (false, false));
    assert_eq!(answer.json["revel_order_ids"], json!(["910", "911"]));
    assert_eq!(app.fakes.revel.write_calls(), 0, "nothing written");
    let emails = app.wait_for_emails(1).await;
    let text = emails[0]["content"][0]["value"].as_str().unwrap();
    assert!(
        text.contains("REVEL_DUPLICATE_ORDER") && text.contains("910, 911"),
        "{text}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("connector_revel_duplicate_orders_total 1"),
        "{metrics}"
    );
}

/// The products of an order's items, in invoice order.
fn item_products(app: &crate::helpers::TestApp, order: &Value) -> Vec<String> {
    let mut items = app.fakes.revel.children("OrderItem", &order["id"]);
    items.sort_by_key(|i| i["temp_sort"].as_u64());
    items
        .iter()
        .map(|i| i["product"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_resume_after_a_catalogue_change_writes_exactly_the_missing_lines() {
    // Partial orders allowed; the catalogue read fresh each run.
    let app = AppBuilder::new()
        .env("ALLOW_PARTIAL_ORDERS", "true")
        .env("CATALOG_TTL_SECS", "0")
        .spawn()
        .await;
    let mut event = paid_event();
    event["documents"][1]["line_items"][1]["display_name"] = json!("Vegan Quiche Platter");
    // Lines 1 and 3 are written, line 4 fails: a partial order of A and C (B is unmatched).
    app.fakes
        .revel
        .plan()
        .fail_after(Some("POST"), "/resources/OrderItem/", 2, Fault::Status(400), 1);
    let body = webhook("UPDATE_EVENT", event.clone());
    app.post_signed(&body).await.assert_reason("REVEL_PARTIAL_ORDER");
    let order = order_of(&app);
    assert_eq!(app.fakes.revel.children("OrderItem", &order["id"]).len(), 2);

    // The catalogue gains the product for line 2; the redelivery resumes the order.
    let quiche = app.fakes.revel.add_product(4, "Vegan Quiche Platter", "18.00");
    app.post_signed(&body).await.assert_reason("REVEL_INJECTED");
    let order = order_of(&app);
    let products = item_products(&app, &order);
    assert_eq!(products.len(), 4, "each line exactly once: {products:?}");
    assert_eq!(products[1], format!("/resources/Product/{quiche}/"));
    let distinct: std::collections::BTreeSet<&String> = products.iter().collect();
    assert_eq!(distinct.len(), 4, "no line written twice: {products:?}");
    assert_eq!(app.fakes.revel.objects("Order")[0]["final_total"].to_string(), "137.70");
}

#[tokio::test]
async fn a_partial_order_is_never_completed_from_an_invoice_that_changed_since() {
    let app = spawn_app().await;
    app.fakes
        .revel
        .plan()
        .fail(Some("POST"), "/resources/Payment/", Fault::Status(400), 1);
    let event = paid_event();
    app.post_signed(&webhook("UPDATE_EVENT", event.clone()))
        .await
        .assert_reason("REVEL_PARTIAL_ORDER");
    let order = order_of(&app);
    let writes_before = app.fakes.revel.write_calls();

    // The invoice gains a line before the redelivery.
    let mut changed = event;
    changed["updated_at"] = json!("05/16/2026 07:00 AM");
    let extra = json!({"id": 8800199, "display_name": "Coffee Carafe", "quantity": 1, "price": "18.00", "total_price": "18.00"});
    changed["documents"][1]["line_items"]
        .as_array_mut()
        .unwrap()
        .push(extra);
    let answer = app.post_signed(&webhook("UPDATE_EVENT", changed)).await;
    answer.assert_reason("REVEL_PARTIAL_ORDER");
    assert_eq!(answer.json["revel_order_id"], json!(order["id"].to_string()));
    assert_eq!(app.fakes.revel.write_calls(), writes_before, "nothing more was written");
    assert_eq!(app.fakes.revel.children("OrderItem", &order["id"]).len(), 4);
    let emails = app.settled_emails().await;
    let last = emails.last().unwrap()["content"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(last.contains("not started from the event's current invoice"), "{last}");
}
