//! The due-day sweep. Webhooks usually arrive days early and are answered
//! `TIME_GATE_CLOSED_TOO_EARLY`; nothing guarantees one on the day itself. So, once
//! shortly after startup and then every `SWEEP_INTERVAL_SECS`, each mapped and
//! allowed site's events on its own today are searched in TripleSeat and run through
//! the pipeline from step 8 on. Its state lives in TripleSeat and Revel (`local_id`),
//! not in memory, so restarts change nothing. Runs never overlap, on one instance or
//! across instances: a run first takes the store's `sweep` lease, and each run's
//! summary is stored for the operator.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

use crate::http::correlation;
use crate::pipeline::outcome::Outcome;
use crate::pipeline::{process_found_event, Services};
use crate::store::leases::{Lease, NotHeld};
use crate::store::sweep_state::SweepRun;
use crate::tripleseat::{id_string, site_of};

/// Pages per site and run at most (50 events a page).
const MAX_PAGES: u32 = 100;
/// How long one page of search may take, retries included.
const SEARCH_PAGE_BOUND: Duration = Duration::from_secs(60);

/// What one run did, by outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepSummary {
    pub searched: usize,
    pub injected: usize,
    pub already_injected: usize,
    pub failed: usize,
    pub skipped: BTreeMap<String, usize>,
    /// Sites whose search failed.
    pub search_failures: usize,
    /// True when another run was under way (here or on another instance) and this one did nothing.
    pub was_busy: bool,
    /// True when the store could not be reached, so nothing was searched.
    pub store_unavailable: bool,
}

