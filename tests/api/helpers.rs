//! `spawn_app()`: the real application on 127.0.0.1:0 against fake TripleSeat,
//! Revel and SendGrid servers, with a clock the test controls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use connector::config::Config;
use connector::pipeline::Services;
use connector::secret::Secret;
use connector::startup::Application;
use connector::sweep::Sweeper;
use connector::tripleseat::signature;
use connector::upstream::RetryPolicy;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const SIGNING_KEY: &str = "test-signing-key-9f8e7d";
pub const EVENT_ID: &str = "61234567";
pub const SITE_ID: &str = "15901";
pub const ESTABLISHMENT: u64 = 4;
pub const FIXTURE_PRODUCTS: [(&str, &str); 4] = [
    ("Glazed Classic", "1.99"),
    ("Maple Bar", "2.49"),
    ("Chocolate Sprinkle Ring", "2.29"),
    ("Coffee Carafe", "15.00"),
];

/// 11:00 in Las Vegas on the fixture event's day (2026-05-16).
pub fn event_day_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 16, 18, 0, 0).unwrap()
}

/// The three fake upstreams, shared across app restarts.
pub use fakes::Upstreams as Fakes;

/// Fake upstreams seeded with two establishments and their catalogues.
pub async fn start_fakes() -> Fakes {
    let fakes = Fakes::start().await;
    fakes
        .revel
        .add_establishment(ESTABLISHMENT, "Sample Doughnuts - Summerlin");
    fakes.revel.add_establishment(7, "Sample Doughnuts - Downtown");
    for (name, price) in FIXTURE_PRODUCTS {
        fakes.revel.add_product(ESTABLISHMENT, name, price);
        fakes.revel.add_product(7, name, price);
    }
    // Enough other products that the catalogue spans several pages of 20.
    for n in 0..30 {
        fakes
            .revel
            .add_product(ESTABLISHMENT, &format!("Seasonal Special {n:02}"), "3.00");
    }
    fakes
}

/// A SQLite store in its own temporary directory, shared by the apps given it.
#[derive(Clone)]
pub struct TestStore(Arc<tempfile::TempDir>);

impl TestStore {
    pub fn new() -> TestStore {
        TestStore(Arc::new(tempfile::tempdir().expect("a temporary directory")))
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.0.path().join("connector.db").display())
    }
}

pub struct TestApp {
    pub address: String,
    /// The app's store, to start another app (a restart) on the same data.
    pub store: TestStore,
    pub http: reqwest::Client,
    pub fakes: Fakes,
    pub services: Arc<Services>,
    pub sweeper: Arc<Sweeper>,
    clock: Arc<Mutex<DateTime<Utc>>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// How a test app is configured; every default can be overridden.
pub struct AppBuilder {
    env: Vec<(String, String)>,
    now: DateTime<Utc>,
    fakes: Option<Fakes>,
    deadline: Option<Duration>,
    sweep_interval: Option<Duration>,
    store: Option<TestStore>,
}

pub async fn spawn_app() -> TestApp {
    AppBuilder::new().spawn().await
}

impl AppBuilder {
    pub fn new() -> AppBuilder {
        AppBuilder {
            env: Vec::new(),
            now: event_day_morning(),
            fakes: None,
            deadline: None,
            sweep_interval: None,
            store: None,
        }
    }

    /// Runs on an earlier app's SQLite store: a restart on the same data.
    pub fn store(mut self, store: &TestStore) -> AppBuilder {
        self.store = Some(store.clone());
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> AppBuilder {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.into()));
        self
    }

    /// Unsets a variable the defaults would set.
    pub fn without(self, name: &str) -> AppBuilder {
        self.env(name, "")
    }

    pub fn now(mut self, now: DateTime<Utc>) -> AppBuilder {
        self.now = now;
        self
    }

    /// Reuses fakes from an earlier app: a restart of the service.
    pub fn fakes(mut self, fakes: &Fakes) -> AppBuilder {
        self.fakes = Some(fakes.clone());
        self
    }

