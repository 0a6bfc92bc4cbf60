//! The load tool: drives the release binary over loopback against the simulated
//! upstreams, compares it with a bare axum route measured in the same run, and writes
//! its figures, with those `cargo bench` left in `target/criterion`, to
//! `docs/PERFORMANCE.md`.
//!
//!     cargo bench && cargo build --release && cargo run --release --example load
//!
//! (`-- --benches` prints only the `cargo bench` tables; `-- --only TEXT` runs only the
//! SQLite scenarios whose name holds TEXT, or one of its `|`-separated parts (one
//! compared with the bare route brings that route's runs along; `RUST_LOG` measures
//! them with logging to a file, `PostgreSQL` on PostgreSQL), e.g. to profile one, and
//! prints them; neither writes anything.)
//!
//! The server under test (the connector, or the bare route of `--ceiling`) is a process
//! of its own pinned to core 0 with `taskset`; this tool, its client, the simulated
//! upstreams and PostgreSQL stay on core 1. Both servers inherit a one-core mask, so
//! their tokio runtimes have the same worker count. The client is a plain HTTP/1.1
//! keep-alive loop over requests built (and signed) before the clock starts, so its
//! own cost per request is small and the same for both servers.
//!
//! Every scenario is bounded in count and in time; traffic goes only to 127.0.0.1.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use connector::secret::Secret;
use connector::tripleseat::signature::sign;
use fakes::Upstreams;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

#[path = "../tests/api/postgres.rs"]
mod postgres;

#[path = "support/mod.rs"]
mod support;
use support::{connector_command, free_port, release_binary, status_field};
const KEY: &str = "load-signing-key";
const ADMIN_TOKEN: &str = "load-admin-token-0123456789abcdef-0123";
const TZ: &str = "America/Los_Angeles";
/// No scenario may run longer than this.
const SCENARIO_BOUND: Duration = Duration::from_secs(180);
/// The concurrency of the scenarios compared with the ceiling.
const CONCURRENCY: usize = 50;
/// Unique delivery keys in the TOO_EARLY flood: twice the in-memory map's cap.
const FLOOD: usize = 200_000;
/// The server's core and this tool's.
const SERVER_CORE: usize = 0;
const CLIENT_CORE: usize = 1;

/// The backend measured with the connector's default logging.
const LOGGED: &str = "SQLite, RUST_LOG=info to a file";

/// `--only TEXT`: the scenarios whose name holds it (or one of its `|`-separated parts).
static ONLY: OnceLock<String> = OnceLock::new();

fn is_chosen(name: &str) -> bool {
    ONLY.get()
        .is_none_or(|only| only.split('|').any(|part| name.contains(part)))
}

/// What one connector process measured.
struct Backend {
    name: String,
    results: Vec<Figures>,
    due: Vec<Figures>,
    idle_rss: u64,
    idle_threads: u64,
    peak_rss: u64,
    orders: usize,
    health_bytes: usize,
    log: Option<(u64, usize)>,
    /// Threads in the bare route's process.
    ceiling_threads: u64,
}

struct Figures {
    name: String,
    /// What it is compared with: `webhook` or `health` of the ceiling, or nothing.
    route: Option<&'static str>,
    /// The share of the ceiling aimed for.
    goal: Option<f64>,
    requests: usize,
    concurrency: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
    reasons: BTreeMap<String, usize>,
    rss_kib: u64,
    /// The server process's CPU time over the scenario, all threads.
    cpu_seconds: f64,
    /// For a scenario compared with the bare route: the bare route's run of the kept
    /// round, and every round's ratio, lowest first.
    ceiling: Option<Box<Figures>>,
    ratios: Vec<f64>,
    /// The share of the run the hypervisor gave the server's core, and the client's, to
    /// another guest: a run with much of it measured a busy neighbour, not this code.
    stolen: [f64; 2],
}

impl Figures {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// The server's CPU per request, in µs: what a request costs whatever else the
    /// machine was doing, and whether the server's core was the limit (`busy`).
    fn cpu_us(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.requests as f64
    }

    fn busy(&self) -> f64 {
        self.cpu_seconds / self.seconds
    }
}

/// The bare axum route, a process of its own on the server's core, alive beside the
/// connector under test so each compared scenario runs right after its own run.
struct Ceiling {
    address: SocketAddr,
    pid: u32,
    threads: u64,
    _process: tokio::process::Child,
}

/// Rounds of a compared scenario: bare route, then connector, back to back.
const ROUNDS: usize = 5;

fn main() {
    // `--ceiling PORT HEALTH_BYTES`: this tool as the bare axum server the connector is compared with.
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--ceiling") {
        let port = args[at + 1].parse().expect("--ceiling PORT HEALTH_BYTES");
        let health_bytes = args[at + 2].parse().expect("--ceiling PORT HEALTH_BYTES");
        runtime().block_on(serve_ceiling(port, health_bytes));
        return;
    }
    if args.iter().any(|a| a == "--benches") {
        print!("{}", render_benches(&criterion_dir()));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--only") {
        let _ = ONLY.set(args.get(at + 1).cloned().expect("--only TEXT"));
    }
    let is_pinned = pin(std::process::id(), CLIENT_CORE);
    runtime().block_on(measure(is_pinned));
}

