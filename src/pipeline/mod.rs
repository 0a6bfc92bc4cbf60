//! The pipeline of `docs/contract.md`, one step a line, in order: `screen()` takes a
//! webhook delivery through steps 1–5 and `process()` an actionable one on through 14.
//! The sweep enters at step 8 with an event it found (`process_found_event`).

pub mod event_source;
pub mod guards;
pub mod outcome;
pub mod single_flight;
pub mod time_gate;
pub mod validation;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use chrono::{DateTime, NaiveDate, Utc};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::Config;
use crate::email::outbox::Outbox;
use crate::email::templates;
use crate::idempotency::{Claim, IdempotencyStore};
use crate::locations::Location;
use crate::metrics::Metrics;
use crate::revel::catalog::CatalogCache;
use crate::revel::client::{RevelError, RevelReader, RevelWriter};
use crate::revel::order_plan::{plan_order, Matching, PlannedOrder};
use crate::revel::product_match::Catalog;
use crate::revel::writer::{find_existing, ExistingOrder, OrderWriter, WriteResult, WriterIds};
use crate::store::background::Writes;
use crate::store::journal::{JournalEntry, Source};
use crate::store::leases::{Lease, NotHeld};
use crate::store::Store;
use crate::switches::Switches;
use crate::tripleseat::client::TripleseatClient;
use crate::tripleseat::delivery::{Delivery, DeliveryError};
use crate::tripleseat::event::date::DateProblem;
use crate::tripleseat::event::wire::WireEvent;
use crate::tripleseat::event::Event;
use crate::tripleseat::signature::SignatureScheme;
use crate::tripleseat::signature::{self, Verifier};
use event_source::EventSource;
use outcome::{Answer, GateClosed, GateState, Outcome};
use single_flight::EventTurns;
use time_gate::check_time_gate;
use validation::{refuse_unreadable, validate, ValidatedEvent, ValidationFailure};

/// The current time, injectable so tests control "today".
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything the pipeline talks to, built once at startup.
pub struct Services {
    pub config: Arc<Config>,
    pub clock: Clock,
    pub tripleseat: TripleseatClient,
    /// Revel, read-only: all a dry run ever gets.
    pub revel: RevelReader,
    /// Revel with writes: a run has it only when it is not dry (`Run::revel_writer`).
    pub revel_writer: RevelWriter,
    pub catalog: CatalogCache,
    pub turns: EventTurns,
    /// The production delivery store; `/test/webhook` never sees it.
    pub deliveries: Arc<IdempotencyStore>,
    /// The durable state: delivery keys, leases, outbox, sweep state.
    pub store: Arc<Store>,
    /// The kill switch and dry run as in force (environment and runtime override).
    pub switches: Switches,
    pub metrics: Arc<Metrics>,
    /// Journal rows and settled keys, written off the request path.
    pub writes: Writes,
    /// `None` when email is not configured.
    pub outbox: Option<Outbox>,
    /// Set at shutdown: body reads still waiting on a client give up at once.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

/// Which door a run came in by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `/webhook`: signed, real.
    Signed,
    /// `/test/webhook`: unsigned, always dry-run, no idempotency, no email.
    Test,
    /// The due-day sweep: no delivery, no idempotency key.
    Sweep,
    /// An operator's replay of one event (admin API): like the sweep, on demand.
    Replay,
}

impl Mode {
    fn source(self) -> Source {
        match self {
            Mode::Signed => Source::Webhook,
            Mode::Test => Source::TestWebhook,
            Mode::Sweep => Source::Sweep,
            Mode::Replay => Source::Replay,
        }
    }
}

/// What the answer says besides the outcome, learnt as the run goes.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub trigger: Option<String>,
    pub event_id: Option<String>,
    pub site_id: Option<String>,
    pub time_gate: Option<GateState>,
    pub dry_run: bool,
    pub event_name: Option<String>,
    pub location_name: Option<String>,
    /// Under `WEBHOOK_SIGNATURE_SCHEME=report-only`: the form the signature matched
    /// (or `none`) and the header's shape, for the journal.
    pub signature_form: Option<&'static str>,
    pub signature_shape: Option<String>,
    /// `/webhook`: the signature verified (report-only: it matched a form).
    pub signature_verified: bool,
}

/// Where a run is, shared with the HTTP layer so that every request gets one verdict:
/// at the deadline the HTTP layer either takes the verdict over (the run was only
/// reading: it is stopped, and the deadline's answer is the one logged and journalled)
/// or, when a write has started, answers `REVEL_WRITE_FAILED` and lets the write finish,
/// and the run's own log line, journal row and email then say that the answer was given
/// before the write finished.
#[derive(Debug, Default)]
pub struct Progress {
    phase: AtomicU8,
    facts: Mutex<Facts>,
    /// Set when the run finished after the HTTP layer had answered for it.
    answered_before_the_end: AtomicBool,
}

const READING: u8 = 0;
const WRITING: u8 = 1;
/// The HTTP layer answered while the run was reading; the run is stopped.
const TAKEN_OVER: u8 = 2;
/// The HTTP layer answered `REVEL_WRITE_FAILED` while the run was writing.
const ANSWERED_WHILE_WRITING: u8 = 3;
const FINISHED: u8 = 4;

