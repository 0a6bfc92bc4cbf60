//! The built binary: `sign`, configuration errors, SIGTERM, and logs that never
//! carry a secret.

use std::process::Stdio;
use std::time::Duration;

use connector::secret::Secret;
use connector::tripleseat::signature::Verifier;
use fakes::Fault;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{paid_event, start_fakes, webhook, Fakes};

const BINARY: &str = env!("CARGO_BIN_EXE_tripleseat-revel-connector");

/// The built binary with nothing of the developer's: an empty environment, and a
/// working directory of its own, so no `.env` file is found; killed if dropped.
pub fn connector_command() -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn sign_prints_a_header_that_verifies() {
    let body = webhook("UPDATE_EVENT", paid_event()).to_string();
    let mut child = connector_command()
        .arg("sign")
        .env("TRIPLESEAT_WEBHOOK_SIGNING_KEY", "cli-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body.as_bytes()).await.unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    let header = String::from_utf8(output.stdout).unwrap();
    let key = Secret::new("cli-key");
    let verifier = Verifier {
        key: Some(&key),
        scheme: connector::tripleseat::signature::SignatureScheme::Timestamped,
        tolerance_secs: 300,
    };
    assert_eq!(
        verifier.verify(Some(header.trim()), body.as_bytes(), chrono::Utc::now().timestamp()),
        Ok(())
    );
}

#[tokio::test]
async fn sign_without_a_key_says_which_variable_is_missing() {
    let output = connector_command()
        .arg("sign")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("TRIPLESEAT_WEBHOOK_SIGNING_KEY"));
}

#[tokio::test]
async fn a_bad_configuration_stops_startup_naming_the_variable() {
    let cases = [
        ("DRY_RUN", "maybe", "DRY_RUN"),
        ("WEBHOOK_SIGNATURE_SCHEME", "rsa", "WEBHOOK_SIGNATURE_SCHEME"),
        (
            "LOCATIONS_JSON",
            r#"{"15901": {"revel_establishment": 4, "timezone": "Mars/Base"}}"#,
            "site 15901: field timezone",
        ),
    ];
    for (name, value, expected) in cases {
        let output = connector_command()
            .env("PORT", "0")
            .env(name, value)
            .output()
            .await
            .unwrap();
        assert!(!output.status.success(), "{name}={value} should stop startup");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

/// The binary on an ephemeral port, with its output collected; killed if dropped.
pub struct Running {
    child: Child,
    pub port: u16,
    output: tokio::task::JoinHandle<String>,
    /// The SQLite store made for it when the caller gave no `DATABASE_URL`.
    _store: Option<crate::helpers::TestStore>,
}

pub async fn start_binary(env: &[(&str, String)]) -> Running {
    start_command(connector_command(), env).await
}

/// Starts `command` on an ephemeral port with `env` (and a SQLite store of its own
/// unless `env` names `DATABASE_URL`), and waits until it listens.
pub async fn start_command(mut command: Command, env: &[(&str, String)]) -> Running {
    command
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("SWEEP_INTERVAL_SECS", "0");
    let store = (!env.iter().any(|(name, _)| *name == "DATABASE_URL")).then(crate::helpers::TestStore::new);
    if let Some(store) = &store {
        command.env("DATABASE_URL", store.url());
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let port = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            seen.push_str(&line);
            seen.push('\n');
            if let Some(port) = line.split("port=").nth(1) {
                return port
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_matches('"')
                    .parse::<u16>()
                    .unwrap();
            }
        }
        panic!("the binary exited before listening:\n{seen}");
    })
    .await
    .expect("the binary starts listening within 20 s");
    let output = tokio::spawn(async move {
        let mut rest = seen;
        while let Ok(Some(line)) = stdout.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        let mut errors = String::new();
        let _ = stderr.read_to_string(&mut errors).await;
        rest + &errors
    });
    Running {
        child,
        port,
        output,
        _store: store,
    }
}

impl Running {
    /// SIGKILL: no shutdown, no flush, as a crash or an out-of-memory kill.
    pub async fn kill(mut self) -> String {
        self.child.kill().await.unwrap();
        self.output.await.unwrap()
    }

    pub async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().unwrap();
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits within 30 s")
            .unwrap();
        (status, self.output.await.unwrap())
    }
}

pub fn upstream_env(fakes: &Fakes, secrets: &Secrets) -> Vec<(&'static str, String)> {
    let locations =
        json!({"15901": {"name": "Summerlin", "revel_establishment": 4, "timezone": "America/Los_Angeles"}});
    let mut env = fakes.connector_env();
    env.extend([
        ("LOCATIONS_JSON", locations.to_string()),
        ("TRIPLESEAT_WEBHOOK_SIGNING_KEY", secrets.signing.clone()),
        ("TRIPLESEAT_OAUTH_CLIENT_ID", "unused-client".into()),
        ("TRIPLESEAT_OAUTH_CLIENT_SECRET", secrets.oauth.clone()),
    ]);
    env
}

