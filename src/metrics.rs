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
use prometheus_client::registry::Registry;

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

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let webhooks = Family::<ReasonLabel, Counter>::default();
        registry.register("connector_webhooks", "Webhook answers, by reason", webhooks.clone());
        let orders_injected = Counter::default();
        registry.register(
            "connector_orders_injected",
            "Orders written to Revel",
            orders_injected.clone(),
        );
        let duplicate_orders = Counter::default();
        registry.register(
            "connector_revel_duplicate_orders",
            "Runs that found more than one Revel order for their event",
            duplicate_orders.clone(),
        );
        let pipeline_duration = seconds_histogram();
        registry.register(
            "connector_pipeline_duration_seconds",
            "Time one run of the pipeline took (webhooks, sweep, replay)",
            pipeline_duration.clone(),
        );
        let upstream_requests = Family::<UpstreamStatusLabel, Counter>::default();
        registry.register(
            "connector_upstream_requests",
            "Requests to TripleSeat, Revel and SendGrid, by HTTP status (or timeout, error)",
            upstream_requests.clone(),
        );
        let upstream_duration = Family::<UpstreamLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        registry.register(
            "connector_upstream_duration_seconds",
            "Time one upstream request took",
            upstream_duration.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "connector_outbox_pending",
            "Emails waiting to be sent",
            outbox_pending.clone(),
        );
        let outbox_failed = Gauge::default();
        registry.register(
            "connector_outbox_failed",
            "Emails given up, kept for the operator",
            outbox_failed.clone(),
        );
        let sweep_runs = Family::<ResultLabel, Counter>::default();
        registry.register("connector_sweep_runs", "Sweep runs, by result", sweep_runs.clone());
        let enabled = Gauge::default();
        registry.register(
            "connector_enabled",
            "1 when the connector is enabled (environment and override)",
            enabled.clone(),
        );
        let dry_run = Gauge::default();
        registry.register(
            "connector_dry_run",
            "1 when the connector runs dry (environment or override)",
            dry_run.clone(),
        );
        let build_info = Family::<VersionLabel, Gauge>::default();
        registry.register("connector_build_info", "The running version", build_info.clone());
        build_info
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        Metrics {
            registry,
            webhooks,
            orders_injected,
            duplicate_orders,
            pipeline_duration,
            upstream_requests,
            upstream_duration,
            outbox_pending,
            outbox_failed,
            sweep_runs,
            enabled,
            dry_run,
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
