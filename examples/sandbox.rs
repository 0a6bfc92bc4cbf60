//! The sandbox: the connector against simulated TripleSeat, Revel and SendGrid on
//! localhost, seeded with a site, a catalogue and an event due today.
//!
//!     cargo run --example sandbox               # prints curl lines, runs until Ctrl-C
//!     cargo run --example sandbox -- --self-check   # runs those lines itself and exits
//!
//! Three connectors share the simulated services: a live one, one in dry-run and
//! one with the kill switch off. The simulated Revel and SendGrid print what they
//! receive.

use std::path::Path;
use std::time::Duration;

use connector::config::Config;
use connector::secret::Secret;
use connector::startup::Application;
use connector::tripleseat::signature;
use fakes::Upstreams;
use serde_json::{json, Value};

const SIGNING_KEY: &str = "sandbox-signing-key";
const SITE_ID: &str = "15901";
const ESTABLISHMENT: u64 = 4;
const TIMEZONE: &str = "America/Los_Angeles";

struct Sandbox {
    upstreams: Upstreams,
    /// A fresh store per run, removed at exit, so every run starts from nothing.
    data: tempfile::TempDir,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let self_check = std::env::args().any(|a| a == "--self-check");
    let _log_writer = (!self_check)
        .then(|| connector::telemetry::init(connector::telemetry::LogFormat::Text, chrono_tz::UTC, "info"));
    // SIGINT or SIGTERM ends the sandbox (and, with it, its connectors and files); the
    // handlers are in place from here, so a signal that comes early is not missed.
    let stop = connector::startup::shutdown_signal();
    let sandbox = Sandbox::start().await;
    let event = sandbox.seed();
    let live = sandbox.connector(&[]).await;
    let dry = sandbox.connector(&[("DRY_RUN", "true")]).await;
    let off = sandbox.connector(&[("ENABLE_CONNECTOR", "false")]).await;

    let body = json!({"webhook_trigger_type": "STATUS_CHANGE_EVENT", "event": event}).to_string();
    // In this run's own directory: concurrent sandboxes never share it, and it goes with the run.
    let body_path = sandbox.data.path().join("event.json");
    std::fs::write(&body_path, &body).expect("write the sample body");
    // The sandbox runs with WEBHOOK_TOLERANCE_SECS=0, so this header stays valid.
    let header = signature::sign(
        &Secret::new(SIGNING_KEY),
        body.as_bytes(),
        chrono::Utc::now().timestamp(),
    );

    if self_check {
        return sandbox.self_check(&body, &header, live, dry, off).await;
    }
    print_guide(&sandbox, &body_path, &header, live, dry, off);
    sandbox.watch(stop).await;
    std::process::ExitCode::SUCCESS
}

impl Sandbox {
    async fn start() -> Sandbox {
        Sandbox {
            upstreams: Upstreams::start().await,
            data: tempfile::tempdir().expect("a temporary directory for the sandbox's store"),
        }
    }

    /// A catalogue at establishment 4 and the sample event, dated today at the site.
    fn seed(&self) -> Value {
        self.upstreams
            .revel
            .add_establishment(ESTABLISHMENT, "Sample Doughnuts - Summerlin");
        for (name, price) in [
            ("Glazed Classic", "1.99"),
            ("Maple Bar", "2.49"),
            ("Chocolate Sprinkle Ring", "2.29"),
            ("Coffee Carafe", "15.00"),
        ] {
            self.upstreams.revel.add_product(ESTABLISHMENT, name, price);
        }
        let fixture: Value = serde_json::from_str(include_str!("../tests/fixtures/event_full.json")).expect("fixture");
        let mut event = fixture["event"].clone();
        let today = chrono::Utc::now()
            .with_timezone(&TIMEZONE.parse::<chrono_tz::Tz>().expect("zone"))
            .date_naive();
        event["event_date"] = json!(today.format("%m/%d/%Y").to_string());
        event["event_date_iso8601"] = json!(today.format("%Y-%m-%d").to_string());
        self.upstreams.tripleseat.put_event(event.clone());
        event
    }

    async fn connector(&self, overrides: &[(&str, &str)]) -> u16 {
        let locations = json!({SITE_ID: {"name": "Sample Doughnuts - Summerlin", "revel_establishment": ESTABLISHMENT, "timezone": TIMEZONE}});
        let mut env: Vec<(String, String)> = [
            ("HOST", "127.0.0.1".to_string()),
            ("PORT", "0".to_string()),
            ("ENV", "sandbox".to_string()),
            ("TIMEZONE", TIMEZONE.to_string()),
            ("LOCATIONS_JSON", locations.to_string()),
            ("TRIPLESEAT_WEBHOOK_SIGNING_KEY", SIGNING_KEY.to_string()),
            ("WEBHOOK_TOLERANCE_SECS", "0".to_string()),
            ("SWEEP_INTERVAL_SECS", "0".to_string()),
            ("DATA_DIR", self.data.path().display().to_string()),
        ]
        .into_iter()
        .chain(self.upstreams.connector_env())
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (name, value) in overrides {
            env.retain(|(k, _)| k != name);
            env.push((name.to_string(), value.to_string()));
        }
        let config = Config::from_pairs(env).expect("the sandbox configuration is valid");
        let app = Application::build(config).await.expect("bind a loopback port");
        let port = app.port();
        tokio::spawn(app.run_until_stopped(connector::startup::shutdown_signal()));
        port
    }

