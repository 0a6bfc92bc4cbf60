//! `GET /metrics`: the numbers to alert on (SPEC 19), in the Prometheus/OpenMetrics text
//! format from `prometheus-client`. Each application owns its registry (no global
//! recorder), so two instances in one process, as the tests run them, never mix counts.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

use crate::store::outbox::OutboxCounts;

/// The content type of the text format written by `render`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamStatusLabel {
    upstream: &'static str,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabel {
    upstream: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

/// Which upstream a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Tripleseat,
    Revel,
    Sendgrid,
}

impl Upstream {
    fn label(self) -> &'static str {
        match self {
            Upstream::Tripleseat => "tripleseat",
            Upstream::Revel => "revel",
            Upstream::Sendgrid => "sendgrid",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    webhooks: Family<ReasonLabel, Counter>,
    orders_injected: Counter,
    duplicate_orders: Counter,
    pipeline_duration: Histogram,
    upstream_requests: Family<UpstreamStatusLabel, Counter>,
    upstream_duration: Family<UpstreamLabel, Histogram, fn() -> Histogram>,
    outbox_pending: Gauge,
    outbox_failed: Gauge,
    sweep_runs: Family<ResultLabel, Counter>,
    enabled: Gauge,
    dry_run: Gauge,
}

fn seconds_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// A metric's name and its help text, as `/metrics` shows them.
type Described = (&'static str, &'static str);

const BUILD_INFO: Described = ("connector_build_info", "The running version");
const WEBHOOKS: Described = ("connector_webhooks", "Webhook answers, by reason");
const ORDERS_INJECTED: Described = ("connector_orders_injected", "Orders written to Revel");
const DUPLICATE_ORDERS: Described = (
    "connector_revel_duplicate_orders",
    "Runs that found more than one Revel order for their event",
);
const PIPELINE_DURATION: Described = (
    "connector_pipeline_duration_seconds",
    "Time one run of the pipeline took (webhooks, sweep, replay)",
);
const UPSTREAM_REQUESTS: Described = (
    "connector_upstream_requests",
    "Requests to TripleSeat, Revel and SendGrid, by HTTP status (or timeout, error)",
);
const UPSTREAM_DURATION: Described = ("connector_upstream_duration_seconds", "Time one upstream request took");
const OUTBOX_PENDING: Described = ("connector_outbox_pending", "Emails waiting to be sent");
const OUTBOX_FAILED: Described = ("connector_outbox_failed", "Emails given up, kept for the operator");
const SWEEP_RUNS: Described = ("connector_sweep_runs", "Sweep runs, by result");
const ENABLED: Described = (
    "connector_enabled",
    "1 when the connector is enabled (environment and override)",
);
const DRY_RUN: Described = (
    "connector_dry_run",
    "1 when the connector runs dry (environment or override)",
);

/// `metric`, registered under its name and help.
fn registered<M: Metric + Clone>(registry: &mut Registry, (name, help): Described, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let build_info: Family<VersionLabel, Gauge> = registered(&mut registry, BUILD_INFO, Family::default());
        let version = VersionLabel {
            version: env!("CARGO_PKG_VERSION"),
        };
        build_info.get_or_create(&version).set(1);
        let r = &mut registry;
        Metrics {
            webhooks: registered(r, WEBHOOKS, Family::default()),
            orders_injected: registered(r, ORDERS_INJECTED, Counter::default()),
            duplicate_orders: registered(r, DUPLICATE_ORDERS, Counter::default()),
            pipeline_duration: registered(r, PIPELINE_DURATION, seconds_histogram()),
            upstream_requests: registered(r, UPSTREAM_REQUESTS, Family::default()),
            upstream_duration: registered(
                r,
                UPSTREAM_DURATION,
                Family::new_with_constructor(seconds_histogram as fn() -> Histogram),
            ),
            outbox_pending: registered(r, OUTBOX_PENDING, Gauge::default()),
            outbox_failed: registered(r, OUTBOX_FAILED, Gauge::default()),
            sweep_runs: registered(r, SWEEP_RUNS, Family::default()),
            enabled: registered(r, ENABLED, Gauge::default()),
            dry_run: registered(r, DRY_RUN, Gauge::default()),
            registry,
        }
    }

    pub fn webhook_answered(&self, reason: &str) {
        self.webhooks
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn order_injected(&self) {
        self.orders_injected.inc();
    }

    pub fn duplicate_order(&self) {
        self.duplicate_orders.inc();
    }

    pub fn pipeline_ran(&self, took: Duration) {
        self.pipeline_duration.observe(took.as_secs_f64());
    }

    /// One upstream request: its HTTP status, or `timeout` / `error` when none came.
    pub fn upstream_request(&self, upstream: Upstream, status: &str, took: Duration) {
        self.upstream_requests
            .get_or_create(&UpstreamStatusLabel {
                upstream: upstream.label(),
                status: status.to_string(),
            })
            .inc();
        self.upstream_duration
            .get_or_create(&UpstreamLabel {
                upstream: upstream.label(),
            })
            .observe(took.as_secs_f64());
    }

    /// `ok`, `busy`, `store_unavailable`, `disabled`, `not_configured` or `search_failed`.
    pub fn sweep_ran(&self, result: &'static str) {
        self.sweep_runs.get_or_create(&ResultLabel { result }).inc();
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, enabled: bool, dry_run: bool, outbox: Option<OutboxCounts>) -> String {
        self.enabled.set(i64::from(enabled));
        self.dry_run.set(i64::from(dry_run));
        if let Some(counts) = outbox {
            self.outbox_pending.set(counts.pending);
            self.outbox_failed.set(counts.failed);
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("invariant: encoding into a String cannot fail");
        text
    }
}
