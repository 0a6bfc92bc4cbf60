//! Telling the operations team: the SendGrid client, the background outbox, and
//! the success and failure messages.

pub mod client;
pub mod outbox;
pub mod templates;

/// One message, ready to send to every configured recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub correlation_id: String,
}
