//! `tripleseat-revel-connector [serve]` runs the service; `sign < body.json` prints
//! an `X-Signature` value for a body. Nothing else lives here.

use std::io::Read;
use std::process::ExitCode;

use connector::config::Config;
use connector::secret::Secret;
use connector::startup::{shutdown_signal, Application};
use connector::{telemetry, tripleseat::signature};

fn main() -> ExitCode {
    // A `.env` file is a development convenience; the real environment wins.
    let _ = dotenvy::dotenv();
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => serve(),
        Some("sign") => sign(),
        Some("--version" | "-V") => {
            println!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\nusage: tripleseat-revel-connector [serve]\n       tripleseat-revel-connector sign < body.json");
            ExitCode::from(2)
        }
    }
}

fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(1);
        }
    };
    telemetry::init(config.log_format, config.timezone);
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
