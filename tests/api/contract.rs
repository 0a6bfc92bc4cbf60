//! Whatever arrives, the answer is HTTP 200 with the contract's JSON.

use serde_json::json;

use crate::helpers::{paid_event, spawn_app, webhook, AppBuilder, EVENT_ID, SITE_ID};

#[tokio::test]
async fn bad_bodies_get_a_contract_answer_and_nothing_is_read_or_written() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("empty body", vec![], "application/json", "INVALID_JSON"),
        (
            "bad JSON",
            b"{\"webhook_trigger_type\": ".to_vec(),
            "application/json",
            "INVALID_JSON",
        ),
        ("not UTF-8", vec![0xff, 0xfe, 0x00], "application/json", "INVALID_JSON"),
        (
            "a JSON array",
            b"[1, 2, 3]".to_vec(),
            "application/json",
            "INVALID_PAYLOAD",
        ),
        (
            "a JSON string",
            b"\"hello\"".to_vec(),
            "application/json",
            "INVALID_PAYLOAD",
        ),
        (
            "wrong content type",
            b"webhook_trigger_type=UPDATE_EVENT".to_vec(),
            "application/x-www-form-urlencoded",
            "INVALID_JSON",
        ),
    ];
    for (description, body, content_type, reason) in cases {
        let header = app.sign(&body);
        let answer = app
            .post_raw(
                "/webhook",
                body,
                &[("x-signature", &header), ("content-type", content_type)],
            )
            .await;
        assert_eq!(answer.json["reason"], json!(reason), "{description}: {:#}", answer.json);
        answer.assert_reason(reason);
        assert_eq!(answer.ok_processed(), (false, false), "{description}");
    }
    assert!(app.fakes.tripleseat.plan().requests().is_empty());
    assert_eq!(app.fakes.revel.write_calls(), 0);
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_its_signature_is_checked() {
    let app = AppBuilder::new().env("WEBHOOK_MAX_BYTES", "1024").spawn().await;
    let big = json!({"webhook_trigger_type": "UPDATE_EVENT", "padding": "x".repeat(4096)});
    let answer = app.post_raw("/webhook", big.to_string().into_bytes(), &[]).await;
    answer.assert_reason("PAYLOAD_TOO_LARGE");
    assert_eq!(answer.ok_processed(), (false, false));
    let test_route = app.post_test(&big).await;
    test_route.assert_reason("PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn the_kill_switch_answers_first_and_touches_nothing() {
    let app = AppBuilder::new().env("ENABLE_CONNECTOR", "false").spawn().await;
    let event = webhook("UPDATE_EVENT", paid_event());
    for answer in [
        app.post_signed(&event).await,
        app.post_raw("/webhook", b"not even json".to_vec(), &[]).await,
        app.post_test(&event).await,
    ] {
        answer.assert_reason("CONNECTOR_DISABLED");
        assert_eq!(answer.ok_processed(), (true, false));
    }
    assert!(app.fakes.tripleseat.plan().requests().is_empty());
    assert!(app.fakes.revel.plan().requests().is_empty());
    assert!(app.settled_emails().await.is_empty());
}

#[tokio::test]
async fn triggers_are_required_and_must_be_actionable() {
    let app = spawn_app().await;
    let missing = app.post_signed(&json!({"event": paid_event()})).await;
    missing.assert_reason("MISSING_TRIGGER_TYPE");
    assert_eq!(missing.ok_processed(), (true, false));
    assert_eq!(missing.json["trigger"], json!(null));

    let deleted = app.post_signed(&webhook("DELETE_EVENT", paid_event())).await;
    deleted.assert_reason("TRIGGER_TYPE_NOT_ACTIONABLE");
    assert_eq!(deleted.json["trigger"], json!("DELETE_EVENT"));
    assert_eq!(deleted.ok_processed(), (true, false));

    let via_type = app
        .post_signed(&json!({"type": "UPDATE_EVENT", "event": paid_event()}))
        .await;
    via_type.assert_reason("REVEL_INJECTED");
}

#[tokio::test]
async fn deliveries_without_an_event_or_a_known_site_are_refused() {
    let app = spawn_app().await;
    let no_event = app
        .post_signed(&json!({"webhook_trigger_type": "UPDATE_EVENT", "message": "hi"}))
        .await;
    no_event.assert_reason("NO_EVENT_DATA");
    assert_eq!(no_event.ok_processed(), (false, false));

    // No site in the payload, and the API's copy has none either.
    let mut siteless = paid_event();
    siteless["id"] = json!(999);
    for key in ["site_id", "location", "booking"] {
        siteless.as_object_mut().unwrap().remove(key);
    }
    app.fakes.tripleseat.put_event(siteless.clone());
    let missing_site = app.post_signed(&webhook("UPDATE_EVENT", siteless)).await;
    missing_site.assert_reason("MISSING_SITE_ID");
    assert_eq!(
        app.fakes.tripleseat.event_reads("999"),
        1,
        "the API is asked only when the payload has no site"
    );

    let mut elsewhere = paid_event();
    elsewhere["site_id"] = json!(424242);
    let unknown = app.post_signed(&webhook("UPDATE_EVENT", elsewhere)).await;
    unknown.assert_reason("UNKNOWN_LOCATION");
    assert_eq!(unknown.json["site_id"], json!("424242"));
    assert_eq!(unknown.ok_processed(), (false, false));
}

#[tokio::test]
async fn the_site_is_read_from_the_api_only_when_the_payload_lacks_it() {
    let app = spawn_app().await;
    app.fakes.tripleseat.put_event(paid_event());
    let answer = app
        .post_signed(&json!({"webhook_trigger_type": "STATUS_CHANGE_BOOKING", "booking": {"id": 58765432, "event_ids": [61234567]}}))
        .await;
    answer.assert_reason("REVEL_INJECTED");
    assert_eq!(answer.json["event_id"], json!(EVENT_ID));
    assert_eq!(answer.json["site_id"], json!(SITE_ID));
    assert_eq!(
        app.fakes.tripleseat.event_reads(EVENT_ID),
        1,
        "one read serves both the site and the event"
    );
}

#[tokio::test]
async fn sites_outside_allowed_locations_are_skipped() {
    let app = AppBuilder::new().env("ALLOWED_LOCATIONS", "15902").spawn().await;
    let answer = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("LOCATION_NOT_ALLOWED");
    assert_eq!(answer.ok_processed(), (true, false));
    assert!(app.fakes.revel.plan().requests().is_empty());
}

#[tokio::test]
async fn ids_are_answered_as_strings_whatever_their_json_type() {
    let app = spawn_app().await;
    let mut event = paid_event();
    event["id"] = json!("61234567");
    event["site_id"] = json!(15901);
    let answer = app.post_test(&webhook("UPDATE_EVENT", event)).await;
    answer.assert_reason("DRY_RUN");
    assert_eq!(answer.json["event_id"], json!("61234567"));
    assert_eq!(answer.json["site_id"], json!("15901"));
}

#[tokio::test]
async fn a_blown_deadline_still_gets_a_contract_answer() {
    let app = AppBuilder::new()
        .deadline(std::time::Duration::from_secs(1))
        .spawn()
        .await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes.tripleseat.plan().fail(
        Some("GET"),
        "/v1/events/",
        fakes::Fault::Hang(std::time::Duration::from_secs(5)),
        10,
    );
    let started = std::time::Instant::now();
    let answer = app.post_signed(&crate::helpers::status_change_webhook()).await;
    answer.assert_reason("EVENT_DATA_UNAVAILABLE");
    assert_eq!(answer.json["time_gate"], json!("OPEN"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn anonymous_test_traffic_has_its_own_budget_and_never_takes_the_production_one() {
    let app = spawn_app().await;
    let body = webhook("UPDATE_EVENT", paid_event());
    let flood = futures::future::join_all((0..100).map(|_| app.post_test(&body))).await;
    let limited = flood
        .iter()
        .filter(|a| a.json["reason"] == json!("RATE_LIMITED"))
        .count();
    assert!(limited > 0, "100 at once exceed a burst of 20");
    for answer in flood.iter().filter(|a| a.json["reason"] == json!("RATE_LIMITED")) {
        answer.assert_reason("RATE_LIMITED");
        assert_eq!(answer.ok_processed(), (false, false));
    }
    // /test/revel draws on the same budget: asked until it is spent (bounded), it is
    // refused, however long the flood took to answer on a busy machine.
    let mut probe_limited = false;
    for _ in 0..100 {
        if app.get("/test/revel").await.status().as_u16() == 429 {
            probe_limited = true;
            break;
        }
    }
    assert!(probe_limited, "/test/revel shares the test routes' budget");
    // The signed door is not limited by it.
    app.post_signed(&body).await.assert_reason("REVEL_INJECTED");
    assert!(
        app.settled_emails().await.len() <= 1,
        "no failure email for rate-limited noise"
    );
}