/// What the HTTP layer may do when the deadline comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtDeadline {
    /// The run was reading: its verdict is the deadline's; stop it.
    TakenOver,
    /// The run is writing: answer now, the write goes on.
    AnsweredWhileWriting,
    /// The run has just finished: wait for its own outcome.
    Finished,
}

impl Progress {
    pub fn is_writing(&self) -> bool {
        self.phase.load(Ordering::SeqCst) == WRITING
    }

    /// From here on the run is writing to Revel and is never cut off; false when the
    /// HTTP layer already took the verdict over (then nothing may be written).
    pub(crate) fn start_writing(&self) -> bool {
        self.phase
            .compare_exchange(READING, WRITING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// The HTTP layer's move at the deadline.
    pub fn at_deadline(&self) -> AtDeadline {
        let taken = self
            .phase
            .compare_exchange(READING, TAKEN_OVER, Ordering::SeqCst, Ordering::SeqCst);
        match taken {
            Ok(_) => AtDeadline::TakenOver,
            Err(WRITING) => {
                match self
                    .phase
                    .compare_exchange(WRITING, ANSWERED_WHILE_WRITING, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(_) => AtDeadline::AnsweredWhileWriting,
                    Err(_) => AtDeadline::Finished,
                }
            }
            Err(_) => AtDeadline::Finished,
        }
    }

    /// The run's end: `None` if the HTTP layer took its verdict over (say nothing),
    /// else whether the answer went out before the run finished.
    fn finish(&self) -> Option<bool> {
        match self.phase.swap(FINISHED, Ordering::SeqCst) {
            TAKEN_OVER => None,
            ANSWERED_WHILE_WRITING => {
                self.answered_before_the_end.store(true, Ordering::SeqCst);
                Some(true)
            }
            FINISHED => Some(self.answered_before_the_end.load(Ordering::SeqCst)),
            _ => Some(false),
        }
    }

    pub fn facts(&self) -> Facts {
        self.facts
            .lock()
            .expect("invariant: facts are never locked across a panic")
            .clone()
    }

    /// The answer to give for `outcome`, with what the run learnt so far.
    pub fn answer(&self, outcome: Outcome) -> Answer {
        let facts = self.facts();
        Answer {
            outcome,
            trigger: facts.trigger,
            event_id: facts.event_id,
            site_id: facts.site_id,
            gate: facts.time_gate,
            dry_run: facts.dry_run,
        }
    }

    fn note(&self, update: impl FnOnce(&mut Facts)) {
        update(
            &mut self
                .facts
                .lock()
                .expect("invariant: facts are never locked across a panic"),
        );
    }
}

/// A webhook delivery as the HTTP layer hands it over.
pub struct Incoming {
    pub mode: Mode,
    pub signature: Option<String>,
    /// The names of the request's headers that look like a signature (report-only
    /// records them, in case TripleSeat signs under another name).
    pub signature_headers: Vec<String>,
    pub body: Body,
}

type Step<T> = Result<T, Outcome>;

/// What steps 1–5 made of a webhook delivery.
pub enum Screening {
    /// Its verdict, logged and journalled already: most deliveries end here.
    Done(Outcome),
    /// An actionable delivery, for `process`.
    Actionable(Box<Actionable>),
}

/// A delivery past steps 1–5, with what its run had settled by then.
pub struct Actionable {
    delivery: Delivery,
    trigger: String,
    mode: Mode,
    now: DateTime<Utc>,
    is_dry_run: bool,
}

/// Steps 1–5 of a webhook delivery: the kill switch, the body, the signature, the
/// JSON, the trigger. Nothing there waits on anything but the client's body, so the
/// HTTP layer runs them in the request's own task; only an actionable delivery gets
/// a task and a deadline of its own.
pub async fn screen(
    services: &Arc<Services>,
    incoming: Incoming,
    correlation_id: &str,
    progress: &Arc<Progress>,
    arrived: Instant,
) -> Screening {
    let run = Run::starting_at(
        services,
        incoming.mode,
        correlation_id.to_string(),
        Arc::clone(progress),
        arrived,
    );
    match run.screen(incoming).await {
        Ok((delivery, trigger)) => Screening::Actionable(Box::new(Actionable {
            delivery,
            trigger,
            mode: run.mode,
            now: run.now,
            is_dry_run: run.is_dry_run,
        })),
        Err(outcome) => {
            run.finish(&outcome).await;
            Screening::Done(outcome)
        }
    }
}

/// Steps 6–14 of a delivery `screen` found actionable; its deadline counts from `arrived`.
pub async fn process(
    services: Arc<Services>,
    actionable: Box<Actionable>,
    correlation_id: String,
    progress: Arc<Progress>,
    arrived: Instant,
) -> Outcome {
    let Actionable {
        delivery,
        trigger,
        mode,
        now,
        is_dry_run,
    } = *actionable;
    // The switches again: an operator may have flipped one while this delivery waited
    // for its place, and a switch may only make the run safer.
    let is_dry_run = is_dry_run || services.switches.is_dry_run();
    let run = Run::at(&services, mode, correlation_id, progress, (arrived, now), is_dry_run);
    let outcome = match guards::connector_enabled(&services.switches) {
        // The rest of the run is a far larger future: on the heap, it is not copied
        // into the task and again as the task starts.
        Ok(()) => Box::pin(run.actionable(delivery, trigger))
            .await
            .unwrap_or_else(|stop| stop),
        Err(stop) => stop, // CONNECTOR_DISABLED
    };
    run.finish(&outcome).await;
    outcome
}

/// The verdict of a run the HTTP layer stopped at its deadline (or that panicked):
/// logged, journalled and emailed here, once, as the run itself would have.
pub async fn record_taken_over(
    services: &Arc<Services>,
    mode: Mode,
    correlation_id: &str,
    progress: &Arc<Progress>,
    arrived: Instant,
    outcome: &Outcome,
) {
    let run = Run::starting_at(
        services,
        mode,
        correlation_id.to_string(),
        Arc::clone(progress),
        arrived,
    );
    log_outcome(outcome, run.is_dry_run, None);
    run.record(outcome, None).await;
}

/// Runs an event the sweep found through steps 8–14, under the same guards.
pub async fn process_found_event(
    services: Arc<Services>,
    event: Value,
    event_id: String,
    site_id: String,
    correlation_id: String,
) -> Outcome {
    let run = Run::new(&services, Mode::Sweep, correlation_id, Arc::default());
    let outcome = match guards::connector_enabled(&services.switches) {
        Ok(()) => {
            run.progress.note(|f| {
                f.event_id = Some(event_id.clone());
                f.site_id = Some(site_id.clone());
            });
            let source = EventSource::new(&services.tripleseat, event_id, Some(event));
            run.event_at_site(source, &site_id).await.unwrap_or_else(|stop| stop)
        }
        Err(stop) => stop,
    };
    run.finish(&outcome).await;
    outcome
}

/// Runs one event an operator asked for through steps 8–14, as the sweep would, under
/// every guard: the event and its site are read from TripleSeat.
pub async fn process_replay(
    services: Arc<Services>,
    event_id: String,
    correlation_id: String,
    progress: Arc<Progress>,
) -> Outcome {
    let run = Run::new(&services, Mode::Replay, correlation_id, progress);
    let outcome = run.replay(event_id).await.unwrap_or_else(|stop| stop);
    run.finish(&outcome).await;
    outcome
}

/// One run's context. Dry runs get no outbox and no write permit, and their
/// idempotency claims cannot settle: nobody has to remember to check a flag.
struct Run<'a> {
    services: &'a Arc<Services>,
    config: &'a Config,
    mode: Mode,
    is_dry_run: bool,
    outbox: Option<&'a Outbox>,
    /// `None` in a dry run: it has only the read-only `services.revel`.
    revel_writer: Option<&'a RevelWriter>,
    now: DateTime<Utc>,
    started: Instant,
    deadline: Instant,
    correlation_id: String,
    progress: Arc<Progress>,
}

impl<'a> Run<'a> {
    fn new(services: &'a Arc<Services>, mode: Mode, correlation_id: String, progress: Arc<Progress>) -> Run<'a> {
        Run::starting_at(services, mode, correlation_id, progress, Instant::now())
    }

    fn starting_at(
        services: &'a Arc<Services>,
        mode: Mode,
        correlation_id: String,
        progress: Arc<Progress>,
        started: Instant,
    ) -> Run<'a> {
        // Report-only lets unverified deliveries through, so it can never write
        // (startup also insists on DRY_RUN=true).
        let is_report_only = services.config.webhook.signature_scheme == SignatureScheme::ReportOnly;
        let is_dry_run = mode == Mode::Test || services.switches.is_dry_run() || is_report_only;
        let now = (services.clock)();
        Run::at(services, mode, correlation_id, progress, (started, now), is_dry_run)
    }