    pub fn deadline(mut self, deadline: Duration) -> AppBuilder {
        self.deadline = Some(deadline);
        self
    }

    /// Turns the scheduler on at an interval shorter than the variable's whole seconds allow.
    pub fn sweep_every(mut self, interval: Duration) -> AppBuilder {
        self.sweep_interval = Some(interval);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let fakes = match self.fakes {
            Some(fakes) => fakes,
            None => start_fakes().await,
        };
        let store = self.store.unwrap_or_else(TestStore::new);
        let locations = json!({
            SITE_ID: {"name": "Sample Doughnuts - Summerlin", "revel_establishment": ESTABLISHMENT, "timezone": "America/Los_Angeles"},
            "15902": {"name": "Sample Doughnuts - Downtown", "revel_establishment": "7", "timezone": "America/New_York"},
        });
        let mut env: Vec<(String, String)> = [
            ("HOST", "127.0.0.1".to_string()),
            ("PORT", "0".to_string()),
            ("ENV", "test".to_string()),
            ("LOCATIONS_JSON", locations.to_string()),
            ("TRIPLESEAT_WEBHOOK_SIGNING_KEY", SIGNING_KEY.to_string()),
            ("SWEEP_INTERVAL_SECS", "0".to_string()),
            ("DATABASE_URL", store.url()),
        ]
        .into_iter()
        .chain(fakes.connector_env())
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (name, value) in self.env {
            env.retain(|(k, _)| *k != name);
            env.push((name, value));
        }
        let mut config = Config::from_pairs(env).expect("the test configuration is valid");
        // Fast upstream limits so fault tests take milliseconds, not the contract's seconds.
        config.upstream.connect_timeout = Duration::from_secs(1);
        config.upstream.request_timeout = Duration::from_millis(700);
        config.upstream.retry = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(20),
            max: Duration::from_millis(100),
        };
        config.sweep_first_delay = Duration::from_millis(50);
        config.email_retry.base = Duration::from_millis(20);
        config.email_retry.max = Duration::from_millis(200);
        if let Some(deadline) = self.deadline {
            config.webhook.deadline = deadline;
        }
        if let Some(interval) = self.sweep_interval {
            config.sweep_interval = Some(interval);
        }
        let clock = Arc::new(Mutex::new(self.now));
        let reader = Arc::clone(&clock);
        let app = Application::build_with_clock(config, Arc::new(move || *reader.lock().unwrap()))
            .await
            .expect("the app binds 127.0.0.1:0");
        let address = format!("http://127.0.0.1:{}", app.port());
        let services = app.services();
        let sweeper = app.sweeper();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            store,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            fakes,
            services,
            sweeper,
            clock,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }
}

/// One webhook answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub request_id: Option<String>,
    pub json: Value,
}

impl Answer {
    /// Asserts HTTP 200, the reason, and the contract's `ok` / `processed` for it.
    pub fn assert_reason(&self, reason: &str) -> &Answer {
        assert_eq!(self.status, 200, "webhook answers are always HTTP 200: {self:#?}");
        assert_eq!(
            self.json["reason"],
            json!(reason),
            "unexpected reason in {:#}",
            self.json
        );
        self.assert_contract();
        self
    }

    /// The always-present fields, with their types.
    pub fn assert_contract(&self) {
        let j = &self.json;
        assert!(
            j["ok"].is_boolean() && j["processed"].is_boolean() && j["dry_run"].is_boolean(),
            "{j:#}"
        );
        assert!(j["trigger"].is_string() || j["trigger"].is_null(), "{j:#}");
        assert!(j["reason"].is_string(), "{j:#}");
        assert!(j.get("event_id").is_some() && j.get("site_id").is_some(), "{j:#}");
        let correlation = j["correlation_id"].as_str().expect("correlation_id");
        assert!(
            correlation.starts_with("req-") && correlation.len() == 12,
            "{correlation}"
        );
        assert_eq!(
            self.request_id.as_deref(),
            Some(correlation),
            "X-Request-Id matches the body"
        );
    }

