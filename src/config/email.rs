//! SendGrid and the emails' recipients, and how long an email is retried.

use std::time::Duration;

use super::env::RawEnv;
use super::parse::{base_url, list, number, unique_ignoring_case};
use super::parse::{invalid, ConfigError};
use crate::secret::Secret;
use crate::upstream::RetryPolicy;

/// SendGrid, present only when key, sender and at least one recipient are all set.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `SENDGRID_API_BASE`, default `https://api.sendgrid.com`.
    pub api_base: String,
    /// `SENDGRID_API_KEY`.
    pub api_key: Secret,
    /// `TRIPLESEAT_EMAIL_SENDER`.
    pub sender: String,
    /// `TRIPLESEAT_EMAIL_RECIPIENTS`, de-duplicated ignoring case.
    pub recipients: Vec<String>,
}

impl EmailConfig {
    /// `None` unless key, sender and a recipient are all set; a note when only some are.
    pub(super) fn read(raw: &mut RawEnv, notes: &mut Vec<String>) -> Result<Option<EmailConfig>, ConfigError> {
        // Checked whether or not the rest of email is configured, so a typo shows at once.
        let api_base = base_url(
            "SENDGRID_API_BASE",
            raw.sendgrid_api_base.as_deref().unwrap_or("https://api.sendgrid.com"),
        )?;
        let recipients = list(raw.tripleseat_email_recipients.as_deref());
        let parts = [
            ("SENDGRID_API_KEY", raw.sendgrid_api_key.is_some()),
            ("TRIPLESEAT_EMAIL_SENDER", raw.tripleseat_email_sender.is_some()),
            ("TRIPLESEAT_EMAIL_RECIPIENTS", !recipients.is_empty()),
        ];
        let missing: Vec<&str> = parts.iter().filter(|(_, set)| !set).map(|(name, _)| *name).collect();
        if !missing.is_empty() && missing.len() < parts.len() {
            notes.push(format!(
                "email is half configured: {} missing, so no email is sent",
                missing.join(", ")
            ));
        }
        Ok(
            match (raw.sendgrid_api_key.take(), raw.tripleseat_email_sender.take()) {
                (Some(key), Some(sender)) if !recipients.is_empty() => Some(EmailConfig {
                    api_base,
                    api_key: Secret::new(key),
                    sender: sender.trim().to_string(),
                    recipients: unique_ignoring_case(recipients),
                }),
                _ => None,
            },
        )
    }
}

/// `EMAIL_MAX_ATTEMPTS` (default 10). Emails outlive restarts, so their retries may
/// wait minutes, not seconds.
pub(super) fn email_retry(raw: &RawEnv) -> Result<RetryPolicy, ConfigError> {
    let attempts: u32 = number("EMAIL_MAX_ATTEMPTS", raw.email_max_attempts.clone(), 10)?;
    if attempts == 0 {
        return Err(invalid("EMAIL_MAX_ATTEMPTS", "must be at least 1"));
    }
    Ok(RetryPolicy {
        attempts,
        base: Duration::from_secs(5),
        max: Duration::from_secs(600),
    })
}