pub struct Secrets {
    pub signing: String,
    pub oauth: String,
}

impl Secrets {
    /// A test's own signing key and OAuth secret, told apart by `name`.
    pub fn named(name: &str) -> Secrets {
        Secrets {
            signing: format!("{name}-signing-key"),
            oauth: format!("{name}-oauth-secret"),
        }
    }

    /// The `X-Signature` for `body`, now.
    pub fn sign(&self, body: &serde_json::Value) -> String {
        connector::tripleseat::signature::sign(
            &Secret::new(self.signing.clone()),
            body.to_string().as_bytes(),
            chrono::Utc::now().timestamp(),
        )
    }
}

/// Posts a signed delivery from a task of its own, for a test that does something else
/// meanwhile (a kill, a SIGTERM); its answer, if one came within 30 s.
pub fn deliver_in_background(
    port: u16,
    secrets: &Secrets,
    body: serde_json::Value,
) -> tokio::task::JoinHandle<Option<serde_json::Value>> {
    let signature = secrets.sign(&body);
    tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(30), post(port, &body, Some(signature)))
            .await
            .ok()
    })
}

/// Waits, at most five seconds, until `plan` has seen a `method` request to `path`.
pub async fn wait_for_request(plan: &fakes::faults::Plan, method: &str, path: &str) {
    for _ in 0..250 {
        if plan.count(method, path) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {method} {path} within 5 s");
}

/// Posts a delivery for today (the binary runs on the real clock).
pub async fn post(port: u16, body: &serde_json::Value, signature: Option<String>) -> serde_json::Value {
    let mut request = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("x-signature", signature);
    }
    request.send().await.unwrap().json().await.unwrap()
}

pub fn due_today(id: u64) -> serde_json::Value {
    let mut event = paid_event();
    event["id"] = json!(id);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    event["event_date"] = json!(today.format("%m/%d/%Y").to_string());
    event
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_webhook_answer_then_exits_zero() {
    let fakes = start_fakes().await;
    let secrets = Secrets::named("sigterm");
    let running = start_binary(&upstream_env(&fakes, &secrets)).await;
    fakes.revel.plan().fail(
        Some("POST"),
        "/resources/Order/",
        Fault::Hang(Duration::from_millis(1500)),
        1,
    );
    let in_flight = deliver_in_background(running.port, &secrets, webhook("UPDATE_EVENT", due_today(5001)));
    // Wait until the write is under way, then ask the process to stop.
    wait_for_request(fakes.revel.plan(), "POST", "/resources/Order/").await;
    let (status, output) = running.terminate().await;
    let answer = in_flight.await.unwrap().expect("an answer");
    assert_eq!(answer["reason"], json!("REVEL_INJECTED"), "{answer:#}\n{output}");
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(output.contains("SIGTERM received"), "{output}");
    assert_eq!(
        fakes.sendgrid.messages().len(),
        1,
        "the queued email went out before exit"
    );
}

#[tokio::test]
async fn logs_of_a_busy_run_never_contain_a_secret() {
    let fakes = start_fakes().await;
    let secrets = Secrets {
        signing: "whsec-LOGCHECK-signing-0042".into(),
        oauth: "oauth-LOGCHECK-secret-0042".into(),
    };
    let mut env = upstream_env(&fakes, &secrets);
    env.push(("RUST_LOG", "debug".into()));
    let running = start_binary(&env).await;
    let key = Secret::new(secrets.signing.clone());
    let now = chrono::Utc::now().timestamp();

    let injected = webhook("UPDATE_EVENT", due_today(6001));
    let good = connector::tripleseat::signature::sign(&key, injected.to_string().as_bytes(), now);
    assert_eq!(
        post(running.port, &injected, Some(good.clone())).await["reason"],
        json!("REVEL_INJECTED")
    );
    fakes.tripleseat.put_event(due_today(6002));
    let mut status_change = crate::helpers::status_change_webhook();
    status_change["event"] = json!({"id": 6002, "site_id": 15901, "status": "DEFINITE"});
    let signed = connector::tripleseat::signature::sign(&key, status_change.to_string().as_bytes(), now);
    assert_eq!(
        post(running.port, &status_change, Some(signed)).await["reason"],
        json!("REVEL_INJECTED")
    );
    let wrong =
        connector::tripleseat::signature::sign(&Secret::new("not-the-key"), injected.to_string().as_bytes(), now);
    assert_eq!(
        post(running.port, &injected, Some(wrong.clone())).await["reason"],
        json!("SIGNATURE_VERIFICATION_FAILED_MISMATCH")
    );
    for _ in 0..100 {
        if fakes.sendgrid.messages().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, output) = running.terminate().await;
    assert!(
        output.contains("Outcome: REVEL_INJECTED"),
        "the run was logged:\n{output}"
    );
    assert!(output.contains("req-"), "correlation ids are logged");
    let mac = |header: &str| header.split("v1=").nth(1).unwrap().to_string();
    for secret in [
        secrets.signing.as_str(),
        secrets.oauth.as_str(),
        fakes::tripleseat::PUBLIC_API_KEY,
        fakes::revel::API_KEY,
        fakes::revel::API_SECRET,
        fakes::sendgrid::API_KEY,
        &mac(&good),
        &mac(&wrong),
    ] {
        assert!(!output.contains(secret), "{secret:?} appeared in the logs");
    }
}

/// The sandbox example: examples are built next to the test binaries, in
/// `target/<profile>/examples/`.
fn sandbox_binary() -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    deps.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("sandbox")
}