    /// Prints each order and email as the simulated services receive them.
    async fn watch(&self, stop: impl std::future::Future<Output = ()>) {
        let (mut orders_seen, mut emails_seen) = (0, 0);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            }
            let orders = self.upstreams.revel.orders();
            for order in orders.iter().skip(orders_seen) {
                let items = self.upstreams.revel.children("OrderItem", &order["id"]);
                println!(
                    "\n[simulated Revel] order {} ({}) with {} items, final_total {}:",
                    order["id"],
                    order["local_id"],
                    items.len(),
                    order["final_total"]
                );
                let products = self.upstreams.revel.objects("Product");
                for item in &items {
                    let name = products
                        .iter()
                        .find(|p| p["resource_uri"] == item["product"])
                        .map_or("?", |p| p["name"].as_str().unwrap_or("?"));
                    println!("    {} x {} at {}", item["quantity"], name, item["price"]);
                }
            }
            orders_seen = orders.len();
            let emails = self.upstreams.sendgrid.messages();
            for email in emails.iter().skip(emails_seen) {
                println!(
                    "\n[simulated SendGrid] to {}: {}\n{}",
                    email["personalizations"][0]["to"][0]["email"],
                    email["subject"],
                    email["content"][0]["value"].as_str().unwrap_or("")
                );
            }
            emails_seen = emails.len();
        }
    }

    async fn self_check(&self, body: &str, header: &str, live: u16, dry: u16, off: u16) -> std::process::ExitCode {
        let client = reqwest::Client::new();
        let post = |port: u16, path: &'static str| {
            client
                .post(format!("http://127.0.0.1:{port}{path}"))
                .header("x-signature", header)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
        };
        let reason = |response: reqwest::Response| async move {
            let answer: Value = response.json().await.expect("JSON answer");
            println!("{answer}");
            answer["reason"].as_str().unwrap_or("").to_string()
        };
        let mut reasons = Vec::new();
        // The guide's lines, in its order.
        for (port, path) in [
            (dry, "/webhook"),
            (live, "/test/webhook"),
            (off, "/webhook"),
            (live, "/webhook"),
            (live, "/webhook"),
        ] {
            reasons.push(reason(post(port, path).await.expect("the connector answers")).await);
        }
        for _ in 0..50 {
            if !self.upstreams.sendgrid.messages().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let orders = self.upstreams.revel.orders();
        let emails = self.upstreams.sendgrid.messages();
        println!(
            "orders in the simulated Revel: {}; emails in the simulated SendGrid: {}",
            orders.len(),
            emails.len()
        );
        let expected = [
            "DRY_RUN",
            "DRY_RUN",
            "CONNECTOR_DISABLED",
            "REVEL_INJECTED",
            "DUPLICATE_DELIVERY",
        ];
        let passed = reasons == expected
            && orders.len() == 1
            && connector::money::Cents::from_json(&orders[0]["final_total"]) == Some(connector::money::Cents(13_770))
            && emails.len() == 1;
        if passed {
            println!("sandbox self-check passed");
            std::process::ExitCode::SUCCESS
        } else {
            println!("sandbox self-check FAILED: reasons {reasons:?}, expected {expected:?}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_guide(sandbox: &Sandbox, body: &Path, header: &str, live: u16, dry: u16, off: u16) {
    let body = body.display();
    println!(
        r#"
TripleSeat → Revel sandbox
  simulated TripleSeat  {ts}
  simulated Revel       {revel}   (establishment {ESTABLISHMENT}, 4 products)
  simulated SendGrid    {sg}
  connector (live)      http://127.0.0.1:{live}
  connector (DRY_RUN)   http://127.0.0.1:{dry}
  connector (disabled)  http://127.0.0.1:{off}
The sample event #61234567 at site {SITE_ID} is confirmed, paid and due today.

1. A dry run: the whole pipeline, reads included, answering DRY_RUN with the planned order; nothing written.
   curl -s http://127.0.0.1:{dry}/webhook -H 'X-Signature: {header}' --data-binary @{body}
   curl -s http://127.0.0.1:{live}/test/webhook --data-binary @{body}

2. The kill switch: CONNECTOR_DISABLED, nothing read or written.
   curl -s http://127.0.0.1:{off}/webhook -H 'X-Signature: {header}' --data-binary @{body}

3. A signed delivery: creates the order in the simulated Revel and the email in the simulated SendGrid.
   curl -s http://127.0.0.1:{live}/webhook -H 'X-Signature: {header}' -H 'Content-Type: application/json' --data-binary @{body}

4. The same delivery again: DUPLICATE_DELIVERY (and a dry run now answers ALREADY_INJECTED).
   (repeat the line above)

Also: curl -s http://127.0.0.1:{live}/health ; curl -s http://127.0.0.1:{live}/test/revel
Sign your own body: TRIPLESEAT_WEBHOOK_SIGNING_KEY={SIGNING_KEY} cargo run -q -- sign < body.json
Orders and emails appear below as they arrive. Ctrl-C stops the sandbox.
"#,
        ts = sandbox.upstreams.tripleseat.url(),
        revel = sandbox.upstreams.revel.url(),
        sg = sandbox.upstreams.sendgrid.url(),
    );
}