    /// A run that started at `started` (the clock then read `now`).
    fn at(
        services: &'a Arc<Services>,
        mode: Mode,
        correlation_id: String,
        progress: Arc<Progress>,
        (started, now): (Instant, DateTime<Utc>),
        is_dry_run: bool,
    ) -> Run<'a> {
        progress.note(|f| f.dry_run = is_dry_run);
        Run {
            services,
            config: &services.config,
            mode,
            is_dry_run,
            outbox: if is_dry_run { None } else { services.outbox.as_ref() },
            revel_writer: (!is_dry_run).then_some(&services.revel_writer),
            now,
            started,
            deadline: started + services.config.webhook.deadline,
            correlation_id,
            progress,
        }
    }

    /// Steps 1–5: the delivery and its trigger, when it is actionable. The body is read
    /// only after the kill switch, so a disabled connector does no work at all.
    async fn screen(&self, incoming: Incoming) -> Step<(Delivery, String)> {
        guards::connector_enabled(&self.services.switches)?; // CONNECTOR_DISABLED
        let body = self.read_body(incoming.body).await?; // PAYLOAD_TOO_LARGE, INVALID_JSON (incomplete)
        if incoming.mode == Mode::Signed {
            self.verify_signature(incoming.signature.as_deref(), &incoming.signature_headers, &body)?;
            // SIGNATURE_VERIFICATION_FAILED_*
        }
        let delivery = parse_delivery(&body)?; // INVALID_JSON, INVALID_PAYLOAD
        self.progress.note(|f| {
            f.trigger = delivery.trigger();
            f.event_id = delivery.event_id();
            f.site_id = delivery.site_id();
        });
        let trigger = guards::actionable_trigger(&delivery)?; // MISSING_TRIGGER_TYPE, TRIGGER_TYPE_NOT_ACTIONABLE
        Ok((delivery, trigger))
    }