/// The connector's runtime: tokio, multi-threaded, one worker per core it may use.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Pins every thread of `pid` to `core` with `taskset`; false when it cannot (fewer than
/// two cores, or no `taskset`), and then nothing is pinned.
fn pin(pid: u32, core: usize) -> bool {
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1);
    cores >= 2
        && std::process::Command::new("taskset")
            .args(["-a", "-cp", &core.to_string(), &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

async fn measure(is_pinned: bool) {
    let binary = release_binary();
    let load_before = load_average();
    let sqlite = tempfile::tempdir().expect("a temporary directory");
    let sqlite_url = |name: &str| format!("sqlite://{}", sqlite.path().join(name).display());
    // `--only` measures one backend: the logged one when `RUST_LOG` is asked for,
    // PostgreSQL when `PostgreSQL` is.
    let asks = |backend: &str| ONLY.get().is_some_and(|only| only.contains(backend));
    let only_postgres = match asks("PostgreSQL") {
        true => Some(postgres::Postgres::start().await.expect("PostgreSQL is installed")),
        false => None,
    };
    let first = match (&only_postgres, asks("RUST_LOG")) {
        (Some(pg), _) => run_backend(&binary, "PostgreSQL", &pg.database("load").await, false).await,
        (None, true) => run_backend(&binary, LOGGED, &sqlite_url("logged.db"), true).await,
        (None, false) => run_backend(&binary, "SQLite", &sqlite_url("connector.db"), false).await,
    };
    let mut backends = vec![first];
    if ONLY.get().is_some() {
        for f in backends.iter().flat_map(|b| b.results.iter().chain(&b.due)) {
            let (p50, p99) = (percentile(&f.latencies_ms, 0.5), percentile(&f.latencies_ms, 0.99));
            println!(
                "{}: {:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms, server CPU {:.1} µs/request ({:.0} % busy, \
                 {:.0} / {:.0} % stolen), {}",
                f.name,
                f.rate(),
                f.cpu_us(),
                f.busy() * 100.0,
                f.stolen[0] * 100.0,
                f.stolen[1] * 100.0,
                answers(f)
            );
            if let Some(bare) = &f.ceiling {
                println!(
                    "    × ceiling {} (bare route {:.0} req/s, {:.1} µs/request)",
                    ratios(f),
                    bare.rate(),
                    bare.cpu_us()
                );
            }
        }
        return;
    }
    match postgres::Postgres::start().await {
        Some(pg) => {
            let url = pg.database("load").await;
            backends.push(run_backend(&binary, "PostgreSQL", &url, false).await);
        }
        None => eprintln!("PostgreSQL is not installed: only the SQLite figures are measured"),
    }
    backends.push(run_backend(&binary, LOGGED, &sqlite_url("logged.db"), true).await);

    let machine = Machine {
        is_pinned,
        load_before,
        load_after: load_average(),
    };
    let report = render(&machine, &backends, &criterion_dir());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/PERFORMANCE.md");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &report).unwrap();
    println!("{report}\nwritten to {}", path.display());
}

/// Starts the bare axum route (the same runtime, the same body read whole and a JSON
/// answer of the same size, and a `/health` of `health_bytes`) for the ratios.
async fn start_ceiling(health_bytes: usize) -> Ceiling {
    let port = free_port();
    let process = Command::new(std::env::current_exe().unwrap())
        .args(["--ceiling", &port.to_string(), &health_bytes.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the ceiling server");
    let pid = process.id().expect("a running child has a pid");
    pin(pid, SERVER_CORE);
    wait_until_up(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}")).await;
    pin(pid, SERVER_CORE);
    Ceiling {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        pid,
        threads: status_field(pid, "Threads:"),
        _process: process,
    }
}

/// The bare route's run of a compared scenario's `route`: the same bodies' sizes.
fn ceiling_scenario(route: &'static str) -> Scenario {
    let fixture = fixture();
    let (name, requests): (&str, Requests) = match route {
        "health" => (
            "GET /health, a JSON as long as the connector's",
            Box::new(|| vec![get("/health"); 40_000]),
        ),
        "webhook-full" => (
            "read a whole-event body, answer a same-size JSON",
            Box::new(move || {
                let tomorrow = Utc::now().date_naive().format("%m/%d/%Y").to_string();
                signed(
                    (0..40_000)
                        .map(|n| delivery(&fixture, n + 1, &tomorrow, &format!("rev-{n}")))
                        .collect(),
                )
            }),
        ),
        _ => (
            "read the body, answer a same-size JSON",
            Box::new(move || signed(non_actionable_bodies(&fixture, 0))),
        ),
    };
    Scenario {
        name: format!("bare axum route: {name}"),
        route: None,
        goal: None,
        requests,
        concurrency: CONCURRENCY,
    }
}

/// Waits, at most 2 s, until process `pid` has used no CPU for 100 ms, so the next run
/// does not pay for work the connector's last one left behind on the shared core (its
/// last journal rows, SQLite's checkpoint).
async fn settle(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut used = cpu_seconds(pid);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = cpu_seconds(pid);
        if now == used {
            return;
        }
        used = now;
    }
}

/// A scenario compared with the bare route: `rounds` times the bare route's run and
/// then the connector's, back to back, so both meet the machine in the same moment (on
/// a shared VM its speed drifts by a third within minutes). The round with the median
/// ratio is kept, with every round's ratio. `None` when `--only` leaves it out.
async fn compare(
    address: SocketAddr,
    pid: u32,
    ceiling: &Ceiling,
    scenario: Scenario,
    rounds: usize,
) -> Option<Figures> {
    if !is_chosen(&scenario.name) {
        return None;
    }
    let bare = ceiling_scenario(scenario.route.expect("a compared scenario names its route"));
    let mut paired = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        settle(pid).await;
        let ceiling_run = drive(ceiling.address, &bare, ceiling.pid).await;
        settle(pid).await;
        let own = drive(address, &scenario, pid).await;
        paired.push((own.rate() / ceiling_run.rate(), own, ceiling_run));
    }
    paired.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ratios = paired.iter().map(|(ratio, _, _)| *ratio).collect();
    let (_, mut kept, ceiling_run) = paired.swap_remove(paired.len() / 2);
    kept.ceiling = Some(Box::new(ceiling_run));
    kept.ratios = ratios;
    Some(kept)
}

/// The ceiling's server: a route that reads the body whole and answers a JSON the size
/// of the connector's non-actionable answer, and a `/health` of `health_bytes`.
async fn serve_ceiling(port: u16, health_bytes: usize) {
    use axum::routing::{get, post};
    let answer = || async {
        axum::Json(json!({"ok": true, "processed": false, "trigger": "CREATE_LEAD",
            "reason": "TRIGGER_TYPE_NOT_ACTIONABLE", "correlation_id": "req-00000000",
            "dry_run": false, "event_id": "1", "site_id": "15901"}))
    };
    let padding = health_bytes.saturating_sub(r#"{"status":"ok","padding":""}"#.len());
    let health = move || async move { axum::Json(json!({"status": "ok", "padding": "x".repeat(padding)})) };
    let router = axum::Router::new()
        .route(
            "/webhook",
            post(move |body: axum::body::Bytes| async move {
                std::hint::black_box(body.len());
                answer().await
            }),
        )
        .route("/health", get(health));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    axum::serve(listener, router).await.unwrap();
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("../tests/fixtures/event_full.json")).unwrap()
}

/// The size of a non-actionable delivery's body in the comparison (about 1.5 KB).
const SMALL_BODY: usize = 1_500;

/// Deliveries of a trigger that never leads to an order, ids from `first`: the
/// fixture event's id, site and as many of its other plain fields (in name order) as
/// make about `SMALL_BODY` bytes.
fn non_actionable_bodies(fixture: &Value, first: usize) -> Vec<Vec<u8>> {
    let whole = fixture["event"].as_object().expect("the fixture's event is an object");
    let mut event = serde_json::Map::new();
    event.insert("site_id".into(), whole["site_id"].clone());
    for (name, value) in whole.iter().filter(|(_, v)| !v.is_object() && !v.is_array()) {
        if json!({"webhook_trigger_type": "CREATE_LEAD", "event": event})
            .to_string()
            .len()
            >= SMALL_BODY
        {
            break;
        }
        event.insert(name.clone(), value.clone());
    }
    (first..first + 40_000)
        .map(|n| {
            let mut event = Value::Object(event.clone());
            event["id"] = json!(n);
            json!({"webhook_trigger_type": "CREATE_LEAD", "event": event})
                .to_string()
                .into_bytes()
        })
        .collect()
}

/// One connector process: fresh simulated upstreams, its scenarios, its memory.
async fn run_backend(binary: &Path, name: &str, database_url: &str, is_logged: bool) -> Backend {
    let upstreams = Upstreams::start().await;
    let revel = &upstreams.revel;
    revel.add_establishment(4, "Load Test Kitchen");
    for (product, price) in [
        ("Glazed Classic", "1"),
        ("Maple Bar", "1"),
        ("Chocolate Sprinkle Ring", "1"),
        ("Coffee Carafe", "1"),
    ] {
        revel.add_product(4, product, price);
    }
    for n in 0..200 {
        revel.add_product(4, &format!("Catalogue Filler {n:03}"), "2.00");
    }

    let port = free_port();
    // No `.env` of the developer's: the connector runs in an empty directory of its own.
    let cwd = tempfile::tempdir().expect("a temporary directory");
    let log_path = cwd.path().join("connector.log");
    let stdout = match is_logged {
        true => Stdio::from(std::fs::File::create(&log_path).expect("a log file")),
        false => Stdio::null(),
    };
    let mut command = connector_command(binary, cwd.path(), port, KEY, &upstreams, TZ);
    command
        .env("DATABASE_URL", database_url)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        // The dry-run scenario drives /test/webhook far past its production budget.
        .env("TEST_ENDPOINTS_RATE", "1000000")
        .stdout(stdout)
        .stderr(Stdio::null());
    if is_logged {
        command.env("RUST_LOG", "info");
    }
    let mut child = command.spawn().expect("start the connector");
    let pid = child.id().expect("a running child has a pid");
    pin(pid, SERVER_CORE);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_until_up(&client, &base).await;
    pin(pid, SERVER_CORE);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(pid);
    let idle_threads = status_field(pid, "Threads:");
    let health_bytes = client
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("/health answers")
        .bytes()
        .await
        .expect("/health answers")
        .len();
    let ceiling = start_ceiling(health_bytes).await;

    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let today = Utc::now()
        .with_timezone(&TZ.parse::<chrono_tz::Tz>().unwrap())
        .date_naive();
    let tomorrow = today.succ_opt().unwrap().format("%m/%d/%Y").to_string();
    let today = today.format("%m/%d/%Y").to_string();
    let fixture = fixture();
    let mut results = Vec::new();
    let label = |scenario: &str| format!("{name}: {scenario}");

    if !is_logged {
        // The kill switch, flipped at run time through the admin API.
        set_kill_switch(&client, &base, true).await;
        let scenario = Scenario {
            name: label("signed webhook, kill switch off (CONNECTOR_DISABLED)"),
            route: Some("webhook"),
            goal: Some(0.8),
            requests: Box::new({
                let fixture = fixture.clone();
                move || signed(non_actionable_bodies(&fixture, 0))
            }),
            concurrency: CONCURRENCY,
        };
        results.extend(compare(address, pid, &ceiling, scenario, ROUNDS).await);
        set_kill_switch(&client, &base, false).await;

        let scenario = Scenario {
            name: label("GET /health"),
            route: Some("health"),
            goal: Some(0.8),
            requests: Box::new(|| vec![get("/health"); 40_000]),
            concurrency: CONCURRENCY,
        };
        results.extend(compare(address, pid, &ceiling, scenario, ROUNDS).await);
    }

    // What the ceiling does: a signed delivery that stops at the trigger.
    let scenario = Scenario {
        name: label("signed webhook, trigger not actionable"),
        route: Some("webhook"),
        goal: Some(if is_logged { 0.4 } else { 0.6 }),
        requests: Box::new({
            let fixture = fixture.clone();
            move || signed(non_actionable_bodies(&fixture, 0))
        }),
        concurrency: CONCURRENCY,
    };
    results.extend(compare(address, pid, &ceiling, scenario, ROUNDS).await);

    // The cheap path most deliveries take: verified, parsed, keyed, gated (the event is
    // tomorrow). Unique keys, more than the idempotency cap, so its bound is exercised.
    let count = if is_logged { 40_000 } else { FLOOD };
    let (event, date) = (fixture.clone(), tomorrow.clone());
    let bodies = move || {
        (0..count)
            .map(|n| delivery(&event, n % 1000 + 1, &date, &format!("rev-{n}")))
            .collect()
    };
    let scenario = Scenario {
        name: label(&format!(
            "signed webhook, time gate closed (TOO_EARLY), {count} unique keys"
        )),
        route: Some("webhook-full"),
        goal: Some(0.4),
        requests: Box::new(move || signed(bodies())),
        concurrency: CONCURRENCY,
    };
    // One round: a second would find every key settled.
    results.extend(compare(address, pid, &ceiling, scenario, 1).await);

    if !is_logged {
        // An operator's question of the journal the flood filled: one event's latest
        // rows, and an event with none, which the console asks of each of today's events.
        for (what, event_id, limit) in [("an event with no rows", "999999", 1), ("one event's rows", "1", 50)] {
            let path = format!("/admin/api/deliveries?event_id={event_id}&limit={limit}");
            let scenario = Scenario {
                name: label(&format!("admin journal, {what}, after the flood")),
                route: None,
                goal: None,
                requests: Box::new(move || vec![admin_get(&path); 100]),
                concurrency: 1,
            };
            results.extend(run(address, scenario, pid).await);
        }
    }

    let mut due = Vec::new();
    if !is_logged {
        // Full injections: a new event each, payload complete, written to the simulated Revel.
        let (event, date) = (fixture.clone(), today.clone());
        let scenario = Scenario {
            name: label("signed webhook, order injected (REVEL_INJECTED)"),
            route: None,
            goal: None,
            requests: Box::new(move || {
                signed(
                    (0..1_000)
                        .map(|n| delivery(&event, 100_000 + n, &date, "rev"))
                        .collect(),
                )
            }),
            concurrency: 16,
        };
        results.extend(run(address, scenario, pid).await);

        // Dry runs through /test/webhook (which wants the admin token once there is one):
        // the whole pipeline up to the planned order.
        let (event, date) = (fixture.clone(), today.clone());
        let requests = move || {
            let bearer = format!("Bearer {ADMIN_TOKEN}");
            (0..10_000)
                .map(|n| {
                    let body = delivery(&event, 200_000 + n, &date, "rev");
                    post("/test/webhook", &body, Some(("authorization", &bearer)))
                })
                .collect()
        };
        let scenario = Scenario {
            name: label("/test/webhook, full dry run (DRY_RUN)"),
            route: None,
            goal: None,
            requests: Box::new(requests),
            concurrency: CONCURRENCY,
        };
        results.extend(run(address, scenario, pid).await);

        // N different events due today at the one site, all at once: each run waits only
        // for its own event's turn, so the slowest is not N times the first.
        let mut first = 300_000;
        for events in [1, 10, 50, 100] {
            let bodies: Vec<Vec<u8>> = (first..first + events)
                .map(|n| delivery(&fixture, n, &today, "rev"))
                .collect();
            first += events;
            let scenario = Scenario {
                name: label(&format!("{events} due events at once")),
                route: None,
                goal: None,
                requests: Box::new(move || signed(bodies.clone())),
                concurrency: events,
            };
            due.extend(run(address, scenario, pid).await);
        }
    }

    let peak_rss = peak_rss_kib(pid);
    let orders = revel.orders().len();
    let _ = child.start_kill();
    let _ = child.wait().await;
    let log = is_logged.then(|| {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        (text.len() as u64, text.lines().count())
    });
    Backend {
        name: name.to_string(),
        results,
        due,
        idle_rss,
        idle_threads,
        peak_rss,
        orders,
        health_bytes,
        log,
        ceiling_threads: ceiling.threads,
    }
}

/// Turns the connector off (`true`) or back to its environment's value through the
/// admin API, and waits until a delivery says so.
async fn set_kill_switch(client: &reqwest::Client, base: &str, is_off: bool) {
    let request = match is_off {
        true => client
            .put(format!("{base}/admin/api/switches"))
            .json(&json!({"enable_connector": false, "note": "load tool"})),
        false => client.delete(format!("{base}/admin/api/switches/enable_connector")),
    };
    let answer = request
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("the admin API answers");
    assert!(
        answer.status().is_success(),
        "the admin API refused: {}",
        answer.status()
    );
    let status: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("/health answers")
        .json()
        .await
        .expect("/health is JSON");
    assert_eq!(
        status["enable_connector"],
        json!(!is_off),
        "the kill switch took effect"
    );
}

fn delivery(fixture: &Value, id: usize, date: &str, updated_at: &str) -> Vec<u8> {
    let mut event = fixture["event"].clone();
    event["id"] = json!(id);
    event["event_date"] = json!(date);
    event["updated_at"] = json!(updated_at);
    json!({"webhook_trigger_type": "UPDATE_EVENT", "event": event})
        .to_string()
        .into_bytes()
}

/// `POST /webhook` requests, each signed now.
fn signed(bodies: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let key = Secret::new(KEY);
    let now = Utc::now().timestamp();
    bodies
        .iter()
        .map(|body| post("/webhook", body, Some(("x-signature", &sign(&key, body, now)))))
        .collect()
}

/// A request as it goes on the wire, with one more header when given.
fn post(path: &str, body: &[u8], header: Option<(&str, &str)>) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some((name, value)) = header {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// A GET of the admin API, with its token.
fn admin_get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {ADMIN_TOKEN}\r\n\r\n").into_bytes()
}

/// Builds a scenario's requests, as they go on the wire.
type Requests = Box<dyn Fn() -> Vec<Vec<u8>>>;

/// One batch of requests to send, `concurrency` connections at a time.
struct Scenario {
    name: String,
    route: Option<&'static str>,
    goal: Option<f64>,
    /// Built (and signed) each time the scenario runs, just before its clock starts.
    requests: Requests,
    concurrency: usize,
}

/// The scenario's figures; `None` when `--only` leaves it out.
async fn run(address: SocketAddr, scenario: Scenario, pid: u32) -> Option<Figures> {
    match is_chosen(&scenario.name) {
        true => Some(drive(address, &scenario, pid).await),
        false => None,
    }
}

/// One run of the scenario.
async fn drive(address: SocketAddr, scenario: &Scenario, pid: u32) -> Figures {
    let concurrency = scenario.concurrency;
    let requests = Arc::new((scenario.requests)());
    let count = requests.len();
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_seconds(pid);
    let stolen_before = stolen_seconds();
    let started = Instant::now();
    let connections: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(keep_alive(address, Arc::clone(&requests), Arc::clone(&next))))
        .collect();
    let mut outcomes = Vec::with_capacity(count);
    for connection in connections {
        let answered = tokio::time::timeout_at((started + SCENARIO_BOUND).into(), connection)
            .await
            .expect("the scenario finishes within its bound")
            .expect("a client connection never panics");
        outcomes.extend(answered);
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_seconds(pid) - cpu_before;
    let stolen = stolen_seconds();
    let stolen: [f64; 2] = std::array::from_fn(|side| (stolen[side] - stolen_before[side]) / seconds);
    let mut reasons = BTreeMap::new();
    let mut latencies_ms: Vec<f64> = Vec::with_capacity(outcomes.len());
    for (ms, reason) in outcomes {
        latencies_ms.push(ms);
        *reasons.entry(reason).or_insert(0) += 1;
    }
    latencies_ms.sort_by(f64::total_cmp);
    Figures {
        name: scenario.name.clone(),
        route: scenario.route,
        goal: scenario.goal,
        requests: count,
        concurrency,
        seconds,
        latencies_ms,
        reasons,
        rss_kib: rss_kib(pid),
        cpu_seconds,
        ceiling: None,
        ratios: Vec::new(),
        stolen,
    }
}

/// The time the hypervisor ran something else on the server's core and on the client's
/// (`steal` of `/proc/stat`), in seconds so far; zeros where it is not reported.
fn stolen_seconds() -> [f64; 2] {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    [SERVER_CORE, CLIENT_CORE].map(|core| {
        let name = format!("cpu{core}");
        stat.lines()
            .find(|line| line.split_whitespace().next() == Some(name.as_str()))
            .and_then(|line| line.split_whitespace().nth(8)?.parse::<u64>().ok())
            .map_or(0.0, |ticks| ticks as f64 / 100.0)
    })
}

/// One client connection: takes the next request until there are none, and notes each
/// answer's latency and reason.
async fn keep_alive(address: SocketAddr, requests: Arc<Vec<Vec<u8>>>, next: Arc<AtomicUsize>) -> Vec<(f64, String)> {
    let mut answered = Vec::new();
    let mut stream = None;
    let mut buffer = Vec::with_capacity(16 * 1024);
    while let Some(request) = requests.get(next.fetch_add(1, Ordering::Relaxed)) {
        let sent = Instant::now();
        let reason = match exchange(&mut stream, address, request, &mut buffer).await {
            Ok(reason) => reason,
            Err(_) => {
                stream = None;
                "TRANSPORT_ERROR".to_string()
            }
        };
        answered.push((sent.elapsed().as_secs_f64() * 1000.0, reason));
    }
    answered
}

/// Sends one request on the connection (opened first if need be) and reads its answer:
/// the webhook's `reason`, `answered` for another 200, else the HTTP status.
async fn exchange(
    stream: &mut Option<TcpStream>,
    address: SocketAddr,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> std::io::Result<String> {
    let connection = match stream {
        Some(connection) => connection,
        None => {
            let connection = TcpStream::connect(address).await?;
            connection.set_nodelay(true)?;
            stream.insert(connection)
        }
    };
    connection.write_all(request).await?;
    buffer.clear();
    let invalid = || std::io::Error::from(std::io::ErrorKind::InvalidData);
    let head = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if connection.read_buf(buffer).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    };
    let headers = std::str::from_utf8(&buffer[..head]).map_err(|_| invalid())?;
    let status = headers.split(' ').nth(1).ok_or_else(invalid)?.to_string();
    let length: usize = headers
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(invalid)?;
    while buffer.len() < head + length {
        if connection.read_buf(buffer).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    if status != "200" {
        return Ok(format!("HTTP {status}"));
    }
    let body = &buffer[head..head + length];
    const REASON: &[u8] = b"\"reason\":\"";
    Ok(match body.windows(REASON.len()).position(|w| w == REASON) {
        Some(at) => {
            let rest = &body[at + REASON.len()..];
            let end = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
            String::from_utf8_lossy(&rest[..end]).into_owned()
        }
        None => "answered".to_string(),
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(0.0)
}

/// Where `cargo bench` (criterion) leaves its results: `target/criterion`, beside this
/// example's `target/release`.
fn criterion_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("criterion"))
        .unwrap_or_default()
}

/// One `cargo bench` result: criterion's `benchmark.json` and `estimates.json`.
struct Bench {
    group: String,
    function: String,
    parameter: Option<String>,
    mean_ns: f64,
    measured: chrono::DateTime<Utc>,
}

/// Every result under `dir` (each benchmark's `new/` folder), in no particular order.
fn criterion_results(dir: &Path) -> Vec<Bench> {
    let mut results = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                results.extend(read_bench(&path));
            } else {
                folders.push(path);
            }
        }
    }
    results
}

