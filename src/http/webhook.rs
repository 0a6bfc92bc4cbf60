//! The three webhook routes. Each hands the delivery to `pipeline::process` in its
//! own task, so a panic becomes `INTERNAL_ERROR` and a blown deadline still gets an
//! answer (`EVENT_DATA_UNAVAILABLE` while reading, `REVEL_WRITE_FAILED` while a
//! write, which is left to finish, is under way).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use tokio::task::JoinHandle;
use tracing::{Instrument, Span};

use super::contract;
use super::correlation;
use crate::config::SignatureScheme;
use crate::pipeline::outcome::Outcome;
use crate::pipeline::{self, Incoming, Mode, Progress};
use crate::startup::AppState;

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
        let facts = crate::pipeline::Facts {
            dry_run: true,
            ..Default::default()
        };
        return contract::render(&Outcome::RateLimited, &facts, &correlation_id);
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
        signature_headers: match state.services.config.signature_scheme {
            SignatureScheme::ReportOnly => signature_header_names(headers),
            _ => Vec::new(),
        },
        body,
    };
    let deadline = state.services.config.webhook_deadline + DEADLINE_GRACE;
    let Ok(permit) = Arc::clone(&state.runs).acquire_owned().await else {
        return contract::render(&Outcome::InternalError, &progress.facts(), &correlation_id);
    };
    let run = pipeline::process(
        Arc::clone(&state.services),
        incoming,
        correlation_id.clone(),
        Arc::clone(&progress),
    );
    let task = tokio::spawn(
        async move {
            let outcome = run.await;
            drop(permit);
            outcome
        }
        .instrument(span.clone()),
    );
    let outcome = await_run(task, deadline, &progress, &span).await;
    if mode == Mode::Signed {
        state.services.metrics.webhook_answered(&outcome.reason());
    }
    contract::render(&outcome, &progress.facts(), &correlation_id)
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

/// Waits for a run: its outcome, `INTERNAL_ERROR` if it panicked, or at the deadline
/// the truthful answer for where it is (the task itself goes on if it is writing).
async fn await_run(task: JoinHandle<Outcome>, deadline: Duration, progress: &Progress, span: &Span) -> Outcome {
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => {
            tracing::error!(parent: span, "Pipeline panicked (INTERNAL_ERROR)");
            Outcome::InternalError
        }
        Err(_) if progress.is_writing() => {
            tracing::error!(
                parent: span,
                "Deadline reached during the Revel write; it continues in the background (REVEL_WRITE_FAILED)"
            );
            Outcome::RevelWriteFailed
        }
        Err(_) => {
            tracing::error!(parent: span, "Deadline reached (EVENT_DATA_UNAVAILABLE)");
            Outcome::EventDataUnavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn outcome_of(
        run: impl std::future::Future<Output = Outcome> + Send + 'static,
        progress: &Progress,
    ) -> Outcome {
        await_run(tokio::spawn(run), Duration::from_millis(100), progress, &Span::none()).await
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error() {
        let progress = Progress::default();
        let outcome = outcome_of(
            async {
                let items: Vec<u8> = Vec::new();
                let _ = items[3];
                Outcome::DryRun
            },
            &progress,
        )
        .await;
        assert_eq!(outcome, Outcome::InternalError);
    }

    #[tokio::test]
    async fn a_blown_deadline_says_where_the_run_was() {
        let slow = || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Outcome::DryRun
        };
        let reading = Progress::default();
        assert_eq!(outcome_of(slow(), &reading).await, Outcome::EventDataUnavailable);
        let writing = Progress::default();
        writing.mark_writing();
        assert_eq!(outcome_of(slow(), &writing).await, Outcome::RevelWriteFailed);
    }

    #[tokio::test]
    async fn a_finished_run_gives_its_own_outcome() {
        assert_eq!(
            outcome_of(async { Outcome::DuplicateDelivery }, &Progress::default()).await,
            Outcome::DuplicateDelivery
        );
    }
}