    /// Steps 6 and on: the key is claimed, and settled only on final verdicts.
    async fn actionable(&self, delivery: Delivery, trigger: String) -> Step<Outcome> {
        let mut claim = self.claim(&delivery, &trigger).await?; // DUPLICATE_DELIVERY, STORE_UNAVAILABLE
        let outcome = self.delivered_event(delivery).await.unwrap_or_else(|stop| stop);
        if outcome.settles_key() {
            if let Some(claim) = claim.as_mut() {
                self.settle(claim);
            }
        }
        Ok(outcome)
    }

    /// A replay: the kill switch first (nothing is read when it is off), then the
    /// event and its site from the API, then steps 8–14.
    async fn replay(&self, event_id: String) -> Step<Outcome> {
        guards::connector_enabled(&self.services.switches)?; // CONNECTOR_DISABLED
        tracing::info!(event_id, "Replay: requested by an operator");
        self.progress.note(|f| f.event_id = Some(event_id.clone()));
        let mut source = EventSource::new(&self.services.tripleseat, event_id, None);
        let site_id = source.site_id_from_api(self.deadline).await?; // MISSING_SITE_ID, EVENT_DATA_UNAVAILABLE
        self.progress.note(|f| f.site_id = Some(site_id.clone()));
        self.event_at_site(source, &site_id).await
    }

    /// Steps 7 and on: which event, at which site.
    async fn delivered_event(&self, delivery: Delivery) -> Step<Outcome> {
        let event_id = delivery.event_id().ok_or_else(|| {
            tracing::info!("Event: no event id in the delivery (NO_EVENT_DATA)");
            Outcome::NoEventData
        })?;
        self.progress.note(|f| f.event_id = Some(event_id.clone()));
        let delivered_site = delivery.site_id();
        let mut source = EventSource::delivered(&self.services.tripleseat, event_id, delivery);
        let site_id = match delivered_site {
            Some(site_id) => site_id,
            None => source.site_id_from_api(self.deadline).await?, // MISSING_SITE_ID, EVENT_DATA_UNAVAILABLE
        };
        tracing::info!(event_id = source.event_id(), site_id, "Event: identified");
        self.progress.note(|f| f.site_id = Some(site_id.clone()));
        self.event_at_site(source, &site_id).await
    }

    /// Steps 8–14, shared by webhooks and the sweep.
    async fn event_at_site(&self, mut source: EventSource<'_>, site_id: &str) -> Step<Outcome> {
        guards::location_allowed(self.config, site_id)?; // LOCATION_NOT_ALLOWED
        let location = guards::mapped_location(self.config, site_id)?; // UNKNOWN_LOCATION
        self.progress.note(|f| f.location_name = Some(location.name.clone()));
        // The gate runs on the payload's date; without one it waits for the API's.
        let payload_day = match source.payload_date() {
            Err(DateProblem::Missing) => {
                self.progress.note(|f| f.time_gate = Some(GateState::Unknown));
                None
            }
            dated => Some(self.time_gate(dated, location)?), // TIME_GATE_CLOSED_*
        };
        let event = source.full_event(self.deadline).await?; // TRIPLESEAT_AUTHORIZATION_DENIED, EVENT_DATA_UNAVAILABLE
        let day = match payload_day {
            Some(day) => day,
            None => self.time_gate(event.date(), location)?, // TIME_GATE_CLOSED_* on the API's date
        };
        let validated = self.validate(event, day)?; // VALIDATION_FAILED_*
        self.revel(&validated, location).await // ALREADY_INJECTED, ITEMS_UNMATCHED, DRY_RUN, REVEL_*
    }

    fn verify_signature(&self, header: Option<&str>, header_names: &[String], body: &[u8]) -> Step<()> {
        if let (SignatureScheme::ReportOnly, Some(key)) =
            (self.config.webhook.signature_scheme, &self.config.webhook.signing_key)
        {
            self.report_signature(key, header, header_names, body);
            return Ok(());
        }
        let verifier = Verifier {
            key: self.config.webhook.signing_key.as_ref(),
            scheme: self.config.webhook.signature_scheme,
            tolerance_secs: self.config.webhook.tolerance_secs,
        };
        match verifier.verify(header, body, self.now.timestamp()) {
            Ok(()) => {
                tracing::info!("Signature: verified");
                self.progress.note(|f| f.signature_verified = true);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(code = error.code(), "Signature: REJECTED ({})", error.code());
                Err(Outcome::SignatureVerificationFailed(error))
            }
        }
    }

