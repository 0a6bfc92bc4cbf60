//! What the service says about its configuration at startup: a one-line summary
//! and the warnings, never a secret.

use super::Config;
use crate::tripleseat::signature::SignatureScheme;

impl Config {
    /// The one-line summary of the effective configuration, without a single secret.
    pub fn summary(&self) -> String {
        let configured = |yes: bool| if yes { "configured" } else { "missing" };
        let allowed = if self.allowed_locations.is_empty() {
            "UNRESTRICTED".to_string()
        } else {
            self.allowed_locations.iter().cloned().collect::<Vec<_>>().join(",")
        };
        let tripleseat_auth = match (&self.tripleseat.oauth_client, &self.tripleseat.public_api_key) {
            (Some(_), Some(_)) => "authorization_code>client_credentials>public_key",
            (Some(_), None) => "authorization_code>client_credentials",
            (None, Some(_)) => "public_key",
            (None, None) => "missing",
        };
        format!(
            "ENV={} TIMEZONE={} DRY_RUN={} ENABLE_CONNECTOR={} ALLOWED_LOCATIONS={} locations={} \
             signing_key={} signature_scheme={} tripleseat_reads={} revel={} email={} sweep={} test_endpoints={} store={} admin={} metrics={}",
            self.env,
            self.timezone,
            self.dry_run,
            self.enable_connector,
            allowed,
            self.locations.len(),
            configured(self.webhook.signing_key.is_some()),
            self.webhook.signature_scheme.as_str(),
            tripleseat_auth,
            configured(self.revel.api_base.is_some() && self.revel.credentials.is_some()),
            configured(self.email.is_some()),
            self.sweep_interval
                .map_or("off".to_string(), |i| format!("every {}s", i.as_secs())),
            self.test_endpoints,
            self.store.describe(),
            if self.admin_token.is_some() { "on" } else { "off" },
            if self.metrics_token.is_some() { "token" } else { "open" },
        )
    }

    /// Warnings for missing upstream credentials: the service still starts without them.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = self.suspicious.clone();
        warnings.extend(self.notes.iter().cloned());
        if self.env.eq_ignore_ascii_case("production") && self.test_endpoints && self.admin_token.is_none() {
            warnings.push("ENV=production with TEST_ENDPOINTS on and no ADMIN_TOKEN: /test/webhook and /test/revel are open to anyone; set ADMIN_TOKEN (they then need it) or TEST_ENDPOINTS=false".to_string());
        }
        if self.webhook.signing_key.is_none() {
            warnings.push("TRIPLESEAT_WEBHOOK_SIGNING_KEY is not set: every /webhook delivery will fail closed (SIGNATURE_VERIFICATION_FAILED_SIGNING_KEY_NOT_CONFIGURED)".to_string());
        }
        if !self.tripleseat.has_read_credentials() {
            warnings.push("TripleSeat read credentials are missing (TRIPLESEAT_PUBLIC_API_KEY or TRIPLESEAT_OAUTH_CLIENT_ID/_SECRET): events lacking data in the webhook answer EVENT_DATA_UNAVAILABLE and the sweep cannot search".to_string());
        }
        if self.tripleseat.oauth_client.is_some() && self.public_base_url.is_none() {
            warnings.push("PUBLIC_BASE_URL is not set: TripleSeat consent (authorization code, SPEC 20) cannot be given, because TripleSeat needs this service's callback address".to_string());
        }
        if self.tripleseat.oauth_client.is_none() && self.tripleseat.public_api_key.is_some() {
            warnings.push("Only TRIPLESEAT_PUBLIC_API_KEY is set: public evidence says it is refused on events and search; set TRIPLESEAT_OAUTH_CLIENT_ID/_SECRET and give consent once (docs/go-live.md)".to_string());
        }
        if self.webhook.signature_scheme == SignatureScheme::ReportOnly {
            warnings.push("WEBHOOK_SIGNATURE_SCHEME=report-only: every delivery runs as a dry run and the journal records which signature form it matched; pin the form and turn writes on when it is known (docs/go-live.md)".to_string());
        }
        if self.revel.api_base.is_none() {
            warnings.push(
                "REVEL_API_BASE / REVEL_DOMAIN is not set: writes will fail as REVEL_WRITE_FAILED (use DRY_RUN)"
                    .to_string(),
            );
        }
        if self.revel.credentials.is_none() {
            warnings.push("REVEL_API_KEY / REVEL_API_SECRET are missing: Revel calls will fail as REVEL_WRITE_FAILED (use DRY_RUN)".to_string());
        }
        let missing_ids = self.revel.ids.missing();
        if !missing_ids.is_empty() {
            warnings.push(format!(
                "Revel ids not set, orders cannot be written: {}",
                missing_ids.join(", ")
            ));
        }
        if self.email.is_none() {
            warnings.push("Email is not configured (SENDGRID_API_KEY, TRIPLESEAT_EMAIL_SENDER, TRIPLESEAT_EMAIL_RECIPIENTS): emails will be skipped".to_string());
        }
        if self.locations.is_empty() {
            warnings.push("No locations are mapped (LOCATIONS_JSON / LOCATIONS_FILE): every delivery will answer UNKNOWN_LOCATION".to_string());
        }
        warnings
    }
}
