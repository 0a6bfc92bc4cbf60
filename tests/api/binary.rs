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

#[tokio::test]
async fn sign_prints_a_header_that_verifies() {
    let body = webhook("UPDATE_EVENT", paid_event()).to_string();
    let mut child = Command::new(BINARY)
        .arg("sign")
        .env_clear()
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
        scheme: connector::config::SignatureScheme::Timestamped,
        tolerance_secs: 300,
    };
    assert_eq!(
        verifier.verify(Some(header.trim()), body.as_bytes(), chrono::Utc::now().timestamp()),
        Ok(())
    );
}

#[tokio::test]
async fn sign_without_a_key_says_which_variable_is_missing() {
    let output = Command::new(BINARY)
        .arg("sign")
        .env_clear()
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
        let output = Command::new(BINARY)
            .env_clear()
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
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("SWEEP_INTERVAL_SECS", "0")
        .kill_on_drop(true);
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

    async fn terminate(mut self) -> (std::process::ExitStatus, String) {
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
    let secrets = Secrets {
        signing: "sigterm-key".into(),
        oauth: "oauth-secret".into(),
    };
    let running = start_binary(&upstream_env(&fakes, &secrets)).await;
    fakes.revel.plan().fail(
        Some("POST"),
        "/resources/Order/",
        Fault::Hang(Duration::from_millis(1500)),
        1,
    );
    let body = webhook("UPDATE_EVENT", due_today(5001));
    let signature = connector::tripleseat::signature::sign(
        &Secret::new("sigterm-key"),
        body.to_string().as_bytes(),
        chrono::Utc::now().timestamp(),
    );
    let port = running.port;
    let in_flight = tokio::spawn(async move { post(port, &body, Some(signature)).await });
    // Wait until the write is under way, then ask the process to stop.
    for _ in 0..100 {
        if fakes.revel.plan().count("POST", "/resources/Order/") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, output) = running.terminate().await;
    let answer = in_flight.await.unwrap();
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

#[tokio::test]
async fn the_sandbox_runs_the_whole_flow_end_to_end() {
    // Examples are built next to the test binaries: target/<profile>/examples/.
    let deps = std::env::current_exe().unwrap();
    let sandbox = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("sandbox");
    assert!(
        sandbox.exists(),
        "cargo test builds the sandbox example at {}",
        sandbox.display()
    );
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(&sandbox).arg("--self-check").output(),
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