    /// Report-only: which form matched, and the header's shape, logged and journalled.
    /// The run goes on as a dry run whatever the verdict.
    fn report_signature(&self, key: &crate::secret::Secret, header: Option<&str>, names: &[String], body: &[u8]) {
        let report = signature::report(key, header, body, self.now.timestamp());
        let shape = format!("{}; headers: {}", report.shape, names.join(" "));
        match report.form {
            Some(form) => tracing::info!(
                form = form.as_str(),
                pin = form.scheme(),
                shape = %shape,
                skew_secs = report.skew_secs,
                "Signature (report-only): matched the {} form; pin WEBHOOK_SIGNATURE_SCHEME={}",
                form.as_str(),
                form.scheme()
            ),
            None => tracing::warn!(
                shape = %shape,
                "Signature (report-only): matched NO known form; this delivery runs as a dry run only"
            ),
        }
        self.progress.note(|f| {
            f.signature_form = Some(report.form_name());
            f.signature_shape = Some(shape);
            f.signature_verified = report.form.is_some();
        });
    }

    /// Claims the delivery key: the in-memory map first (in flight or settled here),
    /// then the store (settled before a restart, or by another instance).
    /// `/test/webhook` has no keys at all; a dry run's claim keeps concurrent copies
    /// out but can never settle.
    async fn claim(&self, delivery: &Delivery, trigger: &str) -> Step<Option<Claim>> {
        if self.mode != Mode::Signed {
            return Ok(None);
        }
        let Some(key) = delivery.key(trigger) else {
            return Ok(None);
        };
        let Ok(mut claim) = self.services.deliveries.claim(key, !self.is_dry_run) else {
            tracing::info!("Idempotency: already seen (DUPLICATE_DELIVERY)");
            return Err(Outcome::DuplicateDelivery);
        };
        match self.services.store.is_key_settled(claim.key()).await {
            Ok(false) => {
                tracing::info!("Idempotency: new delivery");
                Ok(Some(claim))
            }
            Ok(true) => {
                tracing::info!("Idempotency: settled earlier (DUPLICATE_DELIVERY)");
                claim.settle(); // the map answers the next copy without a round trip
                Err(Outcome::DuplicateDelivery)
            }
            Err(error) => {
                tracing::error!(%error, "Store: unavailable (STORE_UNAVAILABLE)");
                Err(Outcome::StoreUnavailable)
            }
        }
    }

    /// Keeps the key in memory now and in the store right after the answer.
    fn settle(&self, claim: &mut Claim) {
        if claim.settle() {
            self.services
                .writes
                .settle_key(claim.key().clone(), self.config.idempotency_ttl);
        }
    }

    fn time_gate(&self, day: Result<NaiveDate, DateProblem>, location: &Location) -> Step<NaiveDate> {
        let closed = match day {
            Err(problem) => GateClosed::from_problem(problem),
            Ok(day) => match GateClosed::from_gate(check_time_gate(
                day,
                location.timezone,
                self.now,
                self.config.injection_window,
            )) {
                None => {
                    tracing::info!(%day, timezone = %location.timezone, "Time gate: OPEN");
                    self.progress.note(|f| f.time_gate = Some(GateState::Open));
                    return Ok(day);
                }
                Some(closed) => closed,
            },
        };
        tracing::info!(timezone = %location.timezone, "Time gate: CLOSED ({})", closed.code());
        self.progress.note(|f| f.time_gate = Some(GateState::Closed));
        Err(Outcome::TimeGateClosed(closed))
    }

    fn validate(&self, event: WireEvent, day: NaiveDate) -> Step<ValidatedEvent> {
        let rules = &self.config.rules;
        let checked = Event::try_from(event)
            .map_err(|refused| refuse_unreadable(refused, rules))
            .and_then(|event| validate(&event, day, rules));
        match checked {
            Ok(validated) => {
                tracing::info!(
                    lines = validated.lines.len(),
                    total = %validated.totals.grand_total,
                    paid = %validated.totals.paid,
                    "Validation: passed"
                );
                self.progress
                    .note(|f| f.event_name = Some(validated.facts.name.clone()));
                Ok(validated)
            }
            Err(ValidationFailure::UnreadableLineItem(line)) => {
                tracing::error!(line = %line, "Validation: FAILED (UNREADABLE_LINE_ITEM): {line}; nothing is ordered");
                Err(Outcome::ValidationFailed(ValidationFailure::UnreadableLineItem(line)))
            }
            Err(failure) => {
                tracing::info!("Validation: FAILED ({})", failure.code());
                Err(Outcome::ValidationFailed(failure))
            }
        }
    }

    /// Step 13: dedupe, products, plan; then stop in a dry run, else write.
    async fn revel(&self, event: &ValidatedEvent, location: &Location) -> Step<Outcome> {
        let revel = &self.services.revel;
        let event_id = event.facts.id.as_str();
        if !revel.is_configured() {
            if !self.is_dry_run {
                tracing::error!("Revel: not configured (REVEL_WRITE_FAILED)");
                return Err(Outcome::RevelWriteFailed);
            }
            tracing::warn!("Revel: not configured; the dry-run plan has no product ids");
            let plan = self.plan(event, location, None)?;
            return Ok(Outcome::DryRun { plan: Box::new(plan) });
        }

        let _turn = tokio::time::timeout_at(self.deadline, self.services.turns.wait_for(event_id))
            .await
            .map_err(|_| revel_read_failed("waiting for this event's turn", None))?;
        // A dry run writes nothing, so it needs no lease.
        let lease = match self.is_dry_run {
            true => None,
            false => Some(self.event_lease(event_id).await?), // STORE_UNAVAILABLE
        };
        let result = self.revel_under_lease(event, location).await;
        if let Some(lease) = lease {
            lease.release().await;
        }
        result
    }

