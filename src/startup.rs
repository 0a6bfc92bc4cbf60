//! `Application::build` → a bound port and the shared state; `run_until_stopped`
//! serves until a shutdown signal, then finishes in-flight work within bounds:
//! requests, background Revel writes, the sweep, queued emails and journal rows.

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use crate::config::Config;
use crate::email::client::SendgridClient;
use crate::email::outbox::Outbox;
use crate::http::access::AdminGate;
use crate::http::state::AppState;
use crate::idempotency::IdempotencyStore;
use crate::metrics::Metrics;
use crate::pipeline::single_flight::EventTurns;
use crate::pipeline::{Clock, Services};
use crate::revel::catalog::CatalogCache;
use crate::store::background::Writes;
use crate::store::open::OpenError;
use crate::store::Store;
use crate::sweep::Sweeper;
use crate::switches::{Switches, REFRESH_EVERY};
use crate::tripleseat::client::TripleseatClient;
use crate::upstream::http_client;

/// Pipeline runs at once at most; more wait for a place.
const MAX_CONCURRENT_RUNS: u32 = 1_024;
/// The journal and settled keys are flushed for at least this long at shutdown.
const SHUTDOWN_FLUSH_AT_LEAST: Duration = Duration::from_secs(1);
/// How often retention runs (and once at startup).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// One line on how TripleSeat reads will go, and what an operator still has to do.
async fn log_tripleseat_reads(services: &Services) {
    let view = services.tripleseat.auth().view().await;
    let ways = view.ways.join(" > ");
    match view.authorization_code {
        "connected" => tracing::info!(ways, "TripleSeat reads: consent given (authorization code); tried in order: {ways}"),
        "not configured" => tracing::warn!(ways, "TripleSeat reads: no OAuth 2.0 app (TRIPLESEAT_OAUTH_CLIENT_ID/_SECRET); public evidence says the public key alone cannot read events"),
        _ => tracing::warn!(ways, "TripleSeat reads: consent not given yet: an operator opens /admin/tripleseat/connect (or runs `tripleseat-revel-connector tripleseat-connect`) once"),
    }
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Store(#[from] OpenError),
    #[error("HOST/PORT: cannot listen: {0}")]
    Bind(#[from] std::io::Error),
}

pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Application {
    /// Builds the app on the configured host and port with the system clock.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        Application::build_with_clock(config, Arc::new(chrono::Utc::now)).await
    }

    pub async fn build_with_clock(config: Config, clock: Clock) -> Result<Application, StartupError> {
        let config = Arc::new(config);
        let store = Arc::new(Store::open(&config.store).await?);
        tracing::info!(
            store = store.description(),
            instance_id = store.instance_id(),
            "Store: open"
        );
        let switches = Switches::new(config.enable_connector, config.dry_run);
        switches.refresh(&store).await;
        let metrics = Arc::new(Metrics::new());
        let http = http_client(&config.upstream);
        let retry = config.upstream.retry;
        let outbox = config.email.as_ref().map(|email| {
            Outbox::start(
                SendgridClient::new(email, http.clone(), Arc::clone(&metrics)),
                Arc::clone(&store),
                config.email_retry,
            )
        });
        let (revel, revel_writer) =
            crate::revel::client::connect(&config.revel, http.clone(), retry, Arc::clone(&metrics));
        let services = Arc::new(Services {
            tripleseat: TripleseatClient::new(
                &config.tripleseat,
                http.clone(),
                retry,
                Arc::clone(&metrics),
                Arc::clone(&store),
            ),
            revel,
            revel_writer,
            catalog: CatalogCache::new(config.catalog_ttl),
            turns: EventTurns::default(),
            deliveries: IdempotencyStore::new(config.idempotency_ttl, config.idempotency_max_entries),
            writes: Writes::start(Arc::clone(&store)),
            store,
            switches,
            metrics,
            outbox,
            clock,
            stopping: watch::channel(false).0,
            config: Arc::clone(&config),
        });
        log_tripleseat_reads(&services).await;
        let listener = TcpListener::bind(SocketAddr::new(config.server.host, config.server.port)).await?;
        Ok(Application {
            listener,
            state: Arc::new(AppState {
                sweeper: Arc::new(Sweeper::new(Arc::clone(&services))),
                admin: config.admin_token.clone().map(AdminGate::new),
                test_budget: test_budget(config.test_endpoints_rate),
                services,
                runs: Arc::new(Semaphore::new(MAX_CONCURRENT_RUNS as usize)),
            }),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn services(&self) -> Arc<Services> {
        Arc::clone(&self.state.services)
    }

    pub fn sweeper(&self) -> Arc<Sweeper> {
        Arc::clone(&self.state.sweeper)
    }

    /// Serves until `shutdown` completes, then winds down within bounds.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let config = Arc::clone(&self.state.services.config);
        let (stop_sweep, sweep_stopped) = watch::channel(false);
        let sweep = config.sweep_interval.map(|interval| {
            tokio::spawn(Arc::clone(&self.state.sweeper).schedule(config.sweep_first_delay, interval, sweep_stopped))
        });

        let pruning = tokio::spawn(prune_periodically(
            Arc::clone(&self.state.services.store),
            config.journal_retention,
        ));
        let refreshing = tokio::spawn(refresh_switches(Arc::clone(&self.state.services)));

        tracing::info!(port = self.port(), "Listening");
        let app = crate::http::router(Arc::clone(&self.state));
        let services = Arc::clone(&self.state.services);
        let signal = async move {
            shutdown.await;
            // Body reads still waiting on a client stop now (`pipeline::read_body`).
            let _ = services.stopping.send(true);
        };
        // One budget from the signal on, shared by every step below, so the whole
        // shutdown ends before the platform's SIGKILL (Render: maxShutdownDelaySeconds).
        let limits = crate::http::server::Limits {
            max_connections: config.server.max_connections,
            header_read_timeout: config.server.header_read_timeout,
            shutdown_budget: config.server.shutdown_budget,
        };
        let signalled = crate::http::server::serve(self.listener, app, limits, signal).await;
        let deadline = signalled + config.server.shutdown_budget;
        tracing::info!(
            budget_secs = config.server.shutdown_budget.as_secs(),
            "Shutdown: connections closed; finishing in-flight work"
        );

        let _ = stop_sweep.send(true);
        if let Some(sweep) = sweep {
            if tokio::time::timeout_at(deadline, sweep).await.is_err() {
                tracing::warn!("Shutdown: the sweep did not stop within the budget");
            }
        }
        let all_runs = tokio::time::timeout_at(deadline, self.state.runs.acquire_many(MAX_CONCURRENT_RUNS)).await;
        if all_runs.is_err() {
            tracing::warn!("Shutdown: Revel writes still running at the budget; the next run resumes them");
        }
        if let Some(outbox) = &self.state.services.outbox {
            outbox.drain(deadline.saturating_duration_since(Instant::now())).await;
        }
        pruning.abort();
        refreshing.abort();
        // The journal and keys get a moment even when the budget is spent.
        let flush = deadline
            .saturating_duration_since(Instant::now())
            .max(SHUTDOWN_FLUSH_AT_LEAST);
        self.state.services.writes.flush(flush).await;
        self.state.services.store.close().await;
        tracing::info!("Shutdown: complete");
        Ok(())
    }
}

/// Applies retention now and every hour: old journal rows, sent emails and sweep
/// runs, expired keys and leases.
async fn prune_periodically(store: Arc<Store>, retention: Duration) {
    loop {
        let pruned = store.prune(retention).await;
        if pruned.journal_rows > 0 || pruned.expired_keys > 0 {
            tracing::info!(
                journal_rows = pruned.journal_rows,
                expired_keys = pruned.expired_keys,
                "Store: journal rows past retention and expired keys pruned"
            );
        }
        if let Some(error) = pruned.stopped_by {
            tracing::warn!(%error, "Store: pruning stopped; it runs again in an hour");
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}

/// `rate` a second for all `/test/*` callers together, in bursts of four times that.
fn test_budget(rate: NonZeroU32) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new(rate.get().saturating_mul(4)).unwrap_or(rate);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

/// Keeps this instance's copy of the runtime switches current (a change made on any
/// instance is in force here within `REFRESH_EVERY` plus one store round trip).
async fn refresh_switches(services: Arc<Services>) {
    loop {
        tokio::time::sleep(REFRESH_EVERY).await;
        services.switches.refresh(&services.store).await;
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are registered when this is called,
/// not when it is first awaited, so a signal that comes early (before the server has
/// started waiting) is not missed. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).ok();
        let mut terminate = signal(SignalKind::terminate()).ok();
        async move {
            let interrupted = async {
                match interrupt.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            let terminated = async {
                match terminate.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupted => tracing::info!("SIGINT received"),
                () = terminated => tracing::info!("SIGTERM received"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("SIGINT received");
    }
}
