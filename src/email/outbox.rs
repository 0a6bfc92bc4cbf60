//! The durable outbox: the webhook answer never waits on SendGrid, and no email is lost
//! to a restart. `enqueue` stores the message (one insert) and wakes the sender task;
//! the sender claims due messages from the store, sends each once per attempt, and
//! marks it sent after SendGrid's 202, reschedules it with backoff after a retryable
//! failure, or gives it up (kept, visible) after `EMAIL_MAX_ATTEMPTS` or a final error.
//! Any instance sends any instance's messages, so a killed instance's queue goes out
//! from the next one. Delivery is at least once: a kill between SendGrid's 202 and the
//! mark sends that one message again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::client::SendgridClient;
use super::Message;
use crate::store::outbox::Claimed;
use crate::store::Store;
use crate::upstream::{with_retry, Failure, RetryPolicy};

/// How often the sender looks for due messages when nothing woke it (retries whose
/// time has come, messages another instance stored).
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Messages claimed per round.
const CLAIM_BATCH: i64 = 10;

pub struct Outbox {
    store: Arc<Store>,
    client: Arc<SendgridClient>,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    sender: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    is_closed: Mutex<bool>,
}

impl Outbox {
    pub fn start(client: SendgridClient, store: Arc<Store>, policy: RetryPolicy) -> Outbox {
        let client = Arc::new(client);
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let sender = tokio::spawn(send_loop(
            Arc::clone(&client),
            Arc::clone(&store),
            policy,
            Arc::clone(&wake),
            stopped,
        ));
        Outbox {
            store,
            client,
            policy,
            wake,
            stop,
            sender: tokio::sync::Mutex::new(Some(sender)),
            is_closed: Mutex::new(false),
        }
    }

    /// Stores the message for sending; the answer waits for the insert, never for SendGrid.
    /// With the store unreachable the message is still sent, from memory, best effort.
    pub async fn enqueue(&self, message: Message) {
        if *self.is_closed.lock().expect("invariant: never held across a panic") {
            tracing::warn!(correlation_id = %message.correlation_id, subject = %message.subject, "Email dropped: the service is shutting down");
            return;
        }
        match self.store.enqueue_email(&message).await {
            Ok(id) => {
                tracing::info!(email_id = id, subject = %message.subject, "Email queued");
                self.wake.notify_one();
            }
            Err(error) => {
                tracing::error!(%error, subject = %message.subject, "Email: the outbox is unavailable; sending from memory");
                let (client, policy) = (Arc::clone(&self.client), self.policy);
                tokio::spawn(async move {
                    let quick = RetryPolicy {
                        attempts: policy.attempts.min(4),
                        ..RetryPolicy::default()
                    };
                    match with_retry(quick, None, |_| client.send(&message)).await {
                        Ok(()) => tracing::info!(correlation_id = %message.correlation_id, "Email sent"),
                        Err(error) => {
                            tracing::error!(correlation_id = %message.correlation_id, %error, "Email not sent")
                        }
                    }
                });
            }
        }
    }

    /// Stops taking messages, sends what is due now within `bound`, and leaves later
    /// retries in the store for the next start.
    pub async fn drain(&self, bound: Duration) {
        *self.is_closed.lock().expect("invariant: never held across a panic") = true;
        let _ = self.stop.send(true);
        self.wake.notify_one();
        if let Some(sender) = self.sender.lock().await.take() {
            if tokio::time::timeout(bound, sender).await.is_err() {
                tracing::warn!(
                    bound_secs = bound.as_secs(),
                    "Email: due messages not all sent before shutdown; they stay queued"
                );
            }
        }
    }
}

async fn send_loop(
    client: Arc<SendgridClient>,
    store: Arc<Store>,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut store_was_down = false;
    loop {
        let stopping = *stopped.borrow();
        match store.claim_due_emails(CLAIM_BATCH).await {
            Ok(claimed) if !claimed.is_empty() => {
                store_was_down = false;
                for message in claimed {
                    send_one(&client, &store, policy, message).await;
                }
                continue;
            }
            Ok(_) => store_was_down = false,
            Err(error) if !store_was_down => {
                store_was_down = true;
                tracing::error!(%error, "Email: cannot read the outbox; retrying");
            }
            Err(_) => {}
        }
        if stopping {
            return;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
            _ = stopped.changed() => {}
        }
    }
}

async fn send_one(client: &SendgridClient, store: &Store, policy: RetryPolicy, claimed: Claimed) {
    let Claimed { id, message, attempts } = claimed;
    let (error, retry_in) = match client.send(&message).await {
        Ok(()) => {
            tracing::info!(email_id = id, correlation_id = %message.correlation_id, subject = %message.subject, "Email sent");
            if let Err(error) = store.mark_email_sent(id).await {
                tracing::error!(email_id = id, %error, "Email: sent, but not marked; it may be sent again");
            }
            return;
        }
        Err(Failure::Fatal(error)) => (error, None),
        Err(Failure::Retry(error)) => (error, Some(None)),
        Err(Failure::RetryAfter(error, asked)) => (error, Some(asked)),
    };
    let attempt = u32::try_from(attempts).unwrap_or(u32::MAX);
    let retry_in = retry_in
        .filter(|_| attempt < policy.attempts)
        .map(|asked| asked.unwrap_or_else(|| policy.backoff(attempt)).min(policy.max));
    let text = error.to_string();
    match retry_in {
        Some(wait) => tracing::warn!(
            email_id = id, correlation_id = %message.correlation_id, attempt, error = %text,
            retry_in_ms = wait.as_millis() as u64, "Email: attempt failed; will retry"
        ),
        None => tracing::error!(
            email_id = id, correlation_id = %message.correlation_id, subject = %message.subject, attempt,
            error = %text, "Email not sent: given up"
        ),
    }
    if let Err(error) = store.mark_email_failed(id, &text, retry_in).await {
        tracing::error!(email_id = id, %error, "Email: the attempt could not be recorded; it is retried when its claim expires");
    }
}