    /// The event's lease across instances: no other instance looks this event up in
    /// Revel or writes it until this run is done.
    async fn event_lease(&self, event_id: &str) -> Step<Lease> {
        match Lease::take_by(&self.services.store, format!("event:{event_id}"), self.deadline).await {
            Ok(lease) => Ok(lease),
            Err(NotHeld::Busy) => Err(revel_read_failed("waiting for this event's lease", None)),
            Err(NotHeld::Store(error)) => {
                tracing::error!(%error, "Store: unavailable, no lease, nothing written (STORE_UNAVAILABLE)");
                Err(Outcome::StoreUnavailable)
            }
        }
    }

    async fn revel_under_lease(&self, event: &ValidatedEvent, location: &Location) -> Step<Outcome> {
        let event_id = event.facts.id.as_str();
        let existing = self.existing_order(event_id, location).await?; // REVEL_DUPLICATE_ORDER, ALREADY_INJECTED
        let catalog = self.catalogue(location).await?;
        let plan = self.plan(event, location, Some(&catalog))?; // ITEMS_UNMATCHED
        if let Some(order) = existing.as_ref().filter(|o| !o.is_resumable_for(event_id, &plan)) {
            tracing::error!(order_id = %order.id, "Revel: an incomplete order exists that was not started from this invoice (made elsewhere, or the invoice changed since); it is left alone (REVEL_PARTIAL_ORDER)");
            return Err(Outcome::RevelPartialOrder {
                order_id: order.id.clone(),
                resumable: false,
            });
        }
        if self.is_dry_run {
            tracing::info!(items = plan.items.len(), total = %plan.total, "Revel: dry run, nothing written (DRY_RUN)");
            return Ok(Outcome::DryRun { plan: Box::new(plan) });
        }
        self.write(event, location, &plan, existing.as_ref()).await // REVEL_INJECTED, REVEL_PARTIAL_ORDER, REVEL_WRITE_FAILED
    }

    /// The event's order in Revel, when there is one that is not complete yet; a
    /// complete one is `ALREADY_INJECTED`, two or more `REVEL_DUPLICATE_ORDER`.
    async fn existing_order(&self, event_id: &str, location: &Location) -> Step<Option<ExistingOrder>> {
        let establishment = &location.revel_establishment;
        let lookup = find_existing(&self.services.revel, establishment, event_id, Some(self.deadline));
        let found = tokio::time::timeout_at(self.deadline, lookup)
            .await
            .map_err(|_| revel_read_failed("order lookup", None))?
            .map_err(|e| revel_read_failed("order lookup", Some(e)))?;
        if found.len() > 1 {
            let order_ids: Vec<String> = found.into_iter().map(|o| o.id).collect();
            tracing::error!(order_ids = %order_ids.join(", "), "Revel: more than one order for this event (REVEL_DUPLICATE_ORDER)");
            self.services.metrics.duplicate_order();
            return Err(Outcome::RevelDuplicateOrder { order_ids });
        }
        match found.into_iter().next() {
            Some(order) if order.is_complete => {
                tracing::info!(order_id = %order.id, "Revel: order already exists (ALREADY_INJECTED)");
                Err(Outcome::AlreadyInjected { order_id: order.id })
            }
            incomplete => Ok(incomplete),
        }
    }

    /// The establishment's products, from the cache or read once per `CATALOG_TTL_SECS`.
    async fn catalogue(&self, location: &Location) -> Step<Arc<Catalog>> {
        let read =
            self.services
                .catalog
                .products(&self.services.revel, &location.revel_establishment, Some(self.deadline));
        tokio::time::timeout_at(self.deadline, read)
            .await
            .map_err(|_| revel_read_failed("catalogue read", None))?
            .map_err(|e| revel_read_failed("catalogue read", Some(e)))
    }

    /// Step 13's write: from here it runs to its end even past the deadline, never cut
    /// half-way.
    async fn write(
        &self,
        event: &ValidatedEvent,
        location: &Location,
        plan: &PlannedOrder,
        existing: Option<&ExistingOrder>,
    ) -> Step<Outcome> {
        let ids = WriterIds::for_plan(&self.config.revel.ids, plan).map_err(|missing| {
            tracing::error!(missing = %missing.join(", "), "Revel: ids not configured (REVEL_WRITE_FAILED)");
            Outcome::RevelWriteFailed
        })?;
        let Some(revel_writer) = self.revel_writer else {
            tracing::error!("Revel: a dry run reached the write step; nothing written (REVEL_WRITE_FAILED)");
            return Err(Outcome::RevelWriteFailed);
        };
        if !self.progress.start_writing() {
            return Err(Outcome::EventDataUnavailable); // the deadline's verdict, already given
        }
        let writer = OrderWriter {
            client: revel_writer,
            ids,
            timezone: location.timezone,
            now: self.now,
            totals: self.config.revel.totals,
        };
        match writer.write(plan, &event.facts.id, existing).await {
            WriteResult::Injected { order_id } => Ok(self.injected(event, location, plan, order_id).await),
            WriteResult::Partial { order_id, error } => {
                tracing::error!(order_id, %error, "Revel: order incomplete (REVEL_PARTIAL_ORDER)");
                Err(Outcome::RevelPartialOrder {
                    order_id,
                    resumable: true,
                })
            }
            WriteResult::Failed(error) => {
                tracing::error!(%error, "Revel: write failed (REVEL_WRITE_FAILED)");
                Err(Outcome::RevelWriteFailed)
            }
        }
    }