fn read_bench(folder: &Path) -> Option<Bench> {
    let read =
        |name: &str| -> Option<Value> { serde_json::from_str(&std::fs::read_to_string(folder.join(name)).ok()?).ok() };
    let benchmark = read("benchmark.json")?;
    let estimates = read("estimates.json")?;
    let measured = std::fs::metadata(folder.join("estimates.json")).ok()?.modified().ok()?;
    Some(Bench {
        group: benchmark["group_id"].as_str()?.to_string(),
        function: benchmark["function_id"].as_str().unwrap_or("").to_string(),
        parameter: benchmark["value_str"].as_str().map(String::from),
        mean_ns: estimates["mean"]["point_estimate"].as_f64()?,
        measured: measured.into(),
    })
}

fn duration(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.0} ns"),
        ns if ns < 1e6 => format!("{:.1} µs", ns / 1e3),
        ns => format!("{:.2} ms", ns / 1e6),
    }
}

/// The `cargo bench` tables: a group without parameters as one row per benchmark, a
/// group with parameters (catalogue size, invoice lines) as one row per parameter.
fn render_benches(dir: &Path) -> String {
    let mut benches = criterion_results(dir);
    let mut out = String::new();
    if benches.is_empty() {
        let _ = writeln!(
            out,
            "No `cargo bench` results in `{}`: run `cargo bench` first.\n",
            dir.display()
        );
        return out;
    }
    let order = ["webhook", "catalogue growth", "planning", "invoice growth"];
    let rank = |group: &str| order.iter().position(|g| *g == group).unwrap_or(order.len());
    let number = |p: &Option<String>| p.as_deref().and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    benches.sort_by(|a, b| {
        (rank(&a.group), &a.group, number(&a.parameter), &a.function).cmp(&(
            rank(&b.group),
            &b.group,
            number(&b.parameter),
            &b.function,
        ))
    });
    let newest = benches.iter().map(|b| b.measured).max().unwrap();
    let oldest = benches.iter().map(|b| b.measured).min().unwrap();
    let _ = writeln!(
        out,
        "Written from `target/criterion` as `cargo bench` left it (measured {} to {} UTC): criterion's mean \
         time per call, 20 samples in about 2 s. The benchmarks are `benches/webhook.rs` and \
         `benches/matching.rs`, with the service's allocator (mimalloc); \"alike\" products are named `Catalogue Item Number 00000` to `…09995` and a \
         line misspells one of them (`Numbr`), the hardest case for the index; other catalogues hold \
         distinct names, and every catalogue also holds the fixture's four products.\n",
        oldest.format("%Y-%m-%d %H:%M"),
        newest.format("%Y-%m-%d %H:%M"),
    );
    let mut groups: Vec<&str> = benches.iter().map(|b| b.group.as_str()).collect();
    groups.dedup();
    for group in groups {
        let members: Vec<&Bench> = benches.iter().filter(|b| b.group == group).collect();
        let _ = writeln!(out, "### {group}\n");
        if members.iter().all(|b| b.parameter.is_none()) {
            let _ = writeln!(out, "| benchmark | time per call |\n|---|---:|");
            for b in members {
                let _ = writeln!(out, "| {} | {} |", b.function, duration(b.mean_ns));
            }
        } else {
            let mut functions: Vec<&str> = members.iter().map(|b| b.function.as_str()).collect();
            functions.sort();
            functions.dedup();
            let mut parameters: Vec<&Option<String>> = members.iter().map(|b| &b.parameter).collect();
            parameters.dedup();
            let what = if group.contains("invoice") { "lines" } else { "products" };
            let _ = writeln!(out, "| {what} | {} |", functions.join(" | "));
            let _ = writeln!(out, "|---:|{}", "---:|".repeat(functions.len()));
            for parameter in parameters {
                let cells: Vec<String> = functions
                    .iter()
                    .map(|f| {
                        members
                            .iter()
                            .find(|b| b.function == *f && b.parameter == *parameter)
                            .map(|b| duration(b.mean_ns))
                            .unwrap_or_default()
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} |",
                    parameter.as_deref().unwrap_or(""),
                    cells.join(" | ")
                );
            }
        }
        let _ = writeln!(out);
    }
    out
}

