//! `Config::from_env()`: the raw environment turned, once, into validated types.
//! Every problem names its variable (or, for the locations map, its site and field).

pub mod locations;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;

pub use self::locations::{Location, Locations};
use crate::pipeline::validation::Rules;
use crate::secret::Secret;
use crate::store::StoreTarget;
use crate::upstream::RetryPolicy;

/// A configuration problem found at startup; it names the variable and never its value
/// when the variable is a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{variable}: {problem}")]
    Invalid { variable: &'static str, problem: String },
    #[error("locations: {0}")]
    Locations(#[from] locations::LocationsError),
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        variable,
        problem: problem.into(),
    }
}

/// The environment as strings, exactly as set. Empty values count as unset.
#[derive(Debug, Default, Deserialize)]
struct RawEnv {
    port: Option<String>,
    host: Option<String>,
    env: Option<String>,
    timezone: Option<String>,
    enable_connector: Option<String>,
    dry_run: Option<String>,
    allowed_locations: Option<String>,
    tripleseat_webhook_signing_key: Option<String>,
    tripleseat_signing_secret: Option<String>,
    webhook_tolerance_secs: Option<String>,
    webhook_max_bytes: Option<String>,
    webhook_signature_scheme: Option<String>,
    webhook_deadline_secs: Option<String>,
    tripleseat_api_base: Option<String>,
    tripleseat_public_api_key: Option<String>,
    tripleseat_oauth_client_id: Option<String>,
    tripleseat_oauth_client_secret: Option<String>,
    revel_api_base: Option<String>,
    revel_domain: Option<String>,
    revel_api_key: Option<String>,
    revel_api_secret: Option<String>,
    revel_user_id: Option<String>,
    revel_pos_station_id: Option<String>,
    revel_dining_option_id: Option<String>,
    revel_payment_type_id: Option<String>,
    revel_discount_id: Option<String>,
    sendgrid_api_base: Option<String>,
    sendgrid_api_key: Option<String>,
    tripleseat_email_sender: Option<String>,
    tripleseat_email_recipients: Option<String>,
    locations_file: Option<String>,
    locations_json: Option<String>,
    inject_statuses: Option<String>,
    require_closed_invoice: Option<String>,
    require_full_payment: Option<String>,
    injection_window: Option<String>,
    product_match_threshold: Option<String>,
    allow_partial_orders: Option<String>,
    catalog_ttl_secs: Option<String>,
    idempotency_ttl_secs: Option<String>,
    idempotency_max_entries: Option<String>,
    test_endpoints: Option<String>,
    sweep_interval_secs: Option<String>,
    log_format: Option<String>,
    database_url: Option<String>,
    data_dir: Option<String>,
    journal_retention_days: Option<String>,
    email_max_attempts: Option<String>,
    admin_token: Option<String>,
    metrics_token: Option<String>,
    rust_log: Option<String>,
    strict_config: Option<String>,
    shutdown_budget_secs: Option<String>,
    revel_totals: Option<String>,
    test_endpoints_rate: Option<String>,
    public_base_url: Option<String>,
    tripleseat_authorize_url: Option<String>,
    max_connections: Option<String>,
    header_read_timeout_secs: Option<String>,
}

/// Every variable the service reads, for the startup check of unknown names in
/// `.env.example` and `render.yaml`. `RUST_LOG` is read by the telemetry layer.
pub const VARIABLES: &[&str] = &[
    "PORT",
    "HOST",
    "ENV",
    "TIMEZONE",
    "ENABLE_CONNECTOR",
    "DRY_RUN",
    "ALLOWED_LOCATIONS",
    "TRIPLESEAT_WEBHOOK_SIGNING_KEY",
    "TRIPLESEAT_SIGNING_SECRET",
    "WEBHOOK_TOLERANCE_SECS",
    "WEBHOOK_MAX_BYTES",
    "WEBHOOK_SIGNATURE_SCHEME",
    "WEBHOOK_DEADLINE_SECS",
    "TRIPLESEAT_API_BASE",
    "TRIPLESEAT_PUBLIC_API_KEY",
    "TRIPLESEAT_OAUTH_CLIENT_ID",
    "TRIPLESEAT_OAUTH_CLIENT_SECRET",
    "TRIPLESEAT_AUTHORIZE_URL",
    "PUBLIC_BASE_URL",
    "MAX_CONNECTIONS",
    "HEADER_READ_TIMEOUT_SECS",
    "REVEL_API_BASE",
    "REVEL_DOMAIN",
    "REVEL_API_KEY",
    "REVEL_API_SECRET",
    "REVEL_USER_ID",
    "REVEL_POS_STATION_ID",
    "REVEL_DINING_OPTION_ID",
    "REVEL_PAYMENT_TYPE_ID",
    "REVEL_DISCOUNT_ID",
    "SENDGRID_API_BASE",
    "SENDGRID_API_KEY",
    "TRIPLESEAT_EMAIL_SENDER",
    "TRIPLESEAT_EMAIL_RECIPIENTS",
    "LOCATIONS_FILE",
    "LOCATIONS_JSON",
    "INJECT_STATUSES",
    "REQUIRE_CLOSED_INVOICE",
    "REQUIRE_FULL_PAYMENT",
    "INJECTION_WINDOW",
    "PRODUCT_MATCH_THRESHOLD",
    "ALLOW_PARTIAL_ORDERS",
    "CATALOG_TTL_SECS",
    "IDEMPOTENCY_TTL_SECS",
    "IDEMPOTENCY_MAX_ENTRIES",
    "TEST_ENDPOINTS",
    "SWEEP_INTERVAL_SECS",
    "LOG_FORMAT",
    "RUST_LOG",
    "DATABASE_URL",
    "DATA_DIR",
    "JOURNAL_RETENTION_DAYS",
    "EMAIL_MAX_ATTEMPTS",
    "ADMIN_TOKEN",
    "METRICS_TOKEN",
    "STRICT_CONFIG",
    "SHUTDOWN_BUDGET_SECS",
    "REVEL_TOTALS",
    "TEST_ENDPOINTS_RATE",
];