    /// The order is in Revel: counted, and the success email queued (saying so when the
    /// webhook was answered before the write finished).
    async fn injected(
        &self,
        event: &ValidatedEvent,
        location: &Location,
        plan: &PlannedOrder,
        order_id: String,
    ) -> Outcome {
        tracing::info!(order_id, "Revel: order written (REVEL_INJECTED)");
        self.services.metrics.order_injected();
        let answered_early = self.progress.finish().unwrap_or(false);
        if let Some(outbox) = self.outbox {
            let injected = templates::Injected {
                event,
                location,
                plan,
                order_id: &order_id,
                correlation_id: &self.correlation_id,
                answered_before_the_end: answered_early.then_some(self.config.webhook.deadline),
            };
            outbox.enqueue(templates::success(&injected)).await;
        }
        Outcome::RevelInjected { order_id }
    }

    fn plan(&self, event: &ValidatedEvent, location: &Location, catalog: Option<&Catalog>) -> Step<PlannedOrder> {
        let matching = Matching {
            catalog,
            threshold: self.config.product_match_threshold,
            allow_partial: self.config.allow_partial_orders,
        };
        let plan = plan_order(event, location, &matching).map_err(|unmatched| {
            tracing::warn!(unmatched = %unmatched.0.join(" | "), "Products: some items unmatched (ITEMS_UNMATCHED)");
            Outcome::ItemsUnmatched { names: unmatched.0 }
        })?;
        if !plan.unmatched_items.is_empty() {
            tracing::warn!(unmatched = %plan.unmatched_items.join(" | "), "Products: partial order, unmatched items left out");
        }
        Ok(plan)
    }

    /// Logs the verdict once, journals it, and queues the failure email it warrants —
    /// unless the HTTP layer gave the verdict at the deadline (then it did all that).
    async fn finish(&self, outcome: &Outcome) {
        let Some(answered_early) = self.progress.finish() else {
            return;
        };
        let answered = Some(Outcome::RevelWriteFailed.reason()).filter(|a| answered_early && *a != outcome.reason());
        log_outcome(outcome, self.is_dry_run, answered);
        self.record(outcome, answered).await;
    }

    /// Journals a verdict and queues the failure email it warrants. For `/webhook`, only
    /// once the signature verified: an unsigned or forged request never emails anyone.
    async fn record(&self, outcome: &Outcome, answered: Option<&'static str>) {
        let facts = self.progress.facts();
        self.services.metrics.pipeline_ran(self.started.elapsed());
        self.journal(outcome, &facts, answered);
        let may_email = self.mode != Mode::Signed || facts.signature_verified;
        if self.outbox.is_some() && may_email && outcome.warrants_failure_email() {
            self.email_failure(outcome, &facts).await;
        }
    }

    /// Queues the failure email for `outcome`, unless this failure of this event was
    /// reported already.
    async fn email_failure(&self, outcome: &Outcome, facts: &Facts) {
        let (unmatched, partial, duplicates): (&[String], Option<&str>, &[String]) = match outcome {
            Outcome::ItemsUnmatched { names } => (names, None, &[]),
            Outcome::RevelPartialOrder { order_id, .. } => (&[], Some(order_id), &[]),
            Outcome::RevelDuplicateOrder { order_ids } => (&[], None, order_ids),
            _ => (&[], None, &[]),
        };
        let detail = match outcome {
            Outcome::ValidationFailed(ValidationFailure::UnreadableLineItem(line)) => Some(line.to_string()),
            Outcome::RevelPartialOrder { resumable: true, .. } => Some(
                "the sweep on the event's day, or a replay from the console, completes it".to_string(),
            ),
            Outcome::RevelPartialOrder { resumable: false, .. } => Some(
                "this order was not started from the event's current invoice (it was made elsewhere, or the invoice changed after a partial write), so the connector leaves it alone: complete or void it in Revel (docs/rollback.md)".to_string(),
            ),
            _ => None,
        };
        let reason = outcome.reason();
        let event_id = facts.event_id.as_deref().unwrap_or("");
        // A different detail (another unreadable line, a partial order that can no
        // longer be resumed) is news of its own.
        let notice = match &detail {
            Some(detail) => format!("{reason}/{}", notice_digest(detail)),
            None => reason.to_string(),
        };
        let message = templates::failure(&templates::Failed {
            reason,
            explanation: outcome.explanation(),
            event_id: facts.event_id.as_deref(),
            event_name: facts.event_name.as_deref(),
            location: facts.location_name.as_deref(),
            correlation_id: &self.correlation_id,
            unmatched_items: unmatched,
            partial_order_id: partial,
            duplicate_order_ids: duplicates,
            detail: detail.as_deref(),
        });
        let (services, period, event_id) = (Arc::clone(self.services), self.notice_period(), event_id.to_string());
        let queue = async move {
            let Some(outbox) = services.outbox.as_ref() else { return };
            if !services
                .store
                .is_first_notice(&period, &event_id, &notice)
                .await
                .unwrap_or(true)
            {
                tracing::info!(
                    "Email: this failure of this event was reported already (once a day from the sweep, once in {} minutes otherwise)",
                    FAILURE_EMAIL_WINDOW.as_secs() / 60
                );
                return;
            }
            outbox.enqueue(message).await;
        };
        // Awaited, so the email is queued before the answer goes out; in a task of its
        // own, so a request whose future is dropped (steps 1–5 run in the request's
        // task) cannot stop it between taking the notice and queueing the email.
        let _ = tokio::spawn(queue.instrument(tracing::Span::current())).await;
    }

