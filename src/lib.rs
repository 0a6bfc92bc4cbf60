//! The TripleSeat → Revel connector: confirmed, paid TripleSeat events become Revel
//! POS orders on the event's day, and the operations team hears about it.
//!
//! Read `pipeline` (what happens), `pipeline::outcome` (every answer), then
//! `http::contract` (how it is said).

// Tests write cents as dollars_cents (`137_70` is $137.70), which reads better than 13_770.
#![cfg_attr(test, allow(clippy::inconsistent_digit_grouping))]

/// The admin API and operator console, behind `ADMIN_TOKEN`.
pub mod admin;
/// Reads shared by callers that ask at once.
pub mod coalesce;
/// Typed configuration from the environment, checked once at startup.
pub mod config;
/// SendGrid client, background outbox and message templates.
pub mod email;
/// The web adapter: routes, the JSON contract, correlation ids.
pub mod http;
/// Delivery keys and the bounded in-memory store of deliveries seen.
pub mod idempotency;
/// The site map: TripleSeat site → Revel establishment and timezone.
pub mod locations;
/// `GET /metrics`: the Prometheus registry and what it counts.
pub mod metrics;
/// Money as exact integer cents.
pub mod money;
/// The spec's pipeline, step by step, and its outcomes.
pub mod pipeline;
/// Revel: client, catalogue, product matching, order plan, resumable writer.
pub mod revel;
/// A string that cannot be printed.
pub mod secret;
/// Building, serving and shutting down the application.
pub mod startup;
/// Durable state: journal, delivery keys, leases, outbox, sweep runs, switches.
pub mod store;
/// The due-day sweep.
pub mod sweep;
/// ENABLE_CONNECTOR and DRY_RUN as in force: environment and runtime override.
pub mod switches;
/// Log output from `LOG_FORMAT` and `RUST_LOG`.
pub mod telemetry;
/// TripleSeat: signatures, deliveries, events, the read API.
pub mod tripleseat;
/// The shared HTTP client and the one retry policy.
pub mod upstream;
