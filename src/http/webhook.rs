//! The three webhook routes. Each takes the delivery through `pipeline::screen` in the
//! request's own task (the kill switch, the body, the signature, the trigger: where
//! most deliveries end), then hands an actionable one to `pipeline::process` in a task
//! of its own, so a blown deadline still gets an answer (`EVENT_DATA_UNAVAILABLE`
//! while reading, `REVEL_WRITE_FAILED` while a write, which is left to finish, is
//! under way). A panic in either becomes `INTERNAL_ERROR`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::FutureExt;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{Instrument, Span};

use super::contract;
use super::correlation;
use crate::http::state::AppState;
use crate::pipeline::outcome::{Answer, Outcome};
use crate::pipeline::{self, Actionable, AtDeadline, Incoming, Mode, Progress, Screening};
use crate::tripleseat::signature::SignatureScheme;

/// Past the pipeline's own deadline, how long the route waits before answering anyway.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

/// `POST /webhook` and `POST /webhooks/tripleseat`.
pub async fn signed(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    handle(state, Mode::Signed, &headers, body).await
}

/// `POST /test/webhook`: unsigned, always dry-run.
/// Anonymous callers share a small budget of their own, so they can never spend the
/// TripleSeat read capacity production webhooks and the sweep need.
pub async fn test(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    if state.test_budget.check().is_err() {
        let correlation_id = correlation::new_id("req");
        tracing::warn!(%correlation_id, "Test endpoints: over their rate limit (RATE_LIMITED)");
        return contract::render(&Answer::bare(Outcome::RateLimited, true), &correlation_id);
    }
    handle(state, Mode::Test, &headers, body).await
}

async fn handle(state: Arc<AppState>, mode: Mode, headers: &HeaderMap, body: Body) -> Response {
    let correlation_id = correlation::new_id("req");
    let span = tracing::info_span!("request", correlation_id = %correlation_id, route = ?mode);
    let progress = Arc::new(Progress::default());
    let incoming = Incoming {
        mode,
        signature: headers
            .get("x-signature")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        signature_headers: match state.services.config.webhook.signature_scheme {
            SignatureScheme::ReportOnly => signature_header_names(headers),
            _ => Vec::new(),
        },
        body,
    };
    let arrived = Instant::now();
    let screened = AssertUnwindSafe(pipeline::screen(
        &state.services,
        incoming,
        &correlation_id,
        &progress,
        arrived,
    ))
    .catch_unwind()
    .instrument(span.clone())
    .await;
    let outcome = match screened {
        Ok(Screening::Done(outcome)) => outcome,
        Ok(Screening::Actionable(actionable)) => {
            run_actionable(&state, actionable, mode, &correlation_id, &progress, arrived, &span).await
        }
        Err(_) => {
            tracing::error!(parent: &span, "Pipeline panicked (INTERNAL_ERROR)");
            let outcome = Outcome::InternalError;
            pipeline::record_taken_over(&state.services, mode, &correlation_id, &progress, arrived, &outcome)
                .instrument(span.clone())
                .await;
            outcome
        }
    };
    if mode == Mode::Signed {
        state.services.metrics.webhook_answered(outcome.reason());
    }
    contract::render(&progress.answer(outcome), &correlation_id)
}

/// Steps 6–14 in a task of their own, under a place among the runs and the deadline.
async fn run_actionable(
    state: &Arc<AppState>,
    actionable: Box<Actionable>,
    mode: Mode,
    correlation_id: &str,
    progress: &Arc<Progress>,
    arrived: Instant,
    span: &Span,
) -> Outcome {
    let deadline = arrived + state.services.config.webhook.deadline + DEADLINE_GRACE;
    // Waiting for a place among the runs counts against the deadline.
    let Ok(Ok(permit)) = tokio::time::timeout_at(deadline, Arc::clone(&state.runs).acquire_owned()).await else {
        tracing::error!(parent: span, "Every pipeline place stayed taken until the deadline (EVENT_DATA_UNAVAILABLE)");
        let outcome = Outcome::EventDataUnavailable;
        pipeline::record_taken_over(&state.services, mode, correlation_id, progress, arrived, &outcome)
            .instrument(span.clone())
            .await;
        return outcome;
    };
    let run = pipeline::process(
        Arc::clone(&state.services),
        actionable,
        correlation_id.to_string(),
        Arc::clone(progress),
        arrived,
    );
    let task = tokio::spawn(
        async move {
            let outcome = run.await;
            drop(permit);
            outcome
        }
        .instrument(span.clone()),
    );
    match await_run(task, deadline, progress, span).await {
        Verdict::Run(outcome) => outcome,
        Verdict::TakenOver(outcome) => {
            pipeline::record_taken_over(&state.services, mode, correlation_id, progress, arrived, &outcome)
                .instrument(span.clone())
                .await;
            outcome
        }
    }
}

