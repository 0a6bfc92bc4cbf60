//! The operator console in a real headless Chromium, driven over WebDriver
//! (chromedriver + fantoccini): enter the token, flip the kill switch through its
//! confirmation, see a webhook's delivery appear, replay an event, and leave a
//! screenshot at `target/console.png` (and `console-phone.png`, a phone's width) for a
//! person to look at.
//!
//! No Chromium on the machine: with `CI=true` the test fails; elsewhere it is skipped
//! with a loud message (`scripts/test` installs it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::admin::{admin_app, TOKEN};
use crate::helpers::{paid_event, paid_event_with_id, webhook, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// No step of the test waits longer than this.
const STEP: Duration = Duration::from_secs(15);

struct Browser {
    client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Chromium and chromedriver are required in CI ({CHROMIUM}, {CHROMEDRIVER})"
            );
            eprintln!("\n!!! SKIPPED: Chromium is not installed (run scripts/test, which installs it) !!!\n");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let webdriver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{webdriver}/status")).await.is_err() {
            assert!(started.elapsed() < STEP, "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1200,1700",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("a Chromium session");
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if element.click().await.is_ok() {
                    return;
                }
            }
            assert!(started.elapsed() < STEP, "{css} never became clickable");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Accepts the dialog that is open (or about to open), after checking what it asks.
    async fn accept_dialog(&self, expected: &str) {
        let started = Instant::now();
        loop {
            if let Ok(text) = self.client.get_alert_text().await {
                assert!(text.contains(expected), "dialog {text:?} does not ask {expected:?}");
                self.client.accept_alert().await.unwrap();
                return;
            }
            assert!(started.elapsed() < STEP, "no dialog asking {expected:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's text contains `needle`.
    async fn wait_for_text(&self, needle: &str) {
        let started = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return;
            }
            assert!(started.elapsed() < STEP, "the page never showed {needle:?}:\n{text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn wait_until_enabled_is(app: &TestApp, enabled: bool) {
    let started = Instant::now();
    loop {
        let health: Value = app.get("/health").await.json().await.unwrap();
        if health["enable_connector"] == json!(enabled) {
            return;
        }
        assert!(started.elapsed() < STEP, "enable_connector never became {enabled}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_operator_flips_the_kill_switch_sees_a_delivery_and_replays_an_event() {
    let Some(browser) = Browser::start().await else { return };
    let app = admin_app().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());

    browser.client.goto(&format!("{}/admin", app.address)).await.unwrap();
    browser
        .client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    browser.click("#login-button").await;
    browser.wait_for_text("LIVE (writes)").await;
    browser.wait_for_text("Sample Doughnuts - Summerlin (15901)").await;

    // The kill switch, through its note prompt and confirmation.
    browser.click("#flip-enable_connector").await;
    browser.accept_dialog("Turn off (kill switch)").await;
    browser.accept_dialog("Confirm").await;
    wait_until_enabled_is(&app, false).await;
    browser.wait_for_text("OFF (kill switch)").await;

    // A webhook while it is off shows up in the deliveries list (by its correlation id:
    // a kill-switched body is never read, so the row names no event).
    let answer = app
        .post_signed(&webhook("UPDATE_EVENT", paid_event_with_id(4242)))
        .await;
    answer.assert_reason("CONNECTOR_DISABLED");
    browser
        .wait_for_text(answer.json["correlation_id"].as_str().unwrap())
        .await;
    browser.wait_for_text("CONNECTOR_DISABLED").await;

    // Back on, then replay today's event from the replay form.
    browser.click("#clear-enable_connector").await;
    browser.accept_dialog("Clear the enable_connector override").await;
    wait_until_enabled_is(&app, true).await;
    let field = browser.client.find(Locator::Css("#replay-id")).await.unwrap();
    field.send_keys("61234567").await.unwrap();
    browser.click("#replay-button").await;
    browser.accept_dialog("Replay event 61234567").await;
    browser.wait_for_text("Event 61234567: REVEL_INJECTED").await;
    assert_eq!(app.orders().len(), 1, "the replay wrote one order");
    browser.wait_for_text("REVEL_INJECTED").await;

    let screenshot = browser.client.screenshot().await.unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console.png");
    std::fs::write(&path, screenshot).unwrap();
    eprintln!("console screenshot: {}", path.display());
    // The same page on a phone's width.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.wait_for_text("Today's events").await;
    let phone = browser.client.screenshot().await.unwrap();
    std::fs::write(path.with_file_name("console-phone.png"), phone).unwrap();
    browser.client.close().await.unwrap();
}

#[tokio::test]
async fn an_operator_gives_tripleseat_consent_from_the_console() {
    let Some(browser) = Browser::start().await else { return };
    // TripleSeat must send the browser back to this very service: its address is
    // fixed before it starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = admin_app()
        .env("PORT", &port.to_string())
        .env("PUBLIC_BASE_URL", &format!("http://127.0.0.1:{port}"))
        .env("TRIPLESEAT_OAUTH_CLIENT_ID", fakes::tripleseat::OAUTH_CLIENT_ID)
        .env("TRIPLESEAT_OAUTH_CLIENT_SECRET", fakes::tripleseat::OAUTH_CLIENT_SECRET)
        .spawn()
        .await;
    app.fakes.tripleseat.behave_as_public_evidence_says();

    browser.client.goto(&format!("{}/admin", app.address)).await.unwrap();
    let field = browser.client.find(Locator::Css("#token")).await.unwrap();
    field.send_keys(TOKEN).await.unwrap();
    browser.click("#login-button").await;
    browser.wait_for_text("consent: not connected").await;
    browser
        .wait_for_text("authorization_code → client_credentials → public_key")
        .await;

    browser.click("#connect-tripleseat").await;
    browser.accept_dialog("TripleSeat's consent page").await;
    // The fake approves at once and sends the browser to the callback.
    browser.wait_for_text("TripleSeat: Connected").await;
    browser.client.goto(&format!("{}/admin", app.address)).await.unwrap();
    browser.wait_for_text("consent: connected").await;

    // A read now goes by the authorization code, and the console says so.
    app.fakes.tripleseat.put_event(paid_event());
    app.post_signed(&crate::helpers::status_change_webhook())
        .await
        .assert_reason("REVEL_INJECTED");
    browser.wait_for_text("Reading with authorization_code").await;
    browser.client.close().await.unwrap();
}
