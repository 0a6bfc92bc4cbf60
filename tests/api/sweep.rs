//! The due-day sweep: an event answered too early by its webhook is injected on
//! its day, once, across restarts, under the same guards.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use fakes::Fault;
use serde_json::json;

use crate::helpers::{paid_event, paid_event_with_id, webhook, AppBuilder, EVENT_ID};

fn day_before() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 15, 18, 0, 0).unwrap()
}

fn event_day() -> chrono::DateTime<Utc> {
    crate::helpers::event_day_morning()
}

#[tokio::test]
async fn an_event_answered_too_early_is_injected_by_the_sweep_on_its_day_once() {
    let app = AppBuilder::new().now(day_before()).spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("TIME_GATE_CLOSED_TOO_EARLY");
    let yesterday = app.sweeper.run_once().await;
    assert_eq!(yesterday.searched, 0, "nothing is due on the 15th");

    app.set_now(event_day());
    let today = app.sweeper.run_once().await;
    assert_eq!((today.searched, today.injected), (1, 1), "{today:?}");
    assert_eq!(app.orders().len(), 1);
    let again = app.sweeper.run_once().await;
    assert_eq!((again.injected, again.already_injected), (0, 1), "{again:?}");
    assert_eq!(app.orders().len(), 1);
    let emails = app.wait_for_emails(1).await;
    assert!(emails[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("Triple Seat Event Injected"));

    let searches = app.fakes.tripleseat.searches();
    let search = searches
        .iter()
        .find(|s| s.query.contains("site_id=15901") && s.query.contains("05%2F16"))
        .unwrap();
    for part in [
        "event_start_date=05%2F16%2F2026",
        "event_end_date=05%2F16%2F2026",
        "site_id=15901",
        "show_financial=true",
        "status=definite%2Cclosed",
        "page=1",
    ] {
        assert!(search.query.contains(part), "{part} missing from {}", search.query);
    }
}

#[tokio::test]
async fn a_restart_changes_nothing() {
    let first = AppBuilder::new().spawn().await;
    first.fakes.tripleseat.put_event(paid_event());
    assert_eq!(first.sweeper.run_once().await.injected, 1);
    let fakes = first.fakes.clone();
    first.stop().await;
    let second = AppBuilder::new().fakes(&fakes).spawn().await;
    let summary = second.sweeper.run_once().await;
    assert_eq!((summary.injected, summary.already_injected), (0, 1));
    assert_eq!(second.orders().len(), 1);
}

#[tokio::test]
async fn every_page_is_read_and_other_statuses_are_filtered_out() {
    let app = AppBuilder::new().spawn().await;
    app.fakes.tripleseat.set_page_size(2);
    for id in 1..=5 {
        app.fakes.tripleseat.put_event(paid_event_with_id(id));
    }
    let mut lost = paid_event_with_id(6);
    lost["status"] = json!("LOST");
    app.fakes.tripleseat.put_event(lost);
    let mut elsewhere = paid_event_with_id(7);
    elsewhere["site_id"] = json!(15902);
    app.fakes.tripleseat.put_event(elsewhere);
    let summary = app.sweeper.run_once().await;
    assert_eq!(summary.searched, 7, "{summary:?}");
    // Event 7 is at the New York site, where it is 14:00 on the 16th: due there too.
    assert_eq!(summary.injected, 6, "{summary:?}");
    assert_eq!(summary.skipped.get("STATUS_FILTERED"), Some(&1));
    assert_eq!(app.orders().len(), 6);
    assert_eq!(
        app.orders()
            .iter()
            .filter(|o| o["establishment"] == json!("/enterprise/Establishment/7/"))
            .count(),
        1
    );
    assert_eq!(
        app.fakes
            .tripleseat
            .searches()
            .iter()
            .filter(|s| s.query.contains("site_id=15901"))
            .count(),
        3
    );
}

#[tokio::test]
async fn allowed_locations_the_kill_switch_and_dry_run_are_honoured() {
    let restricted = AppBuilder::new().env("ALLOWED_LOCATIONS", "15902").spawn().await;
    restricted.fakes.tripleseat.put_event(paid_event());
    restricted.sweeper.run_once().await;
    assert!(restricted
        .fakes
        .tripleseat
        .searches()
        .iter()
        .all(|s| s.query.contains("site_id=15902")));
    assert!(restricted.orders().is_empty());

    let off = AppBuilder::new().env("ENABLE_CONNECTOR", "false").spawn().await;
    off.fakes.tripleseat.put_event(paid_event());
    off.sweeper.run_once().await;
    assert!(off.fakes.tripleseat.plan().requests().is_empty());

    let dry = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    dry.fakes.tripleseat.put_event(paid_event());
    let summary = dry.sweeper.run_once().await;
    assert_eq!(summary.injected, 1, "counted as would-inject");
    assert_eq!(dry.fakes.revel.write_calls(), 0);
    assert!(dry.settled_emails().await.is_empty());
}

#[tokio::test]
async fn a_webhook_and_a_sweep_at_the_same_moment_give_one_order() {
    let app = AppBuilder::new().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    let body = webhook("UPDATE_EVENT", paid_event());
    let (answer, summary) = tokio::join!(app.post_signed(&body), app.sweeper.run_once());
    let reason = answer.json["reason"].as_str().unwrap().to_string();
    assert!(reason == "REVEL_INJECTED" || reason == "ALREADY_INJECTED", "{reason}");
    assert_eq!(summary.injected + summary.already_injected, 1);
    assert_eq!(app.orders().len(), 1);
    assert_eq!(app.fakes.revel.children("OrderItem", &app.orders()[0]["id"]).len(), 4);
}

#[tokio::test]
async fn the_scheduler_runs_shortly_after_startup_and_then_on_its_interval() {
    let app = AppBuilder::new().sweep_every(Duration::from_millis(200)).spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    let started = std::time::Instant::now();
    let mut searches = 0;
    for _ in 0..120 {
        searches = app.fakes.tripleseat.searches().len();
        if searches >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Two sites a run: one run shortly after startup, then one every 200 ms.
    assert!(searches >= 6, "{searches} searches after {:?}", started.elapsed());
    assert_eq!(app.orders().len(), 1);
}

#[tokio::test]
async fn a_tripleseat_outage_is_counted_and_does_not_stop_other_sites() {
    let app = AppBuilder::new().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes
        .tripleseat
        .plan()
        .fail(Some("GET"), "/v1/events/search.json", Fault::Status(503), 3);
    let summary = app.sweeper.run_once().await;
    assert_eq!(summary.search_failures, 1, "{summary:?}");
    let summary = app.sweeper.run_once().await;
    assert_eq!(summary.injected, 1, "the next run catches up: {summary:?}");
    let _ = EVENT_ID;
}

#[tokio::test]
async fn shutdown_during_a_sweep_lets_the_event_in_hand_finish() {
    let app = AppBuilder::new().sweep_every(Duration::from_secs(3600)).spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes.revel.plan().fail(
        Some("POST"),
        "/resources/Order/",
        Fault::Hang(Duration::from_millis(400)),
        1,
    );
    for _ in 0..100 {
        if app.fakes.revel.plan().count("POST", "/resources/Order/") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fakes = app.fakes.clone();
    app.stop().await;
    let orders = fakes.revel.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(fakes.revel.children("OrderItem", &orders[0]["id"]).len(), 4);
    assert_eq!(
        fakes.revel.children("OrderHistory", &orders[0]["id"]).len(),
        1,
        "the write ran to its end"
    );
}

#[tokio::test]
async fn a_failing_event_is_reported_once_a_day_not_on_every_run() {
    let app = AppBuilder::new().spawn().await;
    let mut event = paid_event();
    event["documents"][1]["line_items"][0]["display_name"] = json!("Lobster Thermidor");
    app.fakes.tripleseat.put_event(event);
    for _ in 0..3 {
        let summary = app.sweeper.run_once().await;
        assert_eq!(summary.failed, 1, "{summary:?}");
    }
    let emails = app.settled_emails().await;
    assert_eq!(
        emails.len(),
        1,
        "one failure email for three runs: {:#?}",
        emails
            .iter()
            .map(|e| (e["subject"].clone(), e["custom_args"].clone()))
            .collect::<Vec<_>>()
    );
    assert!(emails[0]["subject"].as_str().unwrap().starts_with("FAILED"));
    app.set_now(event_day() + chrono::Duration::hours(24));
    let mut next_day = paid_event();
    next_day["event_date"] = json!("05/17/2026");
    next_day["documents"][1]["line_items"][0]["display_name"] = json!("Lobster Thermidor");
    app.fakes.tripleseat.put_event(next_day);
    app.sweeper.run_once().await;
    assert_eq!(app.settled_emails().await.len(), 2, "a new day reports it again");
}

#[tokio::test]
async fn a_search_that_ignores_its_site_filter_never_writes_another_sites_event_here() {
    let app = AppBuilder::new().spawn().await;
    app.fakes.tripleseat.ignore_site_filter();
    app.fakes.tripleseat.put_event(paid_event());
    let mut downtown = paid_event_with_id(72);
    downtown["site_id"] = json!(15902);
    app.fakes.tripleseat.put_event(downtown);
    let summary = app.sweeper.run_once().await;
    assert_eq!(summary.injected, 2, "each event once, at its own site: {summary:?}");
    assert_eq!(summary.skipped.get("OTHER_SITE"), Some(&2), "{summary:?}");
    let orders = app.orders();
    assert_eq!(orders.len(), 2);
    let at = |local_id: &str| {
        orders
            .iter()
            .find(|o| o["local_id"] == json!(local_id))
            .map(|o| o["establishment"].to_string())
    };
    assert!(
        at("Triple Seat 61234567").unwrap().contains("Establishment/4/"),
        "{orders:#?}"
    );
    assert!(
        at("Triple Seat 72").unwrap().contains("Establishment/7/"),
        "{orders:#?}"
    );
}