/// Where and how the figures were taken.
struct Machine {
    is_pinned: bool,
    load_before: String,
    load_after: String,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn render(machine: &Machine, backends: &[Backend], criterion: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Performance\n");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1);
    let pinning = match machine.is_pinned {
        true => format!(
            "The server under test (the connector, or the bare route) runs pinned to core {SERVER_CORE} (`taskset`); \
             the load tool, its client, the simulated upstreams and PostgreSQL run on core {CLIENT_CORE}."
        ),
        false => "Nothing is pinned (`taskset` is missing or the machine has one core): the client and the \
                  server share the cores, and the ratios say less."
            .to_string(),
    };
    let _ = writeln!(
        out,
        "Written by `cargo bench && cargo build --release && cargo run --release --example load` on {} \
         ({cores} cores, {cpu}; \
         load average {} before the run, {} after). {pinning} Both servers inherit a one-core mask, so each \
         tokio runtime has one worker ({} threads in the bare route's process, {} in the connector's at idle). \
         The client is a bare HTTP/1.1 keep-alive loop over requests built and signed before the clock starts. \
         The connector runs against the simulated TripleSeat, Revel and SendGrid of the `fakes` crate, which \
         answer in microseconds: these figures are the connector's own cost, not a real upstream's latency. \
         Memory is the connector's resident set, from `/proc/<pid>/status`.\n",
        Utc::now().format("%Y-%m-%d"),
        machine.load_before,
        machine.load_after,
        backends.first().map(|b| b.ceiling_threads).unwrap_or(0),
        backends.first().map(|b| b.idle_threads).unwrap_or(0),
    );

    let _ = writeln!(out, "## Against a bare axum route\n");
    let fixture = fixture();
    let tomorrow = Utc::now().date_naive().format("%m/%d/%Y").to_string();
    let _ = writeln!(
        out,
        "The same client, requests and concurrency against a bare axum route in a process of its own on the \
         same core, started beside each connector and measured in this same run. Its `POST /webhook` reads the \
         body and answers a JSON as long as the connector's non-actionable answer: `webhook` with the {}-byte \
         bodies of the non-actionable and kill-switch scenarios (the fixture event's id, site and plain fields, \
         about 1.5 KB), `webhook, whole event` with the {}-byte bodies of the TOO_EARLY scenarios (the whole \
         fixture event, invoice included). Its `GET /health` answers a JSON as long as the connector's ({} \
         bytes). Each compared scenario runs {ROUNDS} times, each time right after the bare route's run of the \
         same requests, so the two meet the machine in the same moment; a row is the round with the median \
         ratio, every round's ratio in brackets, lowest first. The TOO_EARLY flood runs once: a second round \
         would find its keys settled.\n",
        non_actionable_bodies(&fixture, 0)[0].len(),
        delivery(&fixture, 1, &tomorrow, "rev-0").len(),
        backends.first().map(|b| b.health_bytes).unwrap_or(0),
    );
    let _ = writeln!(
        out,
        "| scenario | concurrency | req/s | ceiling | its req/s | × ceiling | goal | p99 ms (ceiling's) | server CPU µs/request (ceiling's) |\n\
         |---|---:|---:|---|---:|---:|---:|---:|---:|"
    );
    for f in backends.iter().flat_map(|b| &b.results) {
        let (Some(route), Some(bare)) = (f.route, &f.ceiling) else {
            continue;
        };
        let compared = match route {
            "health" => "health",
            "webhook-full" => "webhook, whole event",
            _ => "webhook",
        };
        let goal = f.goal.map(|g| format!("≥ {g:.1}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {compared} | {:.0} | {} | {goal} | {:.2} ({:.2}) | {:.1} ({:.1}) |",
            f.name,
            f.concurrency,
            f.rate(),
            bare.rate(),
            ratios(f),
            percentile(&f.latencies_ms, 0.99),
            percentile(&bare.latencies_ms, 0.99),
            f.cpu_us(),
            bare.cpu_us(),
        );
    }

    let _ = writeln!(out, "\n## Webhooks over HTTP\n");
    let _ = writeln!(out, "| scenario | requests | concurrency | throughput (req/s) | p50 ms | p95 ms | p99 ms | max ms | server CPU µs/request | server core busy | stolen (server / client core) | RSS after (MiB) | answers |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for f in backends.iter().flat_map(|b| &b.results) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.0} % | {:.0} / {:.0} % | {:.1} | {} |",
            f.name,
            f.requests,
            f.concurrency,
            f.rate(),
            percentile(&f.latencies_ms, 0.50),
            percentile(&f.latencies_ms, 0.95),
            percentile(&f.latencies_ms, 0.99),
            f.latencies_ms.last().copied().unwrap_or(0.0),
            f.cpu_us(),
            f.busy() * 100.0,
            f.stolen[0] * 100.0,
            f.stolen[1] * 100.0,
            f.rss_kib as f64 / 1024.0,
            answers(f),
        );
    }
    let _ = writeln!(out);
    for b in backends {
        let _ = write!(
            out,
            "{}: resident memory {:.1} MiB idle after startup ({} threads), {:.1} MiB at peak (`VmHWM`) after all \
             scenarios. Orders in the simulated Revel at the end: {}.",
            b.name,
            b.idle_rss as f64 / 1024.0,
            b.idle_threads,
            b.peak_rss as f64 / 1024.0,
            b.orders,
        );
        if let Some((bytes, lines)) = b.log {
            let _ = write!(
                out,
                " Its log: {lines} lines, {:.1} MiB, written to a file through the log's writer thread.",
                bytes as f64 / (1024.0 * 1024.0)
            );
        }
        let _ = writeln!(out, "\n");
    }
    let _ = writeln!(
        out,
        "The TOO_EARLY flood sends {FLOOD} unique delivery keys, twice the in-memory map's cap of 100 000 \
         (`IDEMPOTENCY_MAX_ENTRIES`): the RSS after it is the map at its cap.\n"
    );

    let _ = writeln!(out, "## Concurrent due events at one site\n");
    let _ = writeln!(
        out,
        "N different events, all due today at the one site, delivered at once (N connections, one delivery \
         each), each injected into the simulated Revel (n + 5 writes, under its own lease and single-flight \
         turn). Runs of different events never wait for each other, so the slowest answer grows with the CPU \
         the N runs share, not with a queue behind one another.\n"
    );
    let _ = writeln!(
        out,
        "| backend | events at once | wall ms | p50 ms | max ms | answers |\n|---|---:|---:|---:|---:|---|"
    );
    for b in backends {
        for f in &b.due {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.2} | {:.2} | {} |",
                b.name,
                f.concurrency,
                f.seconds * 1000.0,
                percentile(&f.latencies_ms, 0.50),
                f.latencies_ms.last().copied().unwrap_or(0.0),
                answers(f),
            );
        }
    }

    let _ = writeln!(out, "\n## Pure functions (`cargo bench`)\n");
    out.push_str(&render_benches(criterion));
    let _ = writeln!(
        out,
        "## Reading the figures\n\n\
         * A webhook that stops at a cheap guard (kill switch, signature, trigger) does no I/O: its journal row \
           is written off the request path, in batches. An actionable one asks the store once for its delivery \
           key (unless the in-memory map already knows it) and, when its verdict settles the key, writes it \
           once, also in batches: that is the TOO_EARLY row, which most deliveries are, since events are booked \
           days ahead.\n\
         * An injection also takes and releases the event's lease in the store (two more round trips) and stores \
           its success email in the outbox before answering.\n\
         * An injection costs two order lookups (both `local_id` forms), the cached catalogue, and n + 5 Revel \
           writes for n lines (order, items, discount, payment, finalize, history: 9 for the fixture's 4 lines); \
           against a real tenant its latency is Revel's, not the connector's.\n\
         * TripleSeat reads are paced to about 9 a second for the whole process, so a burst of webhooks that \
           lack financials is paced by that limit, by design.\n\
         * A delivery that stops at steps 1–5 (kill switch, body, signature, JSON, trigger) is answered in the \
           request's own task: no task of its own, no deadline timer (a panic there is still `INTERNAL_ERROR`). \
           Only an actionable one is handed to a task under the deadline.\n\
         * Journal rows are the largest cost left on the cheap paths: every run writes one (SPEC 17), and on \
           SQLite the insert runs on the server's own core. They leave after a 5 ms linger in multi-row \
           statements of fixed sizes (64, 8 and 1 rows), each prepared once per connection; statements whose \
           text grew with the batch were parsed anew every time, and numbered parameters cost SQLite a scan of \
           every name per value bound. With the journal switched off in a trial, the kill switch ran at 0.95 × \
           the ceiling and a non-actionable delivery at 0.53 ×. In a later pair of trials the rows cost the kill \
           switch 3–4.5 µs of CPU a request (9.0 µs without them, 12.0–13.5 with) and most of its p99 (0.65 ms \
           without, 2.8–3.2 ms with). That tail grows with the batch, not with SQLite's checkpoints: with no \
           checkpoint during the run it was 2.8 ms; a linger of 1, 20 or 50 ms instead of 5 gave 2.5, 4.2 and \
           4.5 ms (the shorter one at two thirds of the throughput). The tokio worker waited at most 0.2 ms for \
           the core in a scheduler trace, so the wait is in the process, not in the kernel's run queue.\n\
         * Where a non-actionable delivery's time goes (perf on the pinned connector, 1.5 KB bodies): the \
           kernel's loopback TCP, the journal row (above), reading the body's trigger and ids \
           (`tripleseat::delivery` checks the whole body as a full parse would but builds no tree; the values it \
           does not keep are skipped with serde's `IgnoredAny` unless the body holds one of the three things \
           such a skip checks less), the HMAC, hyper, copying and allocation.\n\
         * The CPU column is the server process's CPU time over the scenario (all its threads) divided by its \
           requests: what a request costs whatever else the machine was doing. Where the server's core was not \
           busy, the client's core was the limit: PostgreSQL's server processes share it with the load \
           generator; in some runs the PostgreSQL TOO_EARLY flood saturated that core while the connector's \
           was a quarter busy, and then that row measured the client side.\n\
         * `stolen` is the share of a run's time in which the hypervisor ran another guest on the server's \
           core and on the client's (`steal` in `/proc/stat`): a run with much of it measured a neighbour. The \
           rounds of a compared scenario are there for the same reason: on this shared VM one run of the same \
           binary could differ from the next by a third.\n\
         * `/health` shares one store round trip (and one read of the stored TripleSeat tokens) a second among \
           its callers, so the store's state it shows may be a second old; its answer is written from a typed \
           struct.\n\
         * A TOO_EARLY delivery is skimmed like any other (its key and date are kept, no tree is built), asks \
           the store whether its key is settled (the keys asked while a lookup is under way, or in the same turn \
           of the scheduler, go together in the next one), and settles it. The skim of the 7.5 KB body and the \
           HMAC over it are most of its own CPU; the rest is SQLite's thread (about 28 % of the core in a \
           profile) and the switches to it and back on the one core. Each delivery of the flood adds a key to \
           an index of up to 200,000 (and a journal row), and the flood's ids spread those inserts over the \
           index's pages: about one WAL page a request (two `pwrite`s, its header and its page) and a share of \
           the checkpoints (every 1,000 pages, several a second). A batch's upsert used to spill its statement \
           journal to a temporary file, two `pwrite`s more per page, about half of all SQLite's writes; it is \
           kept in memory now (`temp_store = memory`: 86–105 µs of CPU a request before, 70–81 after, across \
           runs of the flood alone). Letting the key lookups ready in the same turn join one query halved the \
           context switches (from about one a request) without a change in CPU that this machine's noise could \
           show. A larger page cache (16 MiB) or `mmap_size` did not help beyond noise. SQLite's pool no longer pings a connection before each call \
           (a round trip to its thread; a TOO_EARLY request went from 102 to 89 µs of CPU in one pair of runs); PostgreSQL's still does, \
           since a restarted server leaves pooled connections that would fail. A run past the gate reads the \
           event straight from the body into its typed form; the tree is built only to merge a payload that \
           lacks financials with the API's event. In a profile with call graphs, writing the answer \
           (`writev`) was about a fifth of the tokio worker's time: on loopback the sender's kernel delivers the \
           segment to the client's socket and wakes the client. Neither a load client that never sleeps nor \
           dedicated SQLite connections for the batch writes and for the key lookups (each with a 16 MiB cache) \
           changed the figures beyond noise in trials.\n\
         * The two `admin journal` rows ask `GET /admin/api/deliveries` for one event once the TOO_EARLY flood \
           has filled the journal (about 280,000 rows): an event with no rows, which the console asks of each of \
           today's events, and one event's latest 50 of its 200. Both are read through the `journal_by_event` \
           index. While one statement served this read and the unfiltered one (`$1 IS NULL OR event_id = $1`), \
           SQLite could not use that index and walked the journal by time: 341 ms and 94 ms a request at the \
           same size, against 0.13 and 0.8 ms now. A read by reason alone still walks by time until it has its \
           rows: an index on the reason would cost every journal row one more insert.\n\
         * With `RUST_LOG=info` a non-actionable delivery costs the server a few µs more CPU than without \
           (compare the two rows: 1.5 to 8 µs across the runs of one day, 6 to 18 µs across another's). In a \
           profile, formatting the lines took about 14 % of the tokio worker (4–5 µs a request). A line is \
           appended to a shared buffer under an uncontended lock (`src/telemetry/log_writer.rs`); the writer \
           thread wakes at the first line of a burst, lets the rest gather for 5 ms and writes them all in one \
           system call. tracing-appender's writer, used before, allocated a `Vec` for each line and a queue of \
           16,384 line slots (512 KiB) at startup; in interleaved runs the CPU a request differed by less than \
           this machine's noise.\n\
         * Idle memory: most of the idle resident set is the binary's own code and data pages (`RssFile` in \
           `/proc/<pid>/status`, about 8 MiB of a 10.7 MB binary), shared and reclaimable. It is built with \
           `lto = \"fat\"` and one codegen unit, which cut 3 MiB, and for size (`opt-level = \"s\"`) but for \
           SHA-256, SQLite and the allocator, which cut 1.9 MiB more (13.1 to 11.2 MiB over five starts of each \
           binary; its code went from 10.7 to 7.9 MB). With everything built for size, pairs of runs of the kill \
           switch, non-actionable and TOO_EARLY scenarios used as much CPU a request as before within this \
           machine's noise, and so did the benchmarks of parsing, matching and planning; SHA-256 was three times \
           slower (6 to 20 µs over the fixture body), so it is kept at full optimization. The process's own \
           memory (`RssAnon`) is about 3.2 MiB: one tokio worker per core, the 1.2 MB of pointer tables the loader \
           patches (below), SQLite's connections with their page caches, the small maps. Three things were cut: \
           tracing-appender's default queue of 128,000 lines (4 MiB, allocated whole), then its queue altogether \
           (16,384 slots, 512 KiB: the log's own writer holds a buffer only while lines wait, 0.5 MiB less idle \
           over five starts of each binary), and mimalloc's first arena on transparent huge pages (10 MiB). A fixed-address (non-PIE) build measured 11.6 MiB idle (`RssAnon` \
           2.0 MiB: no relocation table read at start, no 1.2 MB of pointer tables patched into private \
           pages); it is not used, because it fixes the binary's load address (weaker ASLR for a service on the \
           internet) and still misses 10 MiB. The table of load-time relocations is packed instead (`DT_RELR`, \
           `build.rs`): 47,600 entries of 24 bytes (1.1 MB, read whole at every start) became 22 KB, and the idle \
           resident set fell by 1.0 MiB (15.0 to 13.9 MiB, five starts of each binary, measured before the log writer's change). The code itself is \
           resident almost whole: starting touches 116 of its 130 aligned 64 KiB windows, and on a fault the \
           kernel maps every page of the window that is already in the page cache (fault-around), so the code's \
           share follows the binary's size more than the code that ran. Of the 47,459 pointers the loader \
           patches at start, about 29,000 point at the timezone abbreviations (`CET`, `EST`, …) of chrono-tz's \
           transition tables, most of the 1.3 MB of pointer tables (`.data.rel.ro`) each start copies into \
           private pages: a trial build keeping only `America/*` and `UTC` (`CHRONO_TZ_TIMEZONE_FILTER`) held \
           0.5 MiB less `RssAnon`. It is not used: a site may be in any IANA timezone.\n"
    );
    out
}

/// The kept round's ratio to the bare route, and every round's when there were more.
fn ratios(f: &Figures) -> String {
    let kept = f.ceiling.as_ref().map_or(0.0, |bare| f.rate() / bare.rate());
    match f.ratios.as_slice() {
        [] | [_] => format!("{kept:.2}"),
        all => format!(
            "{kept:.2} ({})",
            all.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn answers(f: &Figures) -> String {
    let answers: Vec<String> = f.reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
    answers.join(", ")
}

/// The CPU time process `pid` has used so far, all its threads (those ended too), in
/// seconds: `utime` and `stime` of `/proc/PID/stat`, in Linux's fixed 100 ticks a second.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name (field 2) may hold spaces; the fields after it do not.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

fn peak_rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

async fn wait_until_up(client: &reqwest::Client, base: &str) {
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not start within 10 s");
}
