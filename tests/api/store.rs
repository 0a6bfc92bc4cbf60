//! Durable state (SPEC 17): what survives a restart, a crash and a second instance,
//! on SQLite everywhere and on a real PostgreSQL server where one is installed.

use std::time::Duration;

use connector::store::journal::{JournalEntry, JournalQuery};
use fakes::Fault;
use serde_json::{json, Value};

use crate::binary::{
    connector_command, deliver_in_background, due_today, post, start_binary, upstream_env, wait_for_request, Secrets,
};
use crate::helpers::{paid_event, paid_event_with_id, start_fakes, webhook, AppBuilder, TestApp, TestStore};
use crate::postgres::{Postgres, PASSWORD};

/// Journal rows matching `query`, once at least `count` have been written (the writer
/// is asynchronous), waiting at most ten seconds.
async fn journal_matching(app: &TestApp, query: &JournalQuery, count: usize) -> Vec<JournalEntry> {
    for _ in 0..200 {
        let rows = app.services.store.journal(query).await.unwrap();
        if rows.len() >= count {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} journal rows for {query:?}");
}

/// Every journal row, once at least `count` have been written.
async fn journal_rows(app: &TestApp, count: usize) -> Vec<JournalEntry> {
    let query = JournalQuery {
        limit: 100,
        ..JournalQuery::default()
    };
    journal_matching(app, &query, count).await
}

/// Runs the binary on `url` until it exits (these tests expect it to stop at startup).
async fn run_on_database(url: &str) -> std::process::Output {
    let running = connector_command()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATABASE_URL", url)
        .output();
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the binary stops at startup")
        .unwrap()
}

/// Orders for one event id, and whether each is complete (its history was written).
fn orders_of(app: &TestApp, event_id: u64) -> Vec<Value> {
    let local_id = format!("Triple Seat {event_id}");
    app.orders()
        .into_iter()
        .filter(|o| o["local_id"] == json!(local_id))
        .collect()
}

#[tokio::test]
async fn a_settled_delivery_redelivered_after_a_restart_is_a_duplicate() {
    let first = AppBuilder::new().spawn().await;
    let delivery = webhook("UPDATE_EVENT", paid_event());
    first.post_signed(&delivery).await.assert_reason("REVEL_INJECTED");
    let (fakes, store) = (first.fakes.clone(), first.store.clone());
    first.stop().await;

    let second = AppBuilder::new().fakes(&fakes).store(&store).spawn().await;
    let reads_before = second.fakes.revel.plan().requests().len();
    second.post_signed(&delivery).await.assert_reason("DUPLICATE_DELIVERY");
    assert_eq!(
        second.fakes.revel.plan().requests().len(),
        reads_before,
        "answered from the store, without asking Revel"
    );
    assert_eq!(second.orders().len(), 1);
}

#[tokio::test]
async fn every_run_is_journalled_without_bodies_or_secrets() {
    let app = AppBuilder::new().spawn().await;
    let injected = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    injected.assert_reason("REVEL_INJECTED");
    app.post_signed(&webhook("DELETE_EVENT", paid_event()))
        .await
        .assert_reason("TRIGGER_TYPE_NOT_ACTIONABLE");
    app.post_test(&webhook("UPDATE_EVENT", paid_event_with_id(42)))
        .await
        .assert_reason("DRY_RUN");
    app.fakes.tripleseat.put_event(paid_event_with_id(43));
    app.sweeper.run_once().await;

    let rows = journal_rows(&app, 4).await;
    let find = |source: &str, reason: &str| {
        rows.iter()
            .find(|r| r.source == source && r.reason == reason)
            .unwrap_or_else(|| panic!("no {source} row for {reason}: {rows:#?}"))
    };
    let row = find("webhook", "REVEL_INJECTED");
    assert_eq!(row.correlation_id, injected.json["correlation_id"].as_str().unwrap());
    assert_eq!(row.event_id.as_deref(), Some("61234567"));
    assert_eq!(row.site_id.as_deref(), Some("15901"));
    assert_eq!(row.trigger.as_deref(), Some("UPDATE_EVENT"));
    assert_eq!(row.revel_order_id.as_deref(), injected.json["revel_order_id"].as_str());
    assert!(row.ok && row.processed && !row.dry_run);
    assert_eq!(row.instance_id, app.services.store.instance_id());
    assert!(find("webhook", "TRIGGER_TYPE_NOT_ACTIONABLE").ok);
    assert!(find("test_webhook", "DRY_RUN").dry_run);
    assert_eq!(find("sweep", "REVEL_INJECTED").event_id.as_deref(), Some("43"));

    let everything = format!("{rows:?}");
    assert!(!everything.contains(crate::helpers::SIGNING_KEY));
    assert!(!everything.contains("Glazed Classic"), "no bodies in the journal");

    let filtered = app
        .services
        .store
        .journal(&JournalQuery {
            event_id: Some("43".into()),
            limit: 10,
            ..JournalQuery::default()
        })
        .await
        .unwrap();
    assert!(filtered.iter().all(|r| r.event_id.as_deref() == Some("43")) && !filtered.is_empty());
}

#[tokio::test]
async fn an_email_that_could_not_be_sent_goes_out_from_the_next_start() {
    let first = AppBuilder::new().spawn().await;
    first
        .fakes
        .sendgrid
        .plan()
        .fail(Some("POST"), "/v3/mail/send", Fault::Status(503), 1_000);
    first
        .post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    for _ in 0..100 {
        if first.fakes.sendgrid.plan().count("POST", "/v3/mail/send") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pending = first.services.store.outbox_counts().await.unwrap();
    assert_eq!(pending.pending, 1, "stored and still pending while SendGrid fails");
    let (fakes, store) = (first.fakes.clone(), first.store.clone());
    first.stop().await;

    fakes.sendgrid.plan().heal();
    let second = AppBuilder::new().fakes(&fakes).store(&store).spawn().await;
    let messages = second.wait_for_emails(1).await;
    assert!(messages[0]["subject"].as_str().unwrap().contains("61234567"));
    for _ in 0..100 {
        if second.services.store.outbox_counts().await.unwrap().pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(second.services.store.outbox_counts().await.unwrap().pending, 0);
}

#[tokio::test]
async fn an_email_is_given_up_after_its_attempts_and_stays_visible() {
    let app = AppBuilder::new().env("EMAIL_MAX_ATTEMPTS", "3").spawn().await;
    app.fakes
        .sendgrid
        .plan()
        .fail(Some("POST"), "/v3/mail/send", Fault::Status(500), 1_000);
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let mut counts = Default::default();
    for _ in 0..200 {
        counts = app.services.store.outbox_counts().await.unwrap();
        if counts.failed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((counts.pending, counts.failed), (0, 1));
    assert_eq!(app.fakes.sendgrid.plan().count("POST", "/v3/mail/send"), 3);
    let failed = app.services.store.failed_emails(10).await.unwrap();
    assert_eq!(failed[0].attempts, 3);
    assert!(failed[0].last_error.as_deref().unwrap().contains("500"));
}

#[tokio::test]
async fn a_database_from_a_newer_build_stops_startup() {
    let store = TestStore::new();
    let app = AppBuilder::new().store(&store).spawn().await;
    let url = store.url();
    app.stop().await;
    {
        use sqlx::Connection;
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', 1, x'00', 0)",
        )
        .execute(&mut db)
        .await
        .unwrap();
    }
    let output = run_on_database(&url).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL") && stderr.contains("999"), "{stderr}");
}

#[tokio::test]
async fn a_kill_during_a_slow_revel_write_then_a_redelivery_yields_one_complete_order() {
    let fakes = start_fakes().await;
    let store = TestStore::new();
    let secrets = Secrets::named("crash");
    let mut env = upstream_env(&fakes, &secrets);
    env.push(("DATABASE_URL", store.url()));
    let running = start_binary(&env).await;
    // The order is stored, then its second item hangs: the kill lands mid-write.
    fakes.revel.plan().fail(
        Some("POST"),
        "/resources/OrderItem/",
        Fault::Hang(Duration::from_secs(60)),
        1,
    );
    let body = webhook("UPDATE_EVENT", due_today(8101));
    let in_flight = deliver_in_background(running.port, &secrets, body.clone());
    wait_for_request(fakes.revel.plan(), "POST", "/resources/OrderItem/").await;
    running.kill().await;
    in_flight.abort();
    fakes.revel.plan().heal();

    let restarted = start_binary(&env).await;
    let answer = post(restarted.port, &body, Some(secrets.sign(&body))).await;
    assert_eq!(answer["reason"], json!("REVEL_INJECTED"), "{answer:#}");
    let orders: Vec<Value> = fakes
        .revel
        .orders()
        .into_iter()
        .filter(|o| o["local_id"] == json!("Triple Seat 8101"))
        .collect();
    assert_eq!(orders.len(), 1, "one order: the started one was completed");
    assert_eq!(fakes.revel.children("OrderItem", &orders[0]["id"]).len(), 4);
    assert_eq!(fakes.revel.children("OrderHistory", &orders[0]["id"]).len(), 1);
    assert_eq!(
        post(restarted.port, &body, Some(secrets.sign(&body))).await["reason"],
        json!("DUPLICATE_DELIVERY")
    );
}

#[tokio::test]
async fn an_email_queued_before_a_kill_arrives_after_the_restart() {
    let fakes = start_fakes().await;
    let store = TestStore::new();
    let secrets = Secrets::named("mail");
    let mut env = upstream_env(&fakes, &secrets);
    env.push(("DATABASE_URL", store.url()));
    fakes
        .sendgrid
        .plan()
        .fail(Some("POST"), "/v3/mail/send", Fault::Status(503), 1_000);
    let running = start_binary(&env).await;
    let body = webhook("UPDATE_EVENT", due_today(8201));
    assert_eq!(
        post(running.port, &body, Some(secrets.sign(&body))).await["reason"],
        json!("REVEL_INJECTED")
    );
    wait_for_request(fakes.sendgrid.plan(), "POST", "/v3/mail/send").await;
    // Kill once the refusal is on record (not mid-attempt, whose claim would hold it longer).
    let outbox = store.url();
    for _ in 0..250 {
        if sendgrid_refusal_recorded(&outbox).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.kill().await;
    assert!(
        fakes.sendgrid.messages().is_empty(),
        "SendGrid refused it before the kill"
    );
    fakes.sendgrid.plan().heal();

    let _restarted = start_binary(&env).await;
    // The first retry waits its backoff (5 s after one attempt).
    for _ in 0..300 {
        if !fakes.sendgrid.messages().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = fakes.sendgrid.messages();
    assert_eq!(messages.len(), 1, "the queued email was sent once, after the restart");
    assert!(messages[0]["subject"].as_str().unwrap().contains("8201"));
}

/// Whether the outbox row shows a failed attempt that nobody is working on.
async fn sendgrid_refusal_recorded(url: &str) -> bool {
    use sqlx::{Connection, Row};
    let Ok(mut db) = sqlx::SqliteConnection::connect(url).await else {
        return false;
    };
    let row = sqlx::query("SELECT attempts, claimed_until_ms, last_error FROM outbox")
        .fetch_optional(&mut db)
        .await
        .ok()
        .flatten();
    row.is_some_and(|r| {
        r.get::<i64, _>("attempts") >= 1
            && r.get::<i64, _>("claimed_until_ms") == 0
            && r.get::<Option<String>, _>("last_error").is_some()
    })
}

#[tokio::test]
async fn a_bad_database_url_stops_startup_naming_it_without_the_password() {
    let mut cases = vec![
        (
            "mysql://connector:hunter2-secret@127.0.0.1/db".to_string(),
            "hunter2-secret",
        ),
        // Nothing listens on port 9 of loopback.
        (
            "postgres://connector:hunter2-secret@127.0.0.1:9/db".to_string(),
            "hunter2-secret",
        ),
    ];
    let postgres = Postgres::start().await;
    if let Some(pg) = &postgres {
        cases.push((
            format!("postgres://postgres:wrong-{PASSWORD}@127.0.0.1:{}/postgres", pg.port),
            "wrong-",
        ));
    }
    for (url, secret) in cases {
        let output = run_on_database(&url).await;
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "{url} should stop startup");
        assert!(all.contains("DATABASE_URL"), "{url}: {all}");
        assert!(!all.contains(secret), "the password leaked: {all}");
    }
}

/// Two apps (instances) on one PostgreSQL database, sharing the fake upstreams.
async fn two_instances(pg: &Postgres, database: &str) -> (TestApp, TestApp) {
    let url = pg.database(database).await;
    let first = AppBuilder::new().env("DATABASE_URL", &url).spawn().await;
    let second = AppBuilder::new()
        .env("DATABASE_URL", &url)
        .fakes(&first.fakes)
        .spawn()
        .await;
    (first, second)
}

#[tokio::test]
async fn two_instances_on_one_database_write_each_event_exactly_once() {
    let Some(pg) = Postgres::start().await else { return };
    let (a, b) = two_instances(&pg, "two_instances").await;
    for round in 0..20u64 {
        let id = 9_000 + round;
        let event = paid_event_with_id(id);
        let (update, status_change, updated) = (
            webhook("UPDATE_EVENT", event.clone()),
            webhook("STATUS_CHANGE_EVENT", event.clone()),
            webhook("EVENT_UPDATED", event),
        );
        let (same_a, same_b, other_a, other_b) = tokio::join!(
            a.post_signed(&update),
            b.post_signed(&update),
            a.post_signed(&status_change),
            b.post_signed(&updated),
        );
        let reasons: Vec<&str> = [&same_a, &same_b, &other_a, &other_b]
            .iter()
            .map(|answer| answer.json["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons.iter().filter(|r| **r == "REVEL_INJECTED").count(),
            1,
            "round {round}: {reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .all(|r| ["REVEL_INJECTED", "ALREADY_INJECTED", "DUPLICATE_DELIVERY"].contains(r)),
            "round {round}: {reasons:?}"
        );
        let orders = orders_of(&a, id);
        assert_eq!(orders.len(), 1, "round {round}: one order");
        assert_eq!(a.fakes.revel.children("OrderItem", &orders[0]["id"]).len(), 4);
    }
    // A settled key is shared: a redelivery to either instance, or to a new one, is a duplicate.
    let third = AppBuilder::new()
        .env("DATABASE_URL", &pg.url("two_instances"))
        .fakes(&a.fakes)
        .spawn()
        .await;
    third
        .post_signed(&webhook("UPDATE_EVENT", paid_event_with_id(9_000)))
        .await
        .assert_reason("DUPLICATE_DELIVERY");
}

#[tokio::test]
async fn two_instances_sweeping_at_once_write_one_order_per_due_event() {
    let Some(pg) = Postgres::start().await else { return };
    let (a, b) = two_instances(&pg, "two_sweeps").await;
    for id in 1..=5 {
        a.fakes.tripleseat.put_event(paid_event_with_id(id));
    }
    let (first, second) = tokio::join!(a.sweeper.run_once(), b.sweeper.run_once());
    assert_eq!(first.injected + second.injected, 5, "{first:?} {second:?}");
    assert_eq!(a.orders().len(), 5);
    // Whichever ran, a later pass by the other finds every order there.
    let again = b.sweeper.run_once().await;
    assert_eq!((again.injected, again.already_injected), (0, 5));
    assert_eq!(a.orders().len(), 5);
    let last = a.services.store.last_sweep_run().await.unwrap().unwrap();
    assert_eq!(last.already_injected, 5);
}

#[tokio::test]
async fn with_postgres_down_nothing_is_written_and_the_sweep_recovers_once_it_is_back() {
    let Some(mut pg) = Postgres::start().await else { return };
    let url = pg.database("outage").await;
    let app = AppBuilder::new().env("DATABASE_URL", &url).spawn().await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["store"], json!("ok"));

    pg.stop();
    let writes_before = app.fakes.revel.write_calls();
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("STORE_UNAVAILABLE");
    // Cheap answers need no store at all.
    app.post_signed(&webhook("DELETE_EVENT", paid_event()))
        .await
        .assert_reason("TRIGGER_TYPE_NOT_ACTIONABLE");
    assert_eq!(app.fakes.revel.write_calls(), writes_before, "nothing reached Revel");
    app.health_showing("store", json!("unavailable")).await;
    app.fakes.tripleseat.put_event(paid_event());
    let during = app.sweeper.run_once().await;
    assert!(during.store_unavailable && during.injected == 0, "{during:?}");
    assert!(app.orders().is_empty());

    pg.resume().await;
    let after = app.sweeper.run_once().await;
    assert_eq!(after.injected, 1, "{after:?}");
    assert_eq!(app.orders().len(), 1);
    app.health_showing("store", json!("ok")).await;
    // The journal's filters work on PostgreSQL too.
    let query = JournalQuery {
        event_id: Some("61234567".into()),
        reason: Some("REVEL_INJECTED".into()),
        limit: 10,
        ..JournalQuery::default()
    };
    let rows = journal_matching(&app, &query, 1).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].source, "sweep");
    // The outage's own answers reach the journal once the store is back.
    let outage = JournalQuery {
        reason: Some("STORE_UNAVAILABLE".into()),
        limit: 10,
        ..JournalQuery::default()
    };
    let kept = journal_matching(&app, &outage, 1).await;
    assert_eq!(
        kept.len(),
        1,
        "the STORE_UNAVAILABLE answer was journalled after the outage"
    );
}

#[tokio::test]
async fn sendgrids_own_error_is_kept_with_the_given_up_email() {
    let app = AppBuilder::new().spawn().await;
    let refusal = json!({"errors": [{
        "message": "The from address does not match a verified Sender Identity.",
        "field": "from",
        "help": null
    }]});
    app.fakes
        .sendgrid
        .plan()
        .fail(Some("POST"), "/v3/mail/send", Fault::Json(403, refusal), 1);
    app.post_signed(&webhook("UPDATE_EVENT", paid_event()))
        .await
        .assert_reason("REVEL_INJECTED");
    let mut failed = Vec::new();
    for _ in 0..250 {
        failed = app.services.store.failed_emails(10).await.unwrap();
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let error = failed[0].last_error.clone().unwrap();
    assert!(
        error.contains("HTTP 403") && error.contains("verified Sender Identity") && error.contains("field from"),
        "{error}"
    );
    assert!(!error.contains(fakes::sendgrid::API_KEY));
    assert_eq!(failed[0].attempts, 1, "a refusal is final");
}

/// A batch of rows as odd as real ones get: every optional column both empty and
/// set, text with quotes, backslashes and non-ASCII, both truth values, large times.
fn odd_entries() -> Vec<JournalEntry> {
    (0..300)
        .map(|n: i64| {
            let odd = n % 2 == 1;
            let text = |s: &str| odd.then(|| format!("{s} \"{n}\" \\ é ✓ {{}}[]"));
            JournalEntry {
                at_ms: 1_796_000_000_000 + n,
                correlation_id: format!("req-{n:08x}"),
                source: "webhook".into(),
                instance_id: "instance ü".into(),
                trigger: text("UPDATE_EVENT"),
                event_id: text("id"),
                site_id: text("site"),
                reason: format!("REASON_{n}"),
                ok: odd,
                processed: n % 3 == 0,
                dry_run: n % 5 == 0,
                revel_order_id: text("order"),
                duration_ms: i64::from(i32::MAX) + n,
                signature_form: text("timestamped"),
                signature_shape: text("t=10, v1=64"),
                answered_reason: text("REVEL_WRITE_FAILED"),
            }
        })
        .collect()
}

/// Each filter, alone and together, reads what filtering the rows by hand keeps,
/// newest first and no more than the limit. Adds rows of two events (and of none),
/// interleaved in time, to those `written` before.
async fn journal_filters_as_asked(store: &connector::store::Store, written: &[JournalEntry]) {
    let events = [Some("15".to_string()), Some("16".to_string()), None];
    let more: Vec<JournalEntry> = (0..90)
        .map(|n: usize| JournalEntry {
            at_ms: 1_797_000_000_000 + n as i64,
            correlation_id: format!("req-more-{n}"),
            event_id: events[n % 3].clone(),
            reason: ["TIME_GATE_CLOSED_TOO_EARLY", "REVEL_INJECTED"][n / 3 % 2].to_string(),
            ..written[0].clone()
        })
        .collect();
    store.write_batch(&more, &[]).await.unwrap();
    let all: Vec<&JournalEntry> = written.iter().chain(&more).collect();
    let event = |id: &str| Some(id.to_string());
    let reason = |r: &str| Some(r.to_string());
    let queries = [
        (event("15"), None, None, 500),
        (event("16"), reason("REVEL_INJECTED"), None, 500),
        (
            event("15"),
            reason("TIME_GATE_CLOSED_TOO_EARLY"),
            Some(more[40].at_ms),
            500,
        ),
        (event("15"), None, None, 4),
        (event("no such event"), None, None, 500),
        (written[1].event_id.clone(), None, None, 500),
        (None, reason("REVEL_INJECTED"), None, 500),
        (None, reason(&written[7].reason), None, 500),
        (None, None, Some(written[250].at_ms), 500),
        (None, None, None, 3),
    ];
    for (event_id, reason, since_ms, limit) in queries {
        let mut expected: Vec<&JournalEntry> = all
            .iter()
            .copied()
            .filter(|e| event_id.is_none() || e.event_id == event_id)
            .filter(|e| reason.as_ref().is_none_or(|r| &e.reason == r))
            .filter(|e| e.at_ms >= since_ms.unwrap_or(0))
            .collect();
        expected.reverse();
        expected.truncate(limit as usize);
        let query = JournalQuery {
            event_id,
            reason,
            since_ms,
            limit,
        };
        let read = store.journal(&query).await.unwrap();
        assert!(!expected.is_empty() || query.event_id.as_deref() == Some("no such event"));
        assert_eq!(read.iter().collect::<Vec<_>>(), expected, "{query:?}");
    }
}

/// One batch's rows come back exactly as written, and keys settled twice in a batch,
/// or again in a later one, keep their last expiry.
async fn batches_round_trip(store: &connector::store::Store) {
    use connector::idempotency::DeliveryKey;
    let written = odd_entries();
    let key = |n: u32| DeliveryKey::new("UPDATE_EVENT", &n.to_string(), "2026-12-02T10:00:00Z");
    let far = connector::store::now_ms() + 3_600_000;
    let keys: Vec<(DeliveryKey, i64)> = (0..40).map(|n| (key(n % 20), far)).collect();
    store.write_batch(&written, &keys).await.unwrap();
    store.write_batch(&[], &[(key(0), 1), (key(1), far)]).await.unwrap();
    let query = JournalQuery {
        limit: 500,
        ..JournalQuery::default()
    };
    let mut read = store.journal(&query).await.unwrap();
    read.sort_by_key(|e| e.at_ms);
    assert_eq!(read, written);
    journal_filters_as_asked(store, &written).await;
    assert!(
        !store.is_key_settled(&key(0)).await.unwrap(),
        "its last settlement expired long ago"
    );
    for n in 1..20 {
        assert!(store.is_key_settled(&key(n)).await.unwrap(), "key {n}");
    }
    assert!(!store.is_key_settled(&key(20)).await.unwrap());
    // Many asked at once are looked up together, each answered for itself.
    let keys: Vec<DeliveryKey> = (0..600).map(|n| key(n % 40)).collect();
    let answers = futures::future::join_all(keys.iter().map(|k| store.is_key_settled(k))).await;
    for (n, answer) in answers.into_iter().enumerate() {
        let n = n % 40;
        assert_eq!(answer.unwrap(), (1..20).contains(&n), "key {n}");
    }
}

/// A store on a fresh SQLite file in `dir`.
async fn sqlite_store(dir: &tempfile::TempDir) -> connector::store::Store {
    let target = connector::store::StoreTarget::Sqlite(dir.path().join("connector.db"));
    connector::store::Store::open(&target).await.unwrap()
}

/// A store on a fresh `database` of the throwaway PostgreSQL server.
async fn postgres_store(pg: &Postgres, database: &str) -> connector::store::Store {
    let url = pg.database(database).await;
    let target = connector::store::StoreTarget::Postgres(connector::secret::Secret::new(url));
    connector::store::Store::open(&target).await.unwrap()
}

#[tokio::test]
async fn a_batch_of_journal_rows_and_keys_is_stored_exactly_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    batches_round_trip(&store).await;
    store.close().await;
}

#[tokio::test]
async fn a_batch_of_journal_rows_and_keys_is_stored_exactly_on_postgres() {
    let Some(pg) = Postgres::start().await else { return };
    let store = postgres_store(&pg, "batches").await;
    batches_round_trip(&store).await;
    store.close().await;
}

/// Retention deletes what is past it, a slice at a time, and keeps the rest.
async fn retention_prunes_past_it(store: &connector::store::Store) {
    use connector::idempotency::DeliveryKey;
    use connector::store::retention::Pruned;
    let now = connector::store::now_ms();
    let day = 86_400_000;
    let entry = |n: i64, at_ms: i64| JournalEntry {
        at_ms,
        correlation_id: format!("req-prune-{n}"),
        ..odd_entries()[0].clone()
    };
    // More than two slices of each, so the last slice is a short one.
    let past: Vec<JournalEntry> = (0..12_001).map(|n| entry(n, now - 31 * day - n)).collect();
    let kept: Vec<JournalEntry> = (0..10).map(|n| entry(100_000 + n, now - 29 * day + n)).collect();
    let key = |n: i64| DeliveryKey::new("UPDATE_EVENT", &format!("prune-{n}"), "2026-12-02T10:00:00Z");
    let mut keys: Vec<(DeliveryKey, i64)> = (0..10_500).map(|n| (key(n), now - 1 - n)).collect();
    keys.extend((0..5).map(|n| (key(1_000_000 + n), now + day)));
    store.write_batch(&past, &keys).await.unwrap();
    store.write_batch(&kept, &[]).await.unwrap();

    let retention = std::time::Duration::from_secs(30 * 86_400);
    let pruned = store.prune(retention).await;
    assert_eq!(
        pruned,
        Pruned {
            journal_rows: 12_001,
            expired_keys: 10_500,
            stopped_by: None,
        }
    );
    assert_eq!(
        store.prune(retention).await,
        Pruned::default(),
        "nothing is left to prune"
    );
    let query = JournalQuery {
        limit: 500,
        ..JournalQuery::default()
    };
    let left = store.journal(&query).await.unwrap();
    assert_eq!(left, kept.into_iter().rev().collect::<Vec<_>>());
    for n in 0..5 {
        assert!(
            store.is_key_settled(&key(1_000_000 + n)).await.unwrap(),
            "a live key is kept"
        );
    }
}

#[tokio::test]
async fn retention_prunes_past_it_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    retention_prunes_past_it(&store).await;
    store.close().await;
}

#[tokio::test]
async fn retention_prunes_past_it_on_postgres() {
    let Some(pg) = Postgres::start().await else { return };
    let store = postgres_store(&pg, "retention").await;
    retention_prunes_past_it(&store).await;
    store.close().await;
}