/// The beginnings of our variables' names: an unknown variable that starts with one
/// is most likely a misspelling of ours.
const PREFIXES: &[&str] = &[
    "TRIPLESEAT_",
    "REVEL_",
    "SENDGRID_",
    "WEBHOOK_",
    "IDEMPOTENCY_",
    "SWEEP_",
    "JOURNAL_",
    "EMAIL_",
    "LOCATIONS_",
    "CATALOG_",
    "PRODUCT_",
    "INJECT",
    "REQUIRE_",
    "ALLOW",
    "ENABLE_",
    "DRY",
    "ADMIN_",
    "METRICS_",
    "DATABASE_",
    "DATA_",
    "TEST_END",
    "LOG_",
];

/// How a webhook signature header may be written (`WEBHOOK_SIGNATURE_SCHEME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// Either form below.
    Auto,
    /// `t=<unix>,v1=<hex>` over `"<t>.<body>"`.
    Timestamped,
    /// A bare HMAC of the body, hex or base64.
    Plain,
    /// The go-live's verification period: every form is tried and the result
    /// recorded, and nothing is ever written (it needs `DRY_RUN=true`).
    ReportOnly,
}

impl SignatureScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::Auto => "auto",
            SignatureScheme::Timestamped => "timestamped",
            SignatureScheme::Plain => "plain",
            SignatureScheme::ReportOnly => "report-only",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The site-local hours in which orders may be injected (`INJECTION_WINDOW`, `HH:MM-HH:MM`).
/// A window whose end is before its start runs over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectionWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl InjectionWindow {
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

impl FromStr for InjectionWindow {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("expected HH:MM-HH:MM, got {text:?}"))?;
        let time = |part: &str| {
            NaiveTime::parse_from_str(part.trim(), "%H:%M")
                .map_err(|_| format!("{:?} is not a time of day HH:MM", part.trim()))
        };
        let window = InjectionWindow {
            start: time(start)?,
            end: time(end)?,
        };
        if window.start == window.end {
            return Err("the window's start and end are the same".into());
        }
        Ok(window)
    }
}

/// Where and how to reach TripleSeat.
#[derive(Debug, Clone)]
pub struct TripleseatConfig {
    /// `TRIPLESEAT_API_BASE`, default `https://api.tripleseat.com`.
    pub api_base: String,
    /// `TRIPLESEAT_PUBLIC_API_KEY`: read auth by `X-API-Key`, the last way tried.
    pub public_api_key: Option<Secret>,
    /// `TRIPLESEAT_OAUTH_CLIENT_ID` / `_SECRET`: the OAuth 2.0 app, for the
    /// authorization-code flow (consent given once) and for client credentials.
    pub oauth_client: Option<(String, Secret)>,
    /// `TRIPLESEAT_AUTHORIZE_URL`, default `https://login.tripleseat.com/oauth2/authorize`:
    /// the consent page an operator is sent to.
    pub authorize_url: String,
}

impl TripleseatConfig {
    pub fn has_read_credentials(&self) -> bool {
        self.public_api_key.is_some() || self.oauth_client.is_some()
    }
}

/// Which totals the finalize step writes to Revel (`REVEL_TOTALS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevelTotals {
    /// Subtotal, final total, discount, printed: Revel applies the store's own taxes.
    Pos,
    /// Also the invoice's tax, fees and remaining due (for a Revel tax set to zero).
    Invoice,
}

/// Where and how to write to Revel, and the tenant's ids the orders refer to.
#[derive(Debug, Clone)]
pub struct RevelConfig {
    /// `REVEL_API_BASE`, else `https://<REVEL_DOMAIN>.revelup.com`.
    pub api_base: Option<String>,
    /// `REVEL_API_KEY` and `REVEL_API_SECRET`.
    pub credentials: Option<(Secret, Secret)>,
    /// `REVEL_USER_ID`, `REVEL_POS_STATION_ID`, `REVEL_DINING_OPTION_ID`,
    /// `REVEL_PAYMENT_TYPE_ID`, `REVEL_DISCOUNT_ID`.
    pub ids: RevelIds,
    /// `REVEL_TOTALS`, default pos.
    pub totals: RevelTotals,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevelIds {
    pub user: Option<u64>,
    pub pos_station: Option<u64>,
    pub dining_option: Option<u64>,
    pub payment_type: Option<u64>,
    pub discount: Option<u64>,
}

impl RevelIds {
    /// The variables still unset, for the startup warning.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("REVEL_USER_ID", self.user),
            ("REVEL_POS_STATION_ID", self.pos_station),
            ("REVEL_DINING_OPTION_ID", self.dining_option),
            ("REVEL_PAYMENT_TYPE_ID", self.payment_type),
            ("REVEL_DISCOUNT_ID", self.discount),
        ]
        .into_iter()
        .filter(|(_, id)| id.is_none())
        .map(|(name, _)| name)
        .collect()
    }
}

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

