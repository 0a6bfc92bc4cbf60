//! The edge under slow and hostile clients, over raw sockets: slowloris and idle
//! connections closed, a dribbled body answered once without an email, a thousand
//! unsigned half-bodies that email nobody, the connection cap, SIGTERM with stalled
//! clients, anonymous test traffic beside real deliveries, one verdict per request at
//! the deadline, and failure emails coalesced.

use std::time::{Duration, Instant};

use connector::store::journal::JournalQuery;
use fakes::Fault;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary::{start_binary, upstream_env, Secrets};
use crate::helpers::{paid_event, status_change_webhook, webhook, AppBuilder, TestApp};

async fn connect(address: &str) -> TcpStream {
    TcpStream::connect(address.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (or 10 s pass): what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    closed.ok().map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// How many journal rows are there once the journal has been quiet for a moment.
async fn settled_journal_len(app: &TestApp) -> usize {
    let query = JournalQuery {
        limit: 500,
        ..JournalQuery::default()
    };
    let mut last = usize::MAX;
    for _ in 0..10 {
        app.services.writes.flush(Duration::from_secs(1)).await;
        let now = app.services.store.journal(&query).await.unwrap().len();
        if now == last {
            return now;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    last
}

#[tokio::test]
async fn slowloris_and_idle_connections_are_closed_within_the_header_timeout() {
    let app = AppBuilder::new().env("HEADER_READ_TIMEOUT_SECS", "1").spawn().await;
    // Headers dribbled a line at a time, never finished.
    let mut slow = connect(&app.address).await;
    slow.write_all(b"POST /webhook HTTP/1.1\r\nHost: connector\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let dribbling = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return;
            }
        }
    };
    dribbling.await;
    assert!(
        read_until_closed(&mut slow).await.is_some(),
        "the slow client was closed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed after {:?}",
        started.elapsed()
    );

    // A kept-alive connection that goes quiet after one request is closed too.
    let mut idle = connect(&app.address).await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: connector\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle).await.expect("closed once idle");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_dribbled_past_its_timeout_gets_one_answer_and_no_email() {
    // The body's bound is half the deadline when that is under 10 s: here 1 s.
    let app = AppBuilder::new().deadline(Duration::from_secs(2)).spawn().await;
    let body = webhook("UPDATE_EVENT", paid_event()).to_string();
    let signature = app.sign(body.as_bytes());
    let mut stream = connect(&app.address).await;
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: connector\r\nContent-Type: application/json\r\nX-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    for byte in body.as_bytes().iter().take(40) {
        let _ = stream.write_all(&[*byte]).await;
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await {
            answer.extend_from_slice(&buffer[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    }
    let rest = read_until_closed(&mut stream).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&answer).into_owned() + &rest;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let json: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["reason"], "INVALID_JSON");

    assert_eq!(settled_journal_len(&app).await, 1, "one verdict");
    let rows = app.journal_rows(1).await;
    assert_eq!(rows[0].reason, "INVALID_JSON");
    assert!(
        app.settled_emails().await.is_empty(),
        "no email before a signature verified"
    );
    assert!(app.orders().is_empty());
}

#[tokio::test]
async fn a_thousand_unsigned_half_bodies_email_nobody() {
    let app = AppBuilder::new().spawn().await;
    let address = app.address.clone();
    let clients = (0..1000).map(|i| {
        let address = address.clone();
        async move {
            let mut stream = connect(&address).await;
            let head = format!(
                "POST /webhook HTTP/1.1\r\nHost: connector\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"webhook_trigger_type\":\"UPDATE_EVENT\",\"n\":{i}"
            );
            let _ = stream.write_all(head.as_bytes()).await;
            // The client leaves before the body is complete.
        }
    });
    // A hundred at a time: what one test machine's loopback takes without fuss.
    let clients: Vec<_> = clients.collect();
    let mut clients = clients.into_iter();
    loop {
        let batch: Vec<_> = clients.by_ref().take(100).collect();
        if batch.is_empty() {
            break;
        }
        futures::future::join_all(batch).await;
    }
    // Every one of them ran to a verdict (the journal's newest 500 are shown below).
    let mut ran = 0.0;
    for _ in 0..500 {
        ran = crate::admin::metric(&app, "connector_pipeline_duration_seconds_count").await;
        if ran >= 1000.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ran, 1000.0, "one verdict each");
    let rows = app.journal_rows(500).await;
    assert!(rows.iter().all(|r| r.reason == "INVALID_JSON"));
    // A real, signed failure still reports at once.
    let mut unknown = paid_event();
    unknown["site_id"] = json!(99999);
    app.post_signed(&webhook("UPDATE_EVENT", unknown))
        .await
        .assert_reason("UNKNOWN_LOCATION");
    let emails = app.settled_emails().await;
    assert_eq!(emails.len(), 1, "only the signed failure emails");
    assert!(
        emails[0]["content"][0]["value"]
            .as_str()
            .unwrap()
            .contains("UNKNOWN_LOCATION"),
        "{}",
        emails[0]
    );
}

#[tokio::test]
async fn the_same_failure_of_the_same_event_is_emailed_once_in_its_window() {
    let app = AppBuilder::new().spawn().await;
    for minute in 0..5 {
        let mut event = paid_event();
        event["site_id"] = json!(99999);
        event["updated_at"] = json!(format!("05/16/2026 08:0{minute} AM"));
        app.post_signed(&webhook("UPDATE_EVENT", event))
            .await
            .assert_reason("UNKNOWN_LOCATION");
    }
    let mut other = paid_event();
    other["id"] = json!(777);
    other["site_id"] = json!(99999);
    app.post_signed(&webhook("UPDATE_EVENT", other))
        .await
        .assert_reason("UNKNOWN_LOCATION");
    assert_eq!(
        app.settled_emails().await.len(),
        2,
        "one per event, however often it fails"
    );
}

#[tokio::test]
async fn anonymous_test_traffic_never_makes_a_real_delivery_fail() {
    let app = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    // 250 anonymous clients, each asking for a TripleSeat read, while signed
    // deliveries that also need one arrive.
    let anonymous = status_change_webhook();
    let flood = futures::future::join_all((0..250).map(|_| app.post_test(&anonymous)));
    let hooks: Vec<Value> = (0..5)
        .map(|i| {
            let mut hook = status_change_webhook();
            hook["event"]["updated_at"] = json!(format!("05/16/2026 09:0{i} AM"));
            hook
        })
        .collect();
    let real = futures::future::join_all(hooks.iter().map(|hook| app.post_signed(hook)));
    let (flood, real) = tokio::join!(flood, real);
    for answer in &real {
        answer.assert_reason("DRY_RUN");
    }
    let limited = flood.iter().filter(|a| a.json["reason"] == "RATE_LIMITED").count();
    assert!(
        limited >= 200,
        "the test doors kept to their budget ({limited} limited)"
    );
}

#[tokio::test]
async fn a_run_stopped_at_the_deadline_while_reading_has_one_verdict() {
    let app = AppBuilder::new().deadline(Duration::from_secs(1)).spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes
        .tripleseat
        .plan()
        .fail(Some("GET"), "/v1/events/", Fault::Hang(Duration::from_secs(3)), 10);
    app.post_signed(&status_change_webhook())
        .await
        .assert_reason("EVENT_DATA_UNAVAILABLE");
    assert_eq!(settled_journal_len(&app).await, 1);
    let rows = app.journal_rows(1).await;
    assert_eq!(rows[0].reason, "EVENT_DATA_UNAVAILABLE");
    let emails = app.settled_emails().await;
    assert_eq!(emails.len(), 1, "a verified delivery that failed is reported once");
}

#[tokio::test]
async fn a_write_that_ends_after_the_deadline_says_so_everywhere() {
    let app = AppBuilder::new().deadline(Duration::from_secs(1)).spawn().await;
    // Each of the first three writes takes 600 ms: the write outlives the deadline.
    app.fakes
        .revel
        .plan()
        .fail(Some("POST"), "/resources/", Fault::Hang(Duration::from_millis(600)), 3);
    let answer = app.post_signed(&webhook("UPDATE_EVENT", paid_event())).await;
    answer.assert_reason("REVEL_WRITE_FAILED");
    let correlation = answer.json["correlation_id"].as_str().unwrap().to_string();
    let rows = app.journal_rows(1).await;
    let row = &rows[0];
    assert_eq!(row.correlation_id, correlation);
    assert_eq!(row.reason, "REVEL_INJECTED", "the journal has the truth");
    assert_eq!(row.answered_reason.as_deref(), Some("REVEL_WRITE_FAILED"));
    assert_eq!(app.orders().len(), 1);
    let emails = app.settled_emails().await;
    assert_eq!(emails.len(), 1, "the success email, and no failure email");
    let text = emails[0]["content"][0]["value"].as_str().unwrap();
    assert!(
        text.contains("answered REVEL_WRITE_FAILED before it finished"),
        "{text}"
    );
}

/// Connections that sent part of their headers and stopped.
async fn stalled_connections(port: u16, count: usize) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for _ in 0..count {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: c").await.unwrap();
        streams.push(stream);
    }
    streams
}

#[tokio::test]
async fn the_connection_cap_logs_when_it_bites_and_health_still_answers() {
    let fakes = crate::helpers::start_fakes().await;
    let secrets = Secrets::named("cap");
    let mut env = upstream_env(&fakes, &secrets);
    env.extend([
        ("MAX_CONNECTIONS", "3".to_string()),
        ("HEADER_READ_TIMEOUT_SECS", "1".to_string()),
    ]);
    let binary = start_binary(&env).await;
    let _stalled = stalled_connections(binary.port, 3).await;
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/health", binary.port))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("health answers once a stalled connection is shed");
    assert_eq!(health.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let (status, output) = binary.terminate().await;
    assert!(status.success());
    assert!(output.contains("Connections: at the cap"), "{output}");
}

#[tokio::test]
async fn sigterm_with_stalled_clients_exits_at_once() {
    let fakes = crate::helpers::start_fakes().await;
    let secrets = Secrets::named("stalled");
    let env = upstream_env(&fakes, &secrets);
    let binary = start_binary(&env).await;
    let port = binary.port;
    let _headers = stalled_connections(port, 5).await;
    // And five stalled mid-body, signed, on the webhook.
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let body = webhook("UPDATE_EVENT", paid_event());
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let head = format!(
            "POST /webhook HTTP/1.1\r\nHost: c\r\nX-Signature: {}\r\nContent-Length: {}\r\n\r\n{{",
            secrets.sign(&body),
            body.to_string().len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        bodies.push(stream);
    }
    // A request behind them: by its answer the server has read their headers.
    let health = reqwest::get(format!("http://127.0.0.1:{port}/health")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let started = Instant::now();
    let (status, output) = binary.terminate().await;
    assert!(status.success(), "{output}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exited after {:?} (budget 25 s)",
        started.elapsed()
    );
    assert!(output.contains("Shutdown: complete"), "{output}");
    assert_eq!(
        output.matches("Body: still arriving at shutdown").count(),
        5,
        "each stalled body got one verdict: {output}"
    );
}