#[tokio::test]
async fn the_sandbox_runs_the_whole_flow_end_to_end() {
    let sandbox = sandbox_binary();
    assert!(
        sandbox.exists(),
        "cargo test builds the sandbox example at {}",
        sandbox.display()
    );
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(&sandbox).arg("--self-check").kill_on_drop(true).output(),
    )
    .await
    .expect("the self-check finishes within 60 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("sandbox self-check passed"), "{stdout}");
}

#[tokio::test]
async fn spawned_binaries_ignore_a_developers_env_file() {
    let developer = tempfile::tempdir().unwrap();
    std::fs::write(developer.path().join(".env"), "DRY_RUN=true\nENABLE_CONNECTOR=false\n").unwrap();
    let health = |port: u16| async move {
        reqwest::get(format!("http://127.0.0.1:{port}/health"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    // The file is real: run where it lies, it is read.
    let mut in_the_developers_dir = connector_command();
    in_the_developers_dir.current_dir(developer.path());
    let running = start_command(in_the_developers_dir, &[]).await;
    let seen = health(running.port).await;
    assert_eq!(
        (&seen["dry_run"], &seen["enable_connector"]),
        (&json!(true), &json!(false)),
        "{seen}"
    );
    running.terminate().await;
    // The suite's spawner never sees it.
    let running = start_binary(&[]).await;
    let seen = health(running.port).await;
    assert_eq!(seen["dry_run"], json!(false), "{seen}");
    assert_eq!(seen["enable_connector"], json!(true));
    running.terminate().await;
}

#[tokio::test]
async fn a_misspelt_variable_is_warned_about_and_strict_config_makes_it_fatal() {
    let running = start_binary(&[("DRYRUN", "true".into())]).await;
    let (_, output) = running.terminate().await;
    assert!(
        output.contains("DRYRUN is not a setting; did you mean DRY_RUN?"),
        "{output}"
    );
    let strict = connector_command()
        .env("DRYRUN", "true")
        .env("STRICT_CONFIG", "true")
        .output()
        .await
        .unwrap();
    assert!(!strict.status.success());
    assert!(String::from_utf8_lossy(&strict.stderr).contains("STRICT_CONFIG"));
}

#[tokio::test]
async fn help_prints_usage_and_exits_zero() {
    for flag in ["--help", "help", "-h"] {
        let output = connector_command().arg(flag).output().await.unwrap();
        assert!(output.status.success(), "{flag}");
        let text = String::from_utf8_lossy(&output.stdout);
        for part in ["usage:", "sign", "sample", "tripleseat-connect", "docs/environment.md"] {
            assert!(text.contains(part), "{flag}: {part} missing from {text}");
        }
    }
    let unknown = connector_command().arg("frobnicate").output().await.unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test]
async fn the_readmes_quick_start_ends_in_a_dry_run_with_a_planned_order() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for line in [
        "LOCATIONS_FILE=config/locations.example.json DRY_RUN=true cargo run --release",
        "cargo run -q -- sample > sample.json",
        "curl -s localhost:8000/test/webhook --data-binary @sample.json",
    ] {
        assert!(readme.contains(line), "the README no longer says {line:?}");
    }
    let sample = connector_command().arg("sample").output().await.unwrap();
    assert!(sample.status.success());
    let locations = concat!(env!("CARGO_MANIFEST_DIR"), "/config/locations.example.json");
    let running = start_binary(&[("LOCATIONS_FILE", locations.into()), ("DRY_RUN", "true".into())]).await;
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/test/webhook", running.port))
        .body(sample.stdout)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    running.terminate().await;
    assert_eq!(answer["reason"], json!("DRY_RUN"), "{answer:#}");
    assert_eq!(
        answer["planned_order"]["items"].as_array().unwrap().len(),
        4,
        "{answer:#}"
    );
}

#[tokio::test]
async fn sigterm_with_a_stuck_revel_write_exits_within_the_shutdown_budget() {
    let fakes = start_fakes().await;
    let secrets = Secrets::named("budget");
    let mut env = upstream_env(&fakes, &secrets);
    env.push(("SHUTDOWN_BUDGET_SECS", "2".into()));
    let running = start_binary(&env).await;
    fakes.revel.plan().fail(
        Some("POST"),
        "/resources/Order/",
        Fault::Hang(Duration::from_secs(60)),
        1,
    );
    let in_flight = deliver_in_background(running.port, &secrets, webhook("UPDATE_EVENT", due_today(5101)));
    wait_for_request(fakes.revel.plan(), "POST", "/resources/Order/").await;
    let signalled = std::time::Instant::now();
    let (status, output) = running.terminate().await;
    let took = signalled.elapsed();
    in_flight.abort();
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(took < Duration::from_secs(6), "took {took:?}:\n{output}");
    assert!(output.contains("Revel writes still running at the budget"), "{output}");
}

#[tokio::test]
async fn the_sandbox_stops_on_sigterm() {
    let sandbox = sandbox_binary();
    let mut child = Command::new(&sandbox)
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut body_file = None;
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(path) = line
                .split('@')
                .nth(1)
                .map(|p| p.split_whitespace().next().unwrap().to_string())
            {
                body_file = Some(path);
                return;
            }
        }
    })
    .await
    .expect("the sandbox printed its guide");
    let body_file = std::path::PathBuf::from(body_file.expect("a curl line with @file"));
    assert!(body_file.exists(), "{}", body_file.display());
    assert!(
        !body_file.starts_with(std::env::temp_dir().join("tripleseat-sandbox-event.json")),
        "a file of this run's own"
    );
    let pid = child.id().unwrap();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the sandbox exits on SIGTERM")
        .unwrap();
    assert!(status.success());
    assert!(!body_file.exists(), "its files go with it");
}

