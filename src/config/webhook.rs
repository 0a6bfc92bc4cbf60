//! The webhook: its signing key and scheme, how old a signature may be, how large a
//! body, and how long a run may take before it is answered.

use std::time::Duration;

use super::env::RawEnv;
use super::parse::number;
use super::parse::{invalid, ConfigError};
use crate::secret::Secret;
use crate::tripleseat::signature::SignatureScheme;

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `TRIPLESEAT_WEBHOOK_SIGNING_KEY` (or the older `TRIPLESEAT_SIGNING_SECRET`).
    pub signing_key: Option<Secret>,
    /// `WEBHOOK_TOLERANCE_SECS`, default 300; 0 disables the timestamp check.
    pub tolerance_secs: u64,
    /// `WEBHOOK_MAX_BYTES`, default 1 MiB.
    pub max_bytes: usize,
    /// `WEBHOOK_SIGNATURE_SCHEME`, default auto.
    pub signature_scheme: SignatureScheme,
    /// `WEBHOOK_DEADLINE_SECS`, default 20.
    pub deadline: Duration,
}

impl WebhookConfig {
    pub(super) fn read(raw: &mut RawEnv, dry_run: bool) -> Result<WebhookConfig, ConfigError> {
        let signature_scheme = signature_scheme(raw.webhook_signature_scheme.as_deref())?;
        if signature_scheme == SignatureScheme::ReportOnly && !dry_run {
            return Err(invalid(
                "WEBHOOK_SIGNATURE_SCHEME",
                "report-only needs DRY_RUN=true: it lets through deliveries that match no signature form, so nothing may be written",
            ));
        }
        let deadline: u64 = number("WEBHOOK_DEADLINE_SECS", raw.webhook_deadline_secs.take(), 20)?;
        if deadline == 0 {
            return Err(invalid("WEBHOOK_DEADLINE_SECS", "must be at least 1"));
        }
        Ok(WebhookConfig {
            signing_key: raw
                .tripleseat_webhook_signing_key
                .take()
                .or(raw.tripleseat_signing_secret.take())
                .map(Secret::new),
            tolerance_secs: number("WEBHOOK_TOLERANCE_SECS", raw.webhook_tolerance_secs.take(), 300)?,
            max_bytes: number("WEBHOOK_MAX_BYTES", raw.webhook_max_bytes.take(), 1_048_576)?,
            signature_scheme,
            deadline: Duration::from_secs(deadline),
        })
    }
}

fn signature_scheme(value: Option<&str>) -> Result<SignatureScheme, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("auto") => Ok(SignatureScheme::Auto),
        Some("timestamped") => Ok(SignatureScheme::Timestamped),
        Some("plain") => Ok(SignatureScheme::Plain),
        Some("report-only") => Ok(SignatureScheme::ReportOnly),
        Some(other) => Err(invalid(
            "WEBHOOK_SIGNATURE_SCHEME",
            format!("expected auto, timestamped, plain or report-only, got {other:?}"),
        )),
    }
}