impl SweepSummary {
    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::RevelInjected { .. } | Outcome::DryRun { .. } => self.injected += 1,
            Outcome::AlreadyInjected { .. } => self.already_injected += 1,
            other if !other.is_ok() => self.failed += 1,
            other => *self.skipped.entry(other.reason().to_string()).or_default() += 1,
        }
    }

    fn add(&mut self, other: &SweepSummary) {
        self.searched += other.searched;
        self.injected += other.injected;
        self.already_injected += other.already_injected;
        self.failed += other.failed;
        self.search_failures += other.search_failures;
        for (reason, n) in &other.skipped {
            *self.skipped.entry(reason.clone()).or_default() += n;
        }
    }

    fn skipped_text(&self) -> String {
        if self.skipped.is_empty() {
            return "none".into();
        }
        self.skipped
            .iter()
            .map(|(r, n)| format!("{r}={n}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub struct Sweeper {
    services: Arc<Services>,
    running: Mutex<()>,
    is_stopping: AtomicBool,
}

impl Sweeper {
    pub fn new(services: Arc<Services>) -> Sweeper {
        Sweeper {
            services,
            running: Mutex::new(()),
            is_stopping: AtomicBool::new(false),
        }
    }

    /// Runs after `first_delay`, then every `interval`, until `stop` says so.
    pub async fn schedule(self: Arc<Self>, first_delay: Duration, interval: Duration, mut stop: watch::Receiver<bool>) {
        let mut next = Instant::now() + first_delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = stop.changed() => return,
            }
            let run = self.run_once();
            tokio::pin!(run);
            tokio::select! {
                _ = &mut run => {}
                _ = stop.changed() => {
                    // Finish the event in hand (a Revel write is never cut half-way), then stop.
                    tracing::info!("Sweep: stopping with the service after the current event");
                    self.is_stopping.store(true, Ordering::SeqCst);
                    run.await;
                    return;
                }
            }
            next = Instant::now() + interval;
        }
    }

    /// One pass over every allowed, mapped site. Returns at once when a pass is under way.
    pub async fn run_once(&self) -> SweepSummary {
        let Ok(_running) = self.running.try_lock() else {
            tracing::info!("Sweep: a run is already under way; skipped");
            self.services.metrics.sweep_ran("busy");
            return SweepSummary {
                was_busy: true,
                ..SweepSummary::default()
            };
        };
        let lease = match self.may_sweep().await {
            Ok(lease) => lease,
            Err(nothing_done) => return nothing_done,
        };
        let started_at_ms = crate::store::now_ms();
        let total = self.sweep_sites().await;
        tracing::info!(
            searched = total.searched,
            injected = total.injected,
            already_injected = total.already_injected,
            failed = total.failed + total.search_failures,
            skipped = %total.skipped_text(),
            dry_run = self.services.switches.is_dry_run(),
            "Sweep: run complete"
        );
        let result = if total.search_failures > 0 {
            "search_failed"
        } else {
            "ok"
        };
        self.services.metrics.sweep_ran(result);
        self.record(&total, started_at_ms).await;
        lease.release().await;
        total
    }

    /// The sweep's lease, when the connector is on, can read TripleSeat and no other
    /// instance is sweeping; else the summary of a run that did nothing.
    async fn may_sweep(&self) -> Result<Lease, SweepSummary> {
        let metrics = &self.services.metrics;
        let mut nothing = SweepSummary::default();
        if !self.services.switches.is_enabled() {
            tracing::info!("Sweep: kill switch OFF (CONNECTOR_DISABLED); nothing searched");
            metrics.sweep_ran("disabled");
            return Err(nothing);
        }
        if !self.services.tripleseat.is_configured() {
            tracing::warn!("Sweep: TripleSeat read credentials are missing; nothing searched");
            metrics.sweep_ran("not_configured");
            return Err(nothing);
        }
        match Lease::try_take(&self.services.store, "sweep".into()).await {
            Ok(lease) => Ok(lease),
            Err(NotHeld::Busy) => {
                tracing::info!("Sweep: another instance is sweeping; skipped");
                metrics.sweep_ran("busy");
                nothing.was_busy = true;
                Err(nothing)
            }
            Err(NotHeld::Store(error)) => {
                tracing::error!(%error, "Sweep: the store is unavailable; nothing searched, the next run tries again");
                metrics.sweep_ran("store_unavailable");
                nothing.store_unavailable = true;
                Err(nothing)
            }
        }
    }

    /// Every allowed, mapped site in turn, until a shutdown asks it to stop.
    async fn sweep_sites(&self) -> SweepSummary {
        let config = &self.services.config;
        let mut total = SweepSummary::default();
        let sites = config
            .locations
            .iter()
            .filter(|l| config.is_location_allowed(&l.site_id));
        for location in sites {
            if self.is_stopping.load(Ordering::SeqCst) {
                break;
            }
            let site = self.sweep_site(&location.site_id, location.timezone).await;
            tracing::info!(
                site_id = %location.site_id,
                searched = site.searched,
                injected = site.injected,
                already_injected = site.already_injected,
                failed = site.failed + site.search_failures,
                skipped = %site.skipped_text(),
                "Sweep: site {} done", location.site_id
            );
            total.add(&site);
        }
        total
    }

    async fn record(&self, total: &SweepSummary, started_at_ms: i64) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let run = SweepRun {
            started_at_ms,
            finished_at_ms: crate::store::now_ms(),
            instance_id: self.services.store.instance_id().to_string(),
            searched: count(total.searched),
            injected: count(total.injected),
            already_injected: count(total.already_injected),
            failed: count(total.failed),
            search_failures: count(total.search_failures),
            skipped: total.skipped_text(),
            dry_run: self.services.switches.is_dry_run(),
        };
        if let Err(error) = self.services.store.record_sweep_run(&run).await {
            tracing::warn!(%error, "Sweep: the run's summary was not stored");
        }
    }

    async fn sweep_site(&self, site_id: &str, timezone: chrono_tz::Tz) -> SweepSummary {
        let services = &self.services;
        let statuses = &services.config.rules.inject_statuses;
        let today = (services.clock)().with_timezone(&timezone).date_naive();
        let mut summary = SweepSummary::default();
        let mut page = 1;
        while page <= MAX_PAGES {
            let deadline = Instant::now() + SEARCH_PAGE_BOUND;
            let found = tokio::time::timeout_at(
                deadline,
                services.tripleseat.search_day(site_id, today, statuses, page, deadline),
            )
            .await;
            let found = match found {
                Ok(Ok(found)) => found,
                Ok(Err(error)) => {
                    tracing::error!(site_id, page, %error, "Sweep: search failed");
                    summary.search_failures += 1;
                    return summary;
                }
                Err(_) => {
                    tracing::error!(site_id, page, "Sweep: search ran past its bound");
                    summary.search_failures += 1;
                    return summary;
                }
            };
            for event in found.results {
                if self.is_stopping.load(Ordering::SeqCst) {
                    return summary;
                }
                summary.searched += 1;
                self.sweep_event(event, site_id, statuses, &mut summary).await;
            }
            if page >= found.total_pages {
                break;
            }
            page += 1;
        }
        summary
    }

    async fn sweep_event(&self, event: Value, site_id: &str, statuses: &[String], summary: &mut SweepSummary) {
        // Search does not drop LOST or other statuses on its own.
        let status = event
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        if !statuses.contains(&status) {
            *summary.skipped.entry("STATUS_FILTERED".into()).or_default() += 1;
            return;
        }
        let Some(event_id) = id_string(event.get("id")) else {
            summary.failed += 1;
            return;
        };
        // The search's site filter is not documented: an event is kept only when it says
        // itself that it belongs to the site searched, so no other site's event is written here.
        let event_site = site_of(&event);
        if event_site.as_deref() != Some(site_id) {
            tracing::warn!(event_id, site_id, event_site = ?event_site, "Sweep: the search returned an event of another site; skipped");
            *summary.skipped.entry("OTHER_SITE".into()).or_default() += 1;
            return;
        }
        let correlation_id = correlation::new_id("sweep");
        let span = tracing::info_span!("sweep", correlation_id = %correlation_id, event_id = %event_id);
        let outcome = tracing::Instrument::instrument(
            process_found_event(
                Arc::clone(&self.services),
                event,
                event_id,
                site_id.to_string(),
                correlation_id,
            ),
            span,
        )
        .await;
        summary.count(&outcome);
    }
}