/// The names of headers that look like a signature: report-only records them, in case
/// TripleSeat signs under another name than `X-Signature`.
fn signature_header_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| ["signature", "hmac", "digest"].iter().any(|word| name.contains(word)))
        .take(8)
        .map(String::from)
        .collect()
}

/// Whose verdict the answer carries.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The run's own, logged and journalled by the run.
    Run(Outcome),
    /// The deadline's: the run was stopped, and this layer records it.
    TakenOver(Outcome),
}

/// Waits for a run: its outcome, `INTERNAL_ERROR` if it panicked, or at the deadline
/// the truthful answer for where it is. A run still reading is stopped (its verdict is
/// the deadline's); one writing goes on, and says in its own outcome that it was
/// answered `REVEL_WRITE_FAILED` first.
async fn await_run(mut task: JoinHandle<Outcome>, deadline: Instant, progress: &Progress, span: &Span) -> Verdict {
    let joined = match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(joined) => joined,
        Err(_) => match progress.at_deadline() {
            AtDeadline::TakenOver => {
                task.abort();
                tracing::error!(parent: span, "Deadline reached while reading; the run is stopped (EVENT_DATA_UNAVAILABLE)");
                return Verdict::TakenOver(Outcome::EventDataUnavailable);
            }
            AtDeadline::AnsweredWhileWriting => {
                tracing::error!(
                    parent: span,
                    "Deadline reached during the Revel write: answered REVEL_WRITE_FAILED; the write goes on and its own outcome follows"
                );
                return Verdict::Run(Outcome::RevelWriteFailed);
            }
            // It finished as the deadline came: its own outcome is a moment away.
            AtDeadline::Finished => task.await,
        },
    };
    match joined {
        Ok(outcome) => Verdict::Run(outcome),
        Err(_) => {
            tracing::error!(parent: span, "Pipeline panicked (INTERNAL_ERROR)");
            Verdict::TakenOver(Outcome::InternalError)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn outcome_of(
        run: impl std::future::Future<Output = Outcome> + Send + 'static,
        progress: &Progress,
    ) -> Verdict {
        let deadline = Instant::now() + Duration::from_millis(100);
        await_run(tokio::spawn(run), deadline, progress, &Span::none()).await
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error() {
        let progress = Progress::default();
        let verdict = outcome_of(
            async {
                let items: Vec<u8> = Vec::new();
                let _ = items[3];
                Outcome::ConnectorDisabled
            },
            &progress,
        )
        .await;
        assert_eq!(verdict, Verdict::TakenOver(Outcome::InternalError));
    }

    #[tokio::test]
    async fn a_blown_deadline_says_where_the_run_was() {
        let slow = || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Outcome::ConnectorDisabled
        };
        let reading = Progress::default();
        assert_eq!(
            outcome_of(slow(), &reading).await,
            Verdict::TakenOver(Outcome::EventDataUnavailable)
        );
        assert!(!reading.start_writing(), "a run taken over can never start writing");
        let writing = Progress::default();
        assert!(writing.start_writing());
        assert_eq!(
            outcome_of(slow(), &writing).await,
            Verdict::Run(Outcome::RevelWriteFailed)
        );
    }

    #[tokio::test]
    async fn a_finished_run_gives_its_own_outcome() {
        assert_eq!(
            outcome_of(async { Outcome::DuplicateDelivery }, &Progress::default()).await,
            Verdict::Run(Outcome::DuplicateDelivery)
        );
    }
}