    /// The period a failure is reported once in, across instances: a day for the
    /// sweep, `FAILURE_EMAIL_WINDOW` otherwise. If the store cannot say whether it was
    /// reported, it is.
    fn notice_period(&self) -> String {
        match self.mode {
            Mode::Sweep => self.now.date_naive().format("%Y-%m-%d").to_string(),
            _ => {
                let window = crate::store::ms(FAILURE_EMAIL_WINDOW);
                format!("window-{}", crate::store::now_ms() / window)
            }
        }
    }

    fn journal(&self, outcome: &Outcome, facts: &Facts, answered: Option<&'static str>) {
        self.services.writes.journal(JournalEntry {
            at_ms: crate::store::now_ms(),
            correlation_id: self.correlation_id.clone(),
            source: self.mode.source().as_str().to_string(),
            instance_id: self.services.store.instance_id().to_string(),
            trigger: facts.trigger.clone(),
            event_id: facts.event_id.clone(),
            site_id: facts.site_id.clone(),
            reason: outcome.reason().to_string(),
            ok: outcome.is_ok(),
            processed: outcome.is_processed(),
            dry_run: self.is_dry_run,
            revel_order_id: outcome.revel_order_id().map(String::from),
            duration_ms: i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX),
            signature_form: facts.signature_form.map(String::from),
            signature_shape: facts.signature_shape.clone(),
            answered_reason: answered.map(String::from),
        });
    }
}

/// The run's one outcome line; `answered` when the webhook was answered otherwise at
/// the deadline while the write was still running.
fn log_outcome(outcome: &Outcome, dry_run: bool, answered: Option<&'static str>) {
    let (reason, ok, processed) = (outcome.reason(), outcome.is_ok(), outcome.is_processed());
    match answered {
        Some(answered) => tracing::info!(
            reason,
            ok,
            processed,
            dry_run,
            answered,
            "Outcome: {reason} (the webhook was answered {answered} at the deadline, while this write was still running)"
        ),
        None => tracing::info!(reason, ok, processed, dry_run, "Outcome: {reason}"),
    }
}

/// A short, stable digest of a failure's detail, for the notice key.
fn notice_digest(detail: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(detail.as_bytes())[..4])
}

/// The same failure of the same event (or of no event) is emailed once in this long:
/// a flood of identical failures is one email, and the real alerts stay readable.
const FAILURE_EMAIL_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How long a client may take to send a body: well inside the deadline, so a body
/// that never finishes is this run's own verdict, given once.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Run<'_> {
    /// The whole body, within `WEBHOOK_MAX_BYTES` and the body timeout; a client that
    /// stops sending (or a shutdown while it dribbles) ends the read at once.
    async fn read_body(&self, body: Body) -> Step<Bytes> {
        let limit = self.config.webhook.max_bytes;
        let bound = BODY_READ_TIMEOUT.min(self.config.webhook.deadline / 2);
        let mut stopping = self.services.stopping.subscribe();
        let read = tokio::select! {
            read = tokio::time::timeout(bound, Limited::new(body, limit).collect()) => read,
            _ = stopping.wait_for(|stopping| *stopping) => {
                tracing::warn!("Body: still arriving at shutdown (INVALID_JSON)");
                return Err(Outcome::InvalidJson);
            }
        };
        match read {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                tracing::warn!(limit, "Body: larger than WEBHOOK_MAX_BYTES (PAYLOAD_TOO_LARGE)");
                Err(Outcome::PayloadTooLarge)
            }
            Ok(Err(_)) => {
                tracing::warn!("Body: the client stopped before sending it all (INVALID_JSON)");
                Err(Outcome::InvalidJson)
            }
            Err(_) => {
                tracing::warn!(
                    secs = bound.as_secs(),
                    "Body: not received in full in time (INVALID_JSON)"
                );
                Err(Outcome::InvalidJson)
            }
        }
    }
}

fn parse_delivery(body: &[u8]) -> Step<Delivery> {
    Delivery::parse(body).map_err(|error| {
        let outcome = match error {
            DeliveryError::InvalidJson => Outcome::InvalidJson,
            DeliveryError::NotAnObject => Outcome::InvalidPayload,
        };
        tracing::info!("Body: {} ({})", outcome.explanation(), outcome.reason());
        outcome
    })
}

fn revel_read_failed(what: &str, error: Option<RevelError>) -> Outcome {
    match error {
        Some(error) => tracing::error!(%error, "Revel: {what} failed (REVEL_WRITE_FAILED)"),
        None => tracing::error!("Revel: {what} ran past the deadline (REVEL_WRITE_FAILED)"),
    }
    Outcome::RevelWriteFailed
}
