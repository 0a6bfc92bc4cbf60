//! The background outbox: the webhook answer never waits on email. A bounded queue
//! feeds one sender task that retries under the shared bounded policy; a full
//! queue drops the message and says so; shutdown drains what is queued within a bound.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::client::SendgridClient;
use super::Message;
use crate::upstream::{with_retry, RetryPolicy};

/// Messages waiting at most; beyond that new ones are dropped with a warning.
const QUEUE_CAPACITY: usize = 256;

pub struct Outbox {
    sender: Mutex<Option<mpsc::Sender<Message>>>,
    worker: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Outbox {
    pub fn start(client: SendgridClient, policy: RetryPolicy) -> Outbox {
        let (sender, mut queue) = mpsc::channel::<Message>(QUEUE_CAPACITY);
        let worker = tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                let sent = with_retry(policy, None, |_| client.send(&message)).await;
                match sent {
                    Ok(()) => {
                        tracing::info!(correlation_id = %message.correlation_id, subject = %message.subject, "Email sent")
                    }
                    Err(error) => tracing::error!(
                        correlation_id = %message.correlation_id,
                        subject = %message.subject,
                        %error,
                        "Email not sent after retries"
                    ),
                }
            }
        });
        Outbox {
            sender: Mutex::new(Some(sender)),
            worker: tokio::sync::Mutex::new(Some(worker)),
        }
    }

    /// Queues a message without waiting.
    pub fn enqueue(&self, message: Message) {
        let sender = self
            .sender
            .lock()
            .expect("invariant: the sender lock is never held across a panic");
        let Some(sender) = sender.as_ref() else {
            tracing::warn!(subject = %message.subject, "Email dropped: the service is shutting down");
            return;
        };
        if let Err(error) = sender.try_send(message) {
            let message = match error {
                mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m) => m,
            };
            tracing::warn!(correlation_id = %message.correlation_id, subject = %message.subject, "Email dropped: the queue is full");
        }
    }

    /// Stops taking messages and waits, at most `bound`, for the queued ones to go.
    pub async fn drain(&self, bound: Duration) {
        drop(
            self.sender
                .lock()
                .expect("invariant: the sender lock is never held across a panic")
                .take(),
        );
        if let Some(worker) = self.worker.lock().await.take() {
            if tokio::time::timeout(bound, worker).await.is_err() {
                tracing::warn!(bound_secs = bound.as_secs(), "Email queue not drained before shutdown");
            }
        }
    }
}
