//! The time gate over real HTTP: the payload's date first, else the API's.

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::helpers::{paid_event, spawn_app, status_change_webhook, webhook, AppBuilder, EVENT_ID};

#[tokio::test]
async fn the_gate_opens_only_on_the_event_day_in_the_sites_zone() {
    let app = spawn_app().await;
    let cases = [
        // 06:59 UTC on the 16th is still the 15th in Las Vegas.
        (
            "the evening before, local time",
            Utc.with_ymd_and_hms(2026, 5, 16, 6, 59, 0).unwrap(),
            "TIME_GATE_CLOSED_TOO_EARLY",
        ),
        (
            "the day after",
            Utc.with_ymd_and_hms(2026, 5, 17, 18, 0, 0).unwrap(),
            "TIME_GATE_CLOSED_EVENT_DAY_PASSED",
        ),
    ];
    for (description, now, reason) in cases {
        app.set_now(now);
        let mut event = paid_event();
        event["updated_at"] = json!(description);
        let answer = app.post_signed(&webhook("UPDATE_EVENT", event)).await;
        assert_eq!(answer.json["reason"], json!(reason), "{description}");
        answer.assert_reason(reason);
        assert_eq!(answer.json["time_gate"], json!("CLOSED"));
        assert_eq!(answer.ok_processed(), (true, false));
    }
    assert_eq!(
        app.fakes.tripleseat.event_reads(EVENT_ID),
        0,
        "a closed gate reads nothing"
    );
    assert!(app.fakes.revel.plan().requests().is_empty());
}

#[tokio::test]
async fn the_injection_window_is_site_local() {
    let app = AppBuilder::new()
        .env("INJECTION_WINDOW", "12:00-22:00")
        .now(Utc.with_ymd_and_hms(2026, 5, 16, 18, 0, 0).unwrap()) // 11:00 local
        .spawn()
        .await;
    let early = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    early.assert_reason("TIME_GATE_CLOSED_OUTSIDE_WINDOW");
    app.set_now(Utc.with_ymd_and_hms(2026, 5, 16, 19, 30, 0).unwrap()); // 12:30 local
    let mut later = paid_event();
    later["updated_at"] = json!("05/16/2026 12:29 PM");
    app.post_signed(&webhook("UPDATE_EVENT", later))
        .await
        .assert_reason("REVEL_INJECTED");
}

#[tokio::test]
async fn unreadable_or_missing_dates_close_the_gate_as_failures() {
    let app = spawn_app().await;
    let mut bad = paid_event();
    bad["event_date"] = json!("16.05.2026");
    let answer = app.post_signed(&webhook("UPDATE_EVENT", bad)).await;
    answer.assert_reason("TIME_GATE_CLOSED_INVALID_DATE_FORMAT");
    assert_eq!(answer.ok_processed(), (false, false));

    let mut undated = paid_event();
    for field in ["event_date", "event_date_iso8601"] {
        undated.as_object_mut().unwrap().remove(field);
    }
    app.fakes.tripleseat.put_event(undated.clone());
    let answer = app.post_signed(&webhook("UPDATE_EVENT", undated)).await;
    answer.assert_reason("TIME_GATE_CLOSED_MISSING_DATA");
    assert_eq!(answer.ok_processed(), (false, false));
    assert_eq!(
        app.fakes.tripleseat.event_reads(EVENT_ID),
        1,
        "the API was asked for the date first"
    );
}

#[tokio::test]
async fn without_a_payload_date_the_gate_runs_on_the_apis_date() {
    let app = AppBuilder::new()
        .now(Utc.with_ymd_and_hms(2026, 5, 10, 18, 0, 0).unwrap())
        .spawn()
        .await;
    app.fakes.tripleseat.put_event(paid_event());
    let answer = app
        .post_signed(&json!({"webhook_trigger_type": "CREATE_BOOKING", "booking": {"id": 58765432, "event_ids": [61234567], "site_id": 15901}}))
        .await;
    answer.assert_reason("TIME_GATE_CLOSED_TOO_EARLY");
    assert_eq!(answer.json["time_gate"], json!("CLOSED"));
    assert_eq!(app.fakes.tripleseat.event_reads(EVENT_ID), 1);
}

#[tokio::test]
async fn iso_dates_in_the_payload_are_gated_too() {
    let app = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    let mut event = paid_event();
    event.as_object_mut().unwrap().remove("event_date");
    event["event_date_iso8601"] = json!("2026-05-16");
    app.post_signed(&webhook("UPDATE_EVENT", event.clone()))
        .await
        .assert_reason("DRY_RUN");
    event["event_date_iso8601"] = json!("2026-05-16T10:00:00-07:00");
    app.post_signed(&webhook("UPDATE_EVENT", event))
        .await
        .assert_reason("DRY_RUN");
    let _ = status_change_webhook();
}
