//! `tripleseat-revel-connector [serve]` runs the service; `sign < body.json` prints
//! an `X-Signature` value for a body; `sample` prints a delivery due today;
//! `tripleseat-connect` prints the TripleSeat consent link; `help` says so. Nothing
//! else lives here.

use std::io::Read;
use std::process::ExitCode;

use connector::config::Config;
use connector::secret::Secret;
use connector::startup::{shutdown_signal, Application};
use connector::{telemetry, tripleseat::signature};

/// mimalloc rather than the system allocator: an actionable delivery's JSON tree is
/// thousands of small allocations made, cloned and freed per request, and glibc's malloc
/// took about a third of the TOO_EARLY path's CPU (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // A `.env` file is a development convenience; the real environment wins.
    let _ = dotenvy::dotenv();
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => serve(),
        Some("sign") => sign(),
        Some("sample") => sample(),
        Some("tripleseat-connect") => tripleseat_connect(),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("--version" | "-V") => {
            println!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprint!("unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "\
Turns confirmed, paid TripleSeat events into Revel POS orders on the event's day.

usage:
  tripleseat-revel-connector [serve]        run the service (HOST, PORT; default 0.0.0.0:8000)
  tripleseat-revel-connector sign < BODY    print an X-Signature header value for BODY
                                            (key from TRIPLESEAT_WEBHOOK_SIGNING_KEY)
  tripleseat-revel-connector sample         print a delivery of the sample event, dated today,
                                            for POST /test/webhook
  tripleseat-revel-connector tripleseat-connect
                                            print the link that gives TripleSeat consent once
                                            (OAuth 2.0; same store and settings as the service)
  tripleseat-revel-connector help           this text
  tripleseat-revel-connector --version

Every setting is an environment variable (a .env file in the working directory is
read too; the real environment wins). docs/environment.md lists them all, with
their defaults; .env.example holds them.
";

/// The configuration, or the exit for a bad one (the message names the variable).
fn configuration() -> Result<Config, ExitCode> {
    Config::from_env().map_err(|error| {
        eprintln!("configuration error: {error}");
        ExitCode::from(1)
    })
}

fn serve() -> ExitCode {
    let config = match configuration() {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    let _log_writer = telemetry::init(config.log_format, config.timezone, &config.log_filter);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("invariant: a tokio runtime builds on a supported platform");
    runtime.block_on(async {
        tracing::info!(
            "Starting {} {}: {}",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            config.summary()
        );
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let app = match Application::build(config).await {
            Ok(app) => app,
            Err(error) => {
                tracing::error!("Cannot start: {error}");
                eprintln!("startup error: {error}");
                return ExitCode::from(1);
            }
        };
        match app.run_until_stopped(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "Server error");
                ExitCode::from(1)
            }
        }
    })
}

/// The consent link for a terminal: it is stored like the console's, so the running
/// service's callback (at `PUBLIC_BASE_URL`) takes it.
fn tripleseat_connect() -> ExitCode {
    let config = match configuration() {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("invariant: a tokio runtime builds on a supported platform");
    runtime.block_on(async {
        let store = match connector::store::Store::open(&config.store).await {
            Ok(store) => std::sync::Arc::new(store),
            Err(error) => {
                eprintln!("startup error: {error}");
                return ExitCode::from(1);
            }
        };
        let http = connector::upstream::http_client(&config.upstream);
        let auth = connector::tripleseat::auth::Authorizer::new(
            &config.tripleseat,
            http,
            std::sync::Arc::new(connector::metrics::Metrics::new()),
            std::sync::Arc::default(),
            std::sync::Arc::clone(&store),
        );
        // Run in the service's own shell: the link is not tied to a browser.
        let link = auth.consent_link(config.public_base_url.as_deref(), false).await;
        store.close().await;
        match link {
            Ok((url, _)) => {
                println!("{url}");
                eprintln!(
                    "Open the link above as a TripleSeat administrator and approve. TripleSeat sends the browser to {}{}, where the running service stores the tokens. The link is valid {} minutes, once.",
                    config.public_base_url.as_deref().unwrap_or(""),
                    connector::tripleseat::auth::CALLBACK_PATH,
                    connector::tripleseat::auth::CONSENT_LINK_TTL.as_secs() / 60
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("cannot make the consent link: {error}");
                ExitCode::from(1)
            }
        }
    })
}

/// The sample event (site 15901 of `config/locations.example.json`, in Las Vegas), paid
/// and invoiced, dated today there, as a webhook: `/test/webhook` answers it `DRY_RUN`
/// with the planned order.
fn sample() -> ExitCode {
    const FIXTURE: &str = include_str!("../tests/fixtures/event_full.json");
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).expect("invariant: the compiled-in fixture is JSON");
    let now = chrono::Utc::now();
    let today = now.with_timezone(&chrono_tz::America::Los_Angeles).date_naive();
    let mut event = fixture["event"].clone();
    event["event_date"] = today.format("%m/%d/%Y").to_string().into();
    event["event_date_iso8601"] = today.format("%Y-%m-%d").to_string().into();
    event["updated_at"] = now.format("%m/%d/%Y %I:%M:%S %p").to_string().into();
    let delivery = serde_json::json!({"webhook_trigger_type": "UPDATE_EVENT", "event": event});
    println!("{delivery}");
    ExitCode::SUCCESS
}

fn sign() -> ExitCode {
    let key = std::env::var("TRIPLESEAT_WEBHOOK_SIGNING_KEY")
        .or_else(|_| std::env::var("TRIPLESEAT_SIGNING_SECRET"))
        .ok()
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        eprintln!("TRIPLESEAT_WEBHOOK_SIGNING_KEY is not set");
        return ExitCode::from(1);
    };
    let mut body = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut body) {
        eprintln!("cannot read the body from standard input: {error}");
        return ExitCode::from(1);
    }
    println!(
        "{}",
        signature::sign(&Secret::new(key), &body, chrono::Utc::now().timestamp())
    );
    ExitCode::SUCCESS
}