/// The binary's loader table: where the toolchain packs relative relocations
/// (`build.rs`), the binary carries them packed (`DT_RELR`) and its table of
/// unpacked ones (`DT_RELASZ`, 24 bytes each) keeps only the few that are not relative.
#[test]
fn the_binary_packs_its_relative_relocations() {
    if env!("CONNECTOR_PACKED_RELOCATIONS") != "true" {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI's toolchain should pack relocations (GNU ld 2.38 or lld 15, glibc 2.36): build.rs's probe failed"
        );
        eprintln!("\n!!! SKIPPED: this toolchain cannot pack relocations (build.rs) !!!\n");
        return;
    }
    let image = std::fs::read(BINARY).expect("the built binary");
    let dynamic = dynamic_entries(&image);
    const DT_RELASZ: u64 = 8;
    const DT_RELR: u64 = 36;
    assert!(dynamic.iter().any(|&(tag, _)| tag == DT_RELR), "no DT_RELR entry");
    let unpacked = dynamic
        .iter()
        .find(|&&(tag, _)| tag == DT_RELASZ)
        .map_or(0, |&(_, size)| size);
    assert!(unpacked < 64 * 1024, "{unpacked} bytes of unpacked relocations");
}

/// The `(tag, value)` entries of a 64-bit little-endian ELF file's dynamic section.
fn dynamic_entries(image: &[u8]) -> Vec<(u64, u64)> {
    let u16_at = |at: usize| u16::from_le_bytes(image[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(image[at..at + 8].try_into().unwrap());
    assert_eq!(&image[..6], b"\x7fELF\x02\x01", "a 64-bit little-endian ELF file");
    const PT_DYNAMIC: u32 = 2;
    let (table, entry_size, entries) = (u64_at(0x20) as usize, u16_at(0x36), u16_at(0x38));
    let header = (0..entries)
        .map(|index| table + index * entry_size)
        .find(|&at| u32_at(at) == PT_DYNAMIC)
        .expect("a dynamically linked binary");
    let (offset, size) = (u64_at(header + 0x08) as usize, u64_at(header + 0x20) as usize);
    (offset..offset + size)
        .step_by(16)
        .map(|at| (u64_at(at), u64_at(at + 8)))
        .take_while(|&(tag, _)| tag != 0)
        .collect()
}