    pub fn ok_processed(&self) -> (bool, bool) {
        (
            self.json["ok"].as_bool().unwrap(),
            self.json["processed"].as_bool().unwrap(),
        )
    }
}

impl TestApp {
    pub fn set_now(&self, now: DateTime<Utc>) {
        *self.clock.lock().unwrap() = now;
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.clock.lock().unwrap()
    }

    /// The `X-Signature` for `body` at the app's current time.
    pub fn sign(&self, body: &[u8]) -> String {
        signature::sign(&Secret::new(SIGNING_KEY), body, self.now().timestamp())
    }

    pub async fn post_signed(&self, body: &Value) -> Answer {
        let bytes = body.to_string().into_bytes();
        let header = self.sign(&bytes);
        self.post_raw(
            "/webhook",
            bytes,
            &[("x-signature", &header), ("content-type", "application/json")],
        )
        .await
    }

    pub async fn post_test(&self, body: &Value) -> Answer {
        self.post_raw(
            "/test/webhook",
            body.to_string().into_bytes(),
            &[("content-type", "application/json")],
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.address)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the app answers");
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("the answer is JSON: {text:?}"));
        Answer {
            status,
            request_id,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the app answers")
    }

    /// `/health` once `field` shows `expected`: the store's state there may be up to a
    /// second old, and a ping that gets no answer takes a second more.
    pub async fn health_showing(&self, field: &str, expected: Value) -> Value {
        let started = std::time::Instant::now();
        loop {
            let health: Value = self.get("/health").await.json().await.expect("/health is JSON");
            if health[field] == expected {
                return health;
            }
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "/health never showed {field}: {expected}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Orders the fake Revel holds.
    pub fn orders(&self) -> Vec<Value> {
        self.fakes.revel.orders()
    }

    /// Waits, at most five seconds, until `count` emails have been accepted.
    pub async fn wait_for_emails(&self, count: usize) -> Vec<Value> {
        for _ in 0..100 {
            let messages = self.fakes.sendgrid.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} emails, got {:#?}", self.fakes.sendgrid.messages());
    }

    /// The emails SendGrid accepted once the outbox has nothing left to send (every
    /// run stores its emails before it answers), waiting at most five seconds.
    pub async fn settled_emails(&self) -> Vec<Value> {
        for _ in 0..250 {
            match self.services.store.outbox_counts().await {
                Ok(counts) if counts.pending == 0 => break,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        self.fakes.sendgrid.messages()
    }

    /// Every journal row (newest first, at most 500) once `count` are written; polled
    /// for at most 10 s.
    pub async fn journal_rows(&self, count: usize) -> Vec<connector::store::journal::JournalEntry> {
        let query = connector::store::journal::JournalQuery {
            limit: 500,
            ..Default::default()
        };
        for _ in 0..500 {
            let rows = self.services.store.journal(&query).await.unwrap();
            if rows.len() >= count {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {count} journal rows");
    }

    /// Stops the app as SIGTERM would and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The fixture's event object: confirmed, invoiced, paid, on 2026-05-16 at site 15901.
pub fn paid_event() -> Value {
    let full: Value = serde_json::from_str(include_str!("../fixtures/event_full.json")).unwrap();
    full["event"].clone()
}

/// The fixture's status-change webhook, without documents.
pub fn status_change_webhook() -> Value {
    serde_json::from_str(include_str!("../fixtures/webhook_status_change.json")).unwrap()
}

pub fn webhook(trigger: &str, event: Value) -> Value {
    json!({"webhook_trigger_type": trigger, "event": event})
}

/// The paid fixture with another id, so many events can be told apart.
pub fn paid_event_with_id(id: u64) -> Value {
    let mut event = paid_event();
    event["id"] = json!(id);
    event
}