/// Limits on upstream calls. The timeouts are fixed by the contract; tests shorten them.
#[derive(Debug, Clone)]
pub struct UpstreamLimits {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`, default 0.0.0.0.
    pub host: IpAddr,
    /// `PORT`, default 8000.
    pub port: u16,
    /// `ENV`, default development.
    pub env: String,
    /// `TIMEZONE`, default UTC: for `/health` and logs.
    pub timezone: Tz,
    /// `ENABLE_CONNECTOR`, default true: the kill switch.
    pub enable_connector: bool,
    /// `DRY_RUN`, default false.
    pub dry_run: bool,
    /// `ALLOWED_LOCATIONS`, default empty (all sites).
    pub allowed_locations: BTreeSet<String>,
    /// `TRIPLESEAT_WEBHOOK_SIGNING_KEY` (or the older `TRIPLESEAT_SIGNING_SECRET`).
    pub signing_key: Option<Secret>,
    /// `WEBHOOK_TOLERANCE_SECS`, default 300; 0 disables the timestamp check.
    pub webhook_tolerance_secs: u64,
    /// `WEBHOOK_MAX_BYTES`, default 1 MiB.
    pub webhook_max_bytes: usize,
    /// `WEBHOOK_SIGNATURE_SCHEME`, default auto.
    pub signature_scheme: SignatureScheme,
    /// `WEBHOOK_DEADLINE_SECS`, default 20.
    pub webhook_deadline: Duration,
    pub tripleseat: TripleseatConfig,
    /// `PUBLIC_BASE_URL`: this service's public URL, for the OAuth callback.
    pub public_base_url: Option<String>,
    pub revel: RevelConfig,
    pub email: Option<EmailConfig>,
    /// `LOCATIONS_JSON`, else `LOCATIONS_FILE` (default `config/locations.json`).
    pub locations: Locations,
    pub rules: Rules,
    /// `INJECTION_WINDOW`, default all day.
    pub injection_window: Option<InjectionWindow>,
    /// `PRODUCT_MATCH_THRESHOLD`, default 0.75 (a similarity score, not money).
    pub product_match_threshold: f64,
    /// `ALLOW_PARTIAL_ORDERS`, default false.
    pub allow_partial_orders: bool,
    /// `CATALOG_TTL_SECS`, default 300.
    pub catalog_ttl: Duration,
    /// `IDEMPOTENCY_TTL_SECS`, default 7 days.
    pub idempotency_ttl: Duration,
    /// `IDEMPOTENCY_MAX_ENTRIES`, default 100000.
    pub idempotency_max_entries: usize,
    /// `TEST_ENDPOINTS`, default true.
    pub test_endpoints: bool,
    /// `TEST_ENDPOINTS_RATE`, default 5: requests a second for `/test/*`, all callers
    /// together (bursts of four times that).
    pub test_endpoints_rate: std::num::NonZeroU32,
    /// `SWEEP_INTERVAL_SECS`, default 900; `None` (0) turns the sweep off.
    pub sweep_interval: Option<Duration>,
    /// How soon after startup the first sweep runs (10 s; not an environment variable).
    pub sweep_first_delay: Duration,
    /// `LOG_FORMAT`, default text.
    pub log_format: LogFormat,
    pub upstream: UpstreamLimits,
    /// `DATABASE_URL`, else SQLite at `DATA_DIR/connector.db` (`DATA_DIR` default `./data`).
    pub store: StoreTarget,
    /// `JOURNAL_RETENTION_DAYS`, default 30: journal rows, sent emails and sweep runs kept.
    pub journal_retention: Duration,
    /// `EMAIL_MAX_ATTEMPTS` (default 10) and the backoff between them.
    pub email_retry: RetryPolicy,
    /// `ADMIN_TOKEN` (32 characters or more): turns on the admin API and console.
    pub admin_token: Option<Secret>,
    /// `METRICS_TOKEN`: when set, `/metrics` needs it as a bearer token.
    pub metrics_token: Option<Secret>,
    /// `MAX_CONNECTIONS`, default 1024: open HTTP connections at most; more wait.
    pub max_connections: usize,
    /// `HEADER_READ_TIMEOUT_SECS`, default 10: a client's time to send a request's
    /// headers, and a kept-alive connection's time idle between requests.
    pub header_read_timeout: Duration,
    /// `SHUTDOWN_BUDGET_SECS`, default 25: SIGTERM to exit, everything included.
    pub shutdown_budget: Duration,
    /// `RUST_LOG`, checked: the log filter (default `info`).
    pub log_filter: String,
    /// Variables that look like ours but are not (likely misspellings), each with the
    /// variable probably meant; fatal under `STRICT_CONFIG=true`, else warned about.
    pub suspicious: Vec<String>,
    /// Warnings found while reading (half-configured credentials).
    pub notes: Vec<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_pairs(std::env::vars())
    }

    /// Reads configuration from name/value pairs, as the environment would give them.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let suspicious: Vec<String> = pairs
            .iter()
            .filter(|(name, _)| !VARIABLES.contains(&name.as_str()))
            .filter_map(|(name, _)| {
                likely_meant(name).map(|meant| format!("{name} is not a setting; did you mean {meant}?"))
            })
            .collect();
        // Render gives every web service its public URL; it stands in for PUBLIC_BASE_URL.
        let render_url = pairs
            .iter()
            .find(|(k, v)| k == "RENDER_EXTERNAL_URL" && !v.trim().is_empty())
            .map(|(_, v)| v.clone());
        let known = pairs
            .into_iter()
            .filter(|(k, v)| VARIABLES.contains(&k.as_str()) && !v.trim().is_empty());
        let mut raw: RawEnv = envy::from_iter(known).map_err(|e| invalid("environment", e.to_string()))?;
        if raw.public_base_url.is_none() {
            raw.public_base_url = render_url;
        }
        let strict = boolean("STRICT_CONFIG", raw.strict_config.clone(), false)?;
        if strict && !suspicious.is_empty() {
            return Err(invalid("STRICT_CONFIG", suspicious.join("; ")));
        }
        let mut config = Config::from_raw(raw)?;
        config.suspicious = suspicious;
        Ok(config)
    }

    fn from_raw(raw: RawEnv) -> Result<Config, ConfigError> {
        let locations = match (&raw.locations_json, &raw.locations_file) {
            (Some(json), _) => Locations::from_json(json)?,
            (None, file) => {
                let path = PathBuf::from(file.as_deref().unwrap_or("config/locations.json"));
                Locations::from_file(&path, file.is_some())?
            }
        };
        let signing_key = raw
            .tripleseat_webhook_signing_key
            .or(raw.tripleseat_signing_secret)
            .map(Secret::new);
        let mut notes = Vec::new();
        let mut half = |set: &str, missing: &str| {
            notes.push(format!(
                "{set} is set but {missing} is not: both are needed, so neither is used"
            ));
        };
        let oauth_client = match (raw.tripleseat_oauth_client_id, raw.tripleseat_oauth_client_secret) {
            (Some(id), Some(secret)) => Some((id, Secret::new(secret))),
            (None, None) => None,
            (Some(_), None) => {
                half("TRIPLESEAT_OAUTH_CLIENT_ID", "TRIPLESEAT_OAUTH_CLIENT_SECRET");
                None
            }
            (None, Some(_)) => {
                half("TRIPLESEAT_OAUTH_CLIENT_SECRET", "TRIPLESEAT_OAUTH_CLIENT_ID");
                None
            }
        };
        let revel_api_base = match (raw.revel_api_base, raw.revel_domain) {
            (Some(base), _) => Some(base_url("REVEL_API_BASE", &base)?),
            (None, Some(domain)) => Some(revel_base_from_domain(&domain)?),
            (None, None) => None,
        };
        let credentials = match (raw.revel_api_key, raw.revel_api_secret) {
            (Some(key), Some(secret)) => Some((Secret::new(key), Secret::new(secret))),
            (Some(_), None) => {
                half("REVEL_API_KEY", "REVEL_API_SECRET");
                None
            }
            (None, Some(_)) => {
                half("REVEL_API_SECRET", "REVEL_API_KEY");
                None
            }
            (None, None) => None,
        };
        // Checked whether or not the rest of email is configured, so a typo shows at once.
        let sendgrid_base = base_url(
            "SENDGRID_API_BASE",
            raw.sendgrid_api_base.as_deref().unwrap_or("https://api.sendgrid.com"),
        )?;
        let recipients = list(raw.tripleseat_email_recipients.as_deref());
        let email_parts = [
            ("SENDGRID_API_KEY", raw.sendgrid_api_key.is_some()),
            ("TRIPLESEAT_EMAIL_SENDER", raw.tripleseat_email_sender.is_some()),
            ("TRIPLESEAT_EMAIL_RECIPIENTS", !recipients.is_empty()),
        ];
        if email_parts.iter().any(|(_, set)| *set) && !email_parts.iter().all(|(_, set)| *set) {
            let missing: Vec<&str> = email_parts
                .iter()
                .filter(|(_, set)| !set)
                .map(|(name, _)| *name)
                .collect();
            notes.push(format!(
                "email is half configured: {} missing, so no email is sent",
                missing.join(", ")
            ));
        }
        let email = match (raw.sendgrid_api_key, raw.tripleseat_email_sender, recipients) {
            (Some(key), Some(sender), recipients) if !recipients.is_empty() => Some(EmailConfig {
                api_base: sendgrid_base,
                api_key: Secret::new(key),
                sender: sender.trim().to_string(),
                recipients: unique_ignoring_case(recipients),
            }),
            _ => None,
        };
        let threshold: f64 = number("PRODUCT_MATCH_THRESHOLD", raw.product_match_threshold, 0.75)?;
        if !(0.0..=1.0).contains(&threshold) {
            return Err(invalid("PRODUCT_MATCH_THRESHOLD", "must be between 0 and 1"));
        }
        let inject_statuses: Vec<String> = list(raw.inject_statuses.as_deref())
            .into_iter()
            .map(|s| s.to_ascii_uppercase())
            .collect();
        let max_entries: usize = number("IDEMPOTENCY_MAX_ENTRIES", raw.idempotency_max_entries, 100_000)?;
        if max_entries == 0 {
            return Err(invalid("IDEMPOTENCY_MAX_ENTRIES", "must be at least 1"));
        }
        let deadline: u64 = number("WEBHOOK_DEADLINE_SECS", raw.webhook_deadline_secs, 20)?;
        if deadline == 0 {
            return Err(invalid("WEBHOOK_DEADLINE_SECS", "must be at least 1"));
        }
        let sweep: u64 = number("SWEEP_INTERVAL_SECS", raw.sweep_interval_secs, 900)?;
        let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or("./data"));
        let store =
            StoreTarget::parse(raw.database_url.as_deref(), &data_dir).map_err(|e| invalid("DATABASE_URL", e))?;
        let retention_days: u64 = number("JOURNAL_RETENTION_DAYS", raw.journal_retention_days, 30)?;
        if retention_days == 0 {
            return Err(invalid("JOURNAL_RETENTION_DAYS", "must be at least 1"));
        }
        let admin_token = raw.admin_token.map(|t| t.trim().to_string());
        if admin_token.as_ref().is_some_and(|t| t.chars().count() < 32) {
            return Err(invalid(
                "ADMIN_TOKEN",
                "must be at least 32 characters (e.g. the output of `openssl rand -hex 32`)",
            ));
        }
        let email_attempts: u32 = number("EMAIL_MAX_ATTEMPTS", raw.email_max_attempts, 10)?;
        if email_attempts == 0 {
            return Err(invalid("EMAIL_MAX_ATTEMPTS", "must be at least 1"));
        }
        let max_connections: usize = expected(
            "MAX_CONNECTIONS",
            raw.max_connections,
            1024,
            "a whole number of connections, 1 or more",
        )?;
        if max_connections == 0 {
            return Err(invalid("MAX_CONNECTIONS", "must be at least 1"));
        }
        let header_read_timeout: u64 = expected(
            "HEADER_READ_TIMEOUT_SECS",
            raw.header_read_timeout_secs,
            10,
            "a whole number of seconds, 1 or more",
        )?;
        if header_read_timeout == 0 {
            return Err(invalid("HEADER_READ_TIMEOUT_SECS", "must be at least 1"));
        }
        let signature_scheme = signature_scheme(raw.webhook_signature_scheme.as_deref())?;
        let dry_run = boolean("DRY_RUN", raw.dry_run, false)?;
        if signature_scheme == SignatureScheme::ReportOnly && !dry_run {
            return Err(invalid(
                "WEBHOOK_SIGNATURE_SCHEME",
                "report-only needs DRY_RUN=true: it lets through deliveries that match no signature form, so nothing may be written",
            ));
        }

        Ok(Config {
            host: expected(
                "HOST",
                raw.host,
                IpAddr::from([0, 0, 0, 0]),
                "an IP address such as 127.0.0.1 or 0.0.0.0",
            )?,
            port: expected("PORT", raw.port, 8000, "a port number 1-65535")?,
            env: raw.env.unwrap_or_else(|| "development".into()),
            timezone: timezone("TIMEZONE", raw.timezone.as_deref().unwrap_or("UTC"))?,
            enable_connector: boolean("ENABLE_CONNECTOR", raw.enable_connector, true)?,
            dry_run,
            allowed_locations: list(raw.allowed_locations.as_deref()).into_iter().collect(),
            signing_key,
            webhook_tolerance_secs: number("WEBHOOK_TOLERANCE_SECS", raw.webhook_tolerance_secs, 300)?,
            webhook_max_bytes: number("WEBHOOK_MAX_BYTES", raw.webhook_max_bytes, 1_048_576)?,
            signature_scheme,
            webhook_deadline: Duration::from_secs(deadline),
            tripleseat: TripleseatConfig {
                api_base: base_url(
                    "TRIPLESEAT_API_BASE",
                    raw.tripleseat_api_base
                        .as_deref()
                        .unwrap_or("https://api.tripleseat.com"),
                )?,
                public_api_key: raw.tripleseat_public_api_key.map(Secret::new),
                oauth_client,
                authorize_url: base_url(
                    "TRIPLESEAT_AUTHORIZE_URL",
                    raw.tripleseat_authorize_url
                        .as_deref()
                        .unwrap_or("https://login.tripleseat.com/oauth2/authorize"),
                )?,
            },
            public_base_url: raw
                .public_base_url
                .as_deref()
                .map(|url| base_url("PUBLIC_BASE_URL", url))
                .transpose()?,
            revel: RevelConfig {
                api_base: revel_api_base,
                credentials,
                ids: RevelIds {
                    user: optional_number("REVEL_USER_ID", raw.revel_user_id)?,
                    pos_station: optional_number("REVEL_POS_STATION_ID", raw.revel_pos_station_id)?,
                    dining_option: optional_number("REVEL_DINING_OPTION_ID", raw.revel_dining_option_id)?,
                    payment_type: optional_number("REVEL_PAYMENT_TYPE_ID", raw.revel_payment_type_id)?,
                    discount: optional_number("REVEL_DISCOUNT_ID", raw.revel_discount_id)?,
                },
                totals: match raw
                    .revel_totals
                    .as_deref()
                    .map(|v| v.trim().to_ascii_lowercase())
                    .as_deref()
                {
                    None | Some("pos") => RevelTotals::Pos,
                    Some("invoice") => RevelTotals::Invoice,
                    Some(other) => {
                        return Err(invalid(
                            "REVEL_TOTALS",
                            format!("expected pos or invoice, got {other:?}"),
                        ))
                    }
                },
            },
            email,
            locations,
            rules: Rules {
                inject_statuses: if inject_statuses.is_empty() {
                    vec!["DEFINITE".into(), "CLOSED".into()]
                } else {
                    inject_statuses
                },
                require_closed_invoice: boolean("REQUIRE_CLOSED_INVOICE", raw.require_closed_invoice, true)?,
                require_full_payment: boolean("REQUIRE_FULL_PAYMENT", raw.require_full_payment, true)?,
            },
            injection_window: raw
                .injection_window
                .as_deref()
                .map(|w| w.parse().map_err(|e: String| invalid("INJECTION_WINDOW", e)))
                .transpose()?,
            product_match_threshold: threshold,
            allow_partial_orders: boolean("ALLOW_PARTIAL_ORDERS", raw.allow_partial_orders, false)?,
            catalog_ttl: Duration::from_secs(number("CATALOG_TTL_SECS", raw.catalog_ttl_secs, 300)?),
            idempotency_ttl: Duration::from_secs(number("IDEMPOTENCY_TTL_SECS", raw.idempotency_ttl_secs, 604_800)?),
            idempotency_max_entries: max_entries,
            test_endpoints: boolean("TEST_ENDPOINTS", raw.test_endpoints, true)?,
            test_endpoints_rate: expected(
                "TEST_ENDPOINTS_RATE",
                raw.test_endpoints_rate,
                std::num::NonZeroU32::new(5).expect("invariant: non-zero"),
                "a whole number of requests a second, 1 or more",
            )?,
            sweep_interval: (sweep > 0).then(|| Duration::from_secs(sweep)),
            sweep_first_delay: Duration::from_secs(10),
            log_format: log_format(raw.log_format.as_deref())?,
            upstream: UpstreamLimits {
                connect_timeout: Duration::from_secs(5),
                request_timeout: Duration::from_secs(10),
                retry: RetryPolicy::default(),
            },
            store,
            journal_retention: Duration::from_secs(retention_days.saturating_mul(86_400)),
            // Emails outlive restarts, so their retries may wait minutes, not seconds.
            email_retry: RetryPolicy {
                attempts: email_attempts,
                base: Duration::from_secs(5),
                max: Duration::from_secs(600),
            },
            admin_token: admin_token.map(Secret::new),
            metrics_token: raw.metrics_token.map(|t| Secret::new(t.trim())),
            log_filter: log_filter(raw.rust_log.as_deref())?,
            max_connections,
            header_read_timeout: Duration::from_secs(header_read_timeout),
            shutdown_budget: Duration::from_secs(expected(
                "SHUTDOWN_BUDGET_SECS",
                raw.shutdown_budget_secs,
                25,
                "a whole number of seconds",
            )?),
            suspicious: Vec::new(),
            notes,
        })
    }

    /// `ALLOWED_LOCATIONS` as answers show it: the site ids, or `"UNRESTRICTED"` when empty.
    pub fn allowed_locations_view(&self) -> serde_json::Value {
        if self.allowed_locations.is_empty() {
            serde_json::json!("UNRESTRICTED")
        } else {
            serde_json::json!(self.allowed_locations)
        }
    }

    /// Whether a TripleSeat site may be processed (`ALLOWED_LOCATIONS` empty = all).
    pub fn is_location_allowed(&self, site_id: &str) -> bool {
        self.allowed_locations.is_empty() || self.allowed_locations.contains(site_id)
    }

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
            configured(self.signing_key.is_some()),
            self.signature_scheme.as_str(),
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
        if self.signing_key.is_none() {
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
        if self.signature_scheme == SignatureScheme::ReportOnly {
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

fn boolean(variable: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" || v == "1" => Ok(true),
        Some(v) if v == "false" || v == "0" => Ok(false),
        Some(v) => Err(invalid(variable, format!("expected true, false, 1 or 0, got {v:?}"))),
    }
}

/// Like `number`, with the message saying what is expected.
fn expected<T: FromStr>(
    variable: &'static str,
    value: Option<String>,
    default: T,
    what: &str,
) -> Result<T, ConfigError> {
    number(variable, value, default).map_err(|_| invalid(variable, format!("expected {what}")))
}

/// The name of the variable `name` most likely meant, if it looks like one of ours:
/// one of our prefixes, another case, or a couple of letters away.
fn likely_meant(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    let closest = VARIABLES
        .iter()
        .map(|known| (strsim::damerau_levenshtein(&upper, known), *known))
        .min()?;
    let looks_ours = PREFIXES.iter().any(|p| upper.starts_with(p));
    let is_close = upper.len() >= 6 && closest.0 <= 2;
    (looks_ours || is_close || upper == closest.1).then_some(closest.1)
}

/// `RUST_LOG` as `tracing` reads it, refusing a bare word that is neither a level nor
/// a module (`RUST_LOG=verbose` would silently log nothing).
fn log_filter(value: Option<&str>) -> Result<String, ConfigError> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok("info".into());
    };
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let is_bare_word = !directive.contains(['=', ':', '[']);
        if is_bare_word && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(invalid(
                "RUST_LOG",
                format!(
                    "{directive:?} is not a level (trace, debug, info, warn, error, off) or a target=level directive"
                ),
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(value)
        .map_err(|e| invalid("RUST_LOG", format!("is not a valid filter: {e}")))?;
    Ok(value.to_string())
}

fn number<T: FromStr>(variable: &'static str, value: Option<String>, default: T) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid(variable, format!("{:?} is not a valid value", v.trim()))),
    }
}

fn optional_number(variable: &'static str, value: Option<String>) -> Result<Option<u64>, ConfigError> {
    value
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| invalid(variable, format!("{:?} is not a numeric id", v.trim())))
        })
        .transpose()
}

fn timezone(variable: &'static str, value: &str) -> Result<Tz, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(variable, format!("{:?} is not an IANA timezone", value.trim())))
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

fn log_format(value: Option<&str>) -> Result<LogFormat, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(invalid("LOG_FORMAT", format!("expected text or json, got {other:?}"))),
    }
}

fn base_url(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(value).map_err(|_| invalid(variable, "is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(variable, "must be an http(s) URL with a host"));
    }
    Ok(value.to_string())
}

fn revel_base_from_domain(domain: &str) -> Result<String, ConfigError> {
    let domain = domain
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .trim_end_matches(".revelup.com");
    if domain.is_empty()
        || !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(invalid(
            "REVEL_DOMAIN",
            "expected a subdomain such as mystore or mystore.revelup.com",
        ));
    }
    Ok(format!("https://{domain}.revelup.com"))
}

fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn unique_ignoring_case(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.to_ascii_lowercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field names `RawEnv` asks its deserializer for: a deserializer that only
    /// listens, so the struct itself says which variables it reads.
    fn raw_env_fields() -> Vec<&'static str> {
        struct Listener(Vec<&'static str>);
        #[derive(Debug)]
        struct Heard;
        impl std::fmt::Display for Heard {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("heard")
            }
        }
        impl std::error::Error for Heard {}
        impl serde::de::Error for Heard {
            fn custom<T: std::fmt::Display>(_: T) -> Self {
                Heard
            }
        }
        impl<'de> serde::Deserializer<'de> for &mut Listener {
            type Error = Heard;
            fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Heard> {
                Err(Heard)
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Heard> {
                self.0.extend_from_slice(fields);
                Err(Heard)
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
                unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        let mut listener = Listener(Vec::new());
        let _ = RawEnv::deserialize(&mut listener);
        listener.0
    }

    #[test]
    fn every_variable_read_is_named_once_and_every_name_is_read() {
        let mut read: Vec<String> = raw_env_fields().iter().map(|f| f.to_ascii_uppercase()).collect();
        read.sort();
        let mut named: Vec<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
        named.sort();
        assert!(!read.is_empty());
        assert_eq!(
            read, named,
            "a RawEnv field not in VARIABLES would be silently ignored (and a name not in RawEnv never read)"
        );
    }

    const LOCATIONS: &str =
        r#"{"15901": {"name": "Summerlin", "revel_establishment": 4, "timezone": "America/Los_Angeles"}}"#;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = vec![("LOCATIONS_JSON", LOCATIONS)];
        all.extend_from_slice(pairs);
        Config::from_pairs(all.into_iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn error_of(pairs: &[(&str, &str)]) -> String {
        config(pairs).expect_err("configuration should be rejected").to_string()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let config = config(&[]).unwrap();
        assert_eq!(config.port, 8000);
        assert_eq!(config.host.to_string(), "0.0.0.0");
        assert_eq!(config.env, "development");
        assert!(config.enable_connector);
        assert!(!config.dry_run);
        assert_eq!(config.webhook_tolerance_secs, 300);
        assert_eq!(config.webhook_max_bytes, 1_048_576);
        assert_eq!(config.signature_scheme, SignatureScheme::Auto);
        assert_eq!(config.rules.inject_statuses, vec!["DEFINITE", "CLOSED"]);
        assert!(config.rules.require_closed_invoice && config.rules.require_full_payment);
        assert_eq!(config.product_match_threshold, 0.75);
        assert_eq!(config.catalog_ttl, Duration::from_secs(300));
        assert_eq!(config.idempotency_ttl, Duration::from_secs(604_800));
        assert_eq!(config.idempotency_max_entries, 100_000);
        assert_eq!(config.sweep_interval, Some(Duration::from_secs(900)));
        assert_eq!(config.webhook_deadline, Duration::from_secs(20));
        assert!(matches!(&config.store, StoreTarget::Sqlite(p) if p == &PathBuf::from("./data/connector.db")));
        assert_eq!(config.journal_retention, Duration::from_secs(30 * 86_400));
        assert_eq!(config.email_retry.attempts, 10);
        assert_eq!(config.tripleseat.api_base, "https://api.tripleseat.com");
        assert!(config.email.is_none());
        assert!(config.test_endpoints);
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            (("DRY_RUN", "yes"), "DRY_RUN"),
            (("ENABLE_CONNECTOR", "maybe"), "ENABLE_CONNECTOR"),
            (("PORT", "eighty"), "PORT"),
            (("WEBHOOK_TOLERANCE_SECS", "-1"), "WEBHOOK_TOLERANCE_SECS"),
            (("TIMEZONE", "Mars/Olympus"), "TIMEZONE"),
            (("WEBHOOK_SIGNATURE_SCHEME", "stripe"), "WEBHOOK_SIGNATURE_SCHEME"),
            (("INJECTION_WINDOW", "6am-10pm"), "INJECTION_WINDOW"),
            (("PRODUCT_MATCH_THRESHOLD", "1.5"), "PRODUCT_MATCH_THRESHOLD"),
            (("REVEL_USER_ID", "abc"), "REVEL_USER_ID"),
            (("LOG_FORMAT", "xml"), "LOG_FORMAT"),
            (("IDEMPOTENCY_MAX_ENTRIES", "0"), "IDEMPOTENCY_MAX_ENTRIES"),
            (("DATABASE_URL", "mysql://u:p@db/c"), "DATABASE_URL"),
            (("JOURNAL_RETENTION_DAYS", "0"), "JOURNAL_RETENTION_DAYS"),
            (("EMAIL_MAX_ATTEMPTS", "many"), "EMAIL_MAX_ATTEMPTS"),
            (("ADMIN_TOKEN", "too-short"), "ADMIN_TOKEN"),
            (("TRIPLESEAT_API_BASE", "not a url"), "TRIPLESEAT_API_BASE"),
            (("RUST_LOG", "verbose"), "RUST_LOG"),
            (("SENDGRID_API_BASE", "sendgrid"), "SENDGRID_API_BASE"),
            (("PUBLIC_BASE_URL", "connector.example.com"), "PUBLIC_BASE_URL"),
            (("TRIPLESEAT_AUTHORIZE_URL", "login"), "TRIPLESEAT_AUTHORIZE_URL"),
            (("WEBHOOK_SIGNATURE_SCHEME", "report-only"), "WEBHOOK_SIGNATURE_SCHEME"),
        ];
        for ((variable, value), named) in cases {
            let message = error_of(&[(variable, value)]);
            assert!(message.starts_with(named), "{variable}={value:?} gave {message:?}");
        }
    }

    #[test]
    fn the_public_base_url_is_render_s_own_unless_set() {
        let render = [("RENDER_EXTERNAL_URL", "https://connector.onrender.com")];
        assert_eq!(
            config(&render).unwrap().public_base_url.as_deref(),
            Some("https://connector.onrender.com")
        );
        let both = [render[0], ("PUBLIC_BASE_URL", "https://orders.example.com/")];
        assert_eq!(
            config(&both).unwrap().public_base_url.as_deref(),
            Some("https://orders.example.com")
        );
        assert_eq!(config(&[]).unwrap().public_base_url, None);
        let report_only = config(&[("WEBHOOK_SIGNATURE_SCHEME", "report-only"), ("DRY_RUN", "true")]).unwrap();
        assert_eq!(report_only.signature_scheme, SignatureScheme::ReportOnly);
    }

    #[test]
    fn a_misspelt_variable_is_named_with_the_one_probably_meant_and_fatal_when_strict() {
        let config = config(&[
            ("DRYRUN", "true"),
            ("dry_run", "1"),
            ("REVEL_APIKEY", "k"),
            ("PATH", "/bin"),
        ])
        .unwrap();
        assert!(!config.dry_run, "a misspelling changes nothing");
        let warnings = config.warnings().join("\n");
        for expected in [
            "DRYRUN is not a setting; did you mean DRY_RUN?",
            "dry_run is not a setting; did you mean DRY_RUN?",
            "REVEL_APIKEY is not a setting; did you mean REVEL_API_KEY?",
        ] {
            assert!(warnings.contains(expected), "{expected} missing from {warnings}");
        }
        assert!(!warnings.contains("PATH"), "the system's own variables are left alone");
        let message = error_of(&[("DRYRUN", "true"), ("STRICT_CONFIG", "true")]);
        assert!(
            message.starts_with("STRICT_CONFIG") && message.contains("DRY_RUN"),
            "{message}"
        );
    }

    #[test]
    fn half_a_credential_is_a_warning_naming_the_missing_half() {
        let config = config(&[
            ("TRIPLESEAT_OAUTH_CLIENT_ID", "id-only"),
            ("REVEL_API_SECRET", "s"),
            ("SENDGRID_API_KEY", "SG.x"),
        ])
        .unwrap();
        let warnings = config.warnings().join("\n");
        assert!(warnings.contains("TRIPLESEAT_OAUTH_CLIENT_ID is set but TRIPLESEAT_OAUTH_CLIENT_SECRET is not"));
        assert!(warnings.contains("REVEL_API_SECRET is set but REVEL_API_KEY is not"));
        assert!(warnings.contains("TRIPLESEAT_EMAIL_SENDER, TRIPLESEAT_EMAIL_RECIPIENTS missing"));
        assert!(config.tripleseat.oauth_client.is_none() && config.email.is_none());
    }

    #[test]
    fn messages_say_what_is_expected() {
        assert_eq!(error_of(&[("PORT", "abc")]), "PORT: expected a port number 1-65535");
        assert_eq!(
            error_of(&[("HOST", "localhost")]),
            "HOST: expected an IP address such as 127.0.0.1 or 0.0.0.0"
        );
        assert!(error_of(&[("RUST_LOG", "verbose")]).contains("is not a level"));
        for fine in ["debug", "info,sqlx=warn", "connector::pipeline=debug", "WARN"] {
            assert_eq!(config(&[("RUST_LOG", fine)]).unwrap().log_filter, fine);
        }
    }

    #[test]
    fn open_test_endpoints_in_production_are_warned_about() {
        let open = config(&[("ENV", "production")]).unwrap();
        assert!(open.warnings().iter().any(|w| w.contains("TEST_ENDPOINTS")));
        let guarded = config(&[
            ("ENV", "production"),
            ("ADMIN_TOKEN", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap();
        assert!(!guarded.warnings().iter().any(|w| w.contains("TEST_ENDPOINTS")));
    }

    #[test]
    fn booleans_accept_true_false_one_zero_in_any_case() {
        for (value, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("false", false),
            ("0", false),
            ("False", false),
        ] {
            assert_eq!(
                config(&[("DRY_RUN", value)]).unwrap().dry_run,
                expected,
                "DRY_RUN={value}"
            );
        }
    }

    #[test]
    fn the_older_signing_key_name_is_accepted() {
        let config = config(&[("TRIPLESEAT_SIGNING_SECRET", "k1")]).unwrap();
        assert_eq!(config.signing_key.unwrap().expose(), "k1");
    }

    #[test]
    fn revel_domain_becomes_a_base_url_with_or_without_the_suffix() {
        for domain in ["mystore", "mystore.revelup.com", "https://mystore.revelup.com/"] {
            let config = config(&[("REVEL_DOMAIN", domain)]).unwrap();
            assert_eq!(
                config.revel.api_base.as_deref(),
                Some("https://mystore.revelup.com"),
                "{domain}"
            );
        }
        let config = config(&[("REVEL_DOMAIN", "x"), ("REVEL_API_BASE", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(config.revel.api_base.as_deref(), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn lists_are_trimmed_and_recipients_unique() {
        let config = config(&[
            ("ALLOWED_LOCATIONS", " 15901, 15902 ,,"),
            ("SENDGRID_API_KEY", "SG.x"),
            ("TRIPLESEAT_EMAIL_SENDER", "bot@example.com"),
            (
                "TRIPLESEAT_EMAIL_RECIPIENTS",
                "ops@example.com, OPS@example.com,chef@example.com",
            ),
            ("INJECT_STATUSES", "definite"),
        ])
        .unwrap();
        assert_eq!(
            config.allowed_locations.iter().collect::<Vec<_>>(),
            vec!["15901", "15902"]
        );
        assert_eq!(config.rules.inject_statuses, vec!["DEFINITE"]);
        assert!(config.is_location_allowed("15901") && !config.is_location_allowed("1"));
        assert_eq!(
            config.email.unwrap().recipients,
            vec!["ops@example.com", "chef@example.com"]
        );
    }

    #[test]
    fn the_summary_never_shows_a_secret() {
        let config = config(&[
            ("TRIPLESEAT_WEBHOOK_SIGNING_KEY", "sig-secret-1"),
            ("TRIPLESEAT_PUBLIC_API_KEY", "ts-key-2"),
            ("REVEL_API_KEY", "rv-key-3"),
            ("REVEL_API_SECRET", "rv-secret-4"),
            ("SENDGRID_API_KEY", "sg-key-5"),
            ("TRIPLESEAT_EMAIL_SENDER", "a@example.com"),
            ("TRIPLESEAT_EMAIL_RECIPIENTS", "b@example.com"),
        ])
        .unwrap();
        let text = format!("{} {:?} {:?}", config.summary(), config.warnings(), config);
        for secret in ["sig-secret-1", "ts-key-2", "rv-key-3", "rv-secret-4", "sg-key-5"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
    }

    #[test]
    fn injection_windows_may_run_over_midnight() {
        let day: InjectionWindow = "06:00-22:00".parse().unwrap();
        let night: InjectionWindow = "22:00-02:00".parse().unwrap();
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(day.contains(at(6, 0)) && day.contains(at(21, 59)));
        assert!(!day.contains(at(22, 0)) && !day.contains(at(5, 59)));
        assert!(night.contains(at(23, 0)) && night.contains(at(1, 59)));
        assert!(!night.contains(at(2, 0)) && !night.contains(at(12, 0)));
    }
}
