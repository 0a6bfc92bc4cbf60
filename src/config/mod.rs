//! `Config::from_env()`: the raw environment turned, once, into validated types, one
//! section per file. Every problem names its variable (or, for the locations map,
//! its site and field).

mod email;
mod env;
mod parse;
mod report;
mod revel;
mod server;
mod tripleseat;
mod webhook;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

pub use self::email::EmailConfig;
pub use self::env::VARIABLES;
use self::env::{likely_meant, RawEnv};
pub use self::parse::ConfigError;
use self::parse::{boolean, expected, invalid, list, log_filter, log_format, number, timezone};
pub use self::revel::RevelConfig;
pub use self::server::ServerConfig;
pub use self::tripleseat::TripleseatConfig;
pub use self::webhook::WebhookConfig;
use crate::locations::Locations;
use crate::pipeline::time_gate::InjectionWindow;
use crate::pipeline::validation::Rules;
use crate::secret::Secret;
use crate::store::StoreTarget;
use crate::telemetry::LogFormat;
use crate::upstream::{RetryPolicy, UpstreamLimits};

#[derive(Debug, Clone)]
pub struct Config {
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
    pub server: ServerConfig,
    pub webhook: WebhookConfig,
    pub tripleseat: TripleseatConfig,
    /// `PUBLIC_BASE_URL`: this service's public URL, for the OAuth callback.
    pub public_base_url: Option<String>,
    pub revel: RevelConfig,
    pub email: Option<EmailConfig>,
    /// `EMAIL_MAX_ATTEMPTS` (default 10) and the backoff between them.
    pub email_retry: RetryPolicy,
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
    pub test_endpoints_rate: NonZeroU32,
    /// `SWEEP_INTERVAL_SECS`, default 900; `None` (0) turns the sweep off.
    pub sweep_interval: Option<Duration>,
    /// How soon after startup the first sweep runs (10 s; not an environment variable).
    pub sweep_first_delay: Duration,
    /// `LOG_FORMAT`, default text.
    pub log_format: LogFormat,
    /// `RUST_LOG`, checked: the log filter (default `info`).
    pub log_filter: String,
    pub upstream: UpstreamLimits,
    /// `DATABASE_URL`, else SQLite at `DATA_DIR/connector.db` (`DATA_DIR` default `./data`).
    pub store: StoreTarget,
    /// `JOURNAL_RETENTION_DAYS`, default 30: journal rows, sent emails and sweep runs kept.
    pub journal_retention: Duration,
    /// `ADMIN_TOKEN` (32 characters or more): turns on the admin API and console.
    pub admin_token: Option<Secret>,
    /// `METRICS_TOKEN`: when set, `/metrics` needs it as a bearer token.
    pub metrics_token: Option<Secret>,
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

    fn from_raw(mut raw: RawEnv) -> Result<Config, ConfigError> {
        let mut notes = Vec::new();
        let dry_run = boolean("DRY_RUN", raw.dry_run.take(), false)?;
        let sweep: u64 = number("SWEEP_INTERVAL_SECS", raw.sweep_interval_secs.take(), 900)?;
        Ok(Config {
            env: raw.env.take().unwrap_or_else(|| "development".into()),
            timezone: timezone("TIMEZONE", raw.timezone.as_deref().unwrap_or("UTC"))?,
            enable_connector: boolean("ENABLE_CONNECTOR", raw.enable_connector.take(), true)?,
            dry_run,
            allowed_locations: list(raw.allowed_locations.as_deref()).into_iter().collect(),
            server: ServerConfig::read(&mut raw)?,
            webhook: WebhookConfig::read(&mut raw, dry_run)?,
            tripleseat: TripleseatConfig::read(&mut raw, &mut notes)?,
            public_base_url: raw
                .public_base_url
                .as_deref()
                .map(|url| parse::base_url("PUBLIC_BASE_URL", url))
                .transpose()?,
            revel: RevelConfig::read(&mut raw, &mut notes)?,
            email: EmailConfig::read(&mut raw, &mut notes)?,
            email_retry: email::email_retry(&raw)?,
            locations: locations(&raw)?,
            rules: rules(&mut raw)?,
            injection_window: injection_window(raw.injection_window.as_deref())?,
            product_match_threshold: product_match_threshold(&mut raw)?,
            allow_partial_orders: boolean("ALLOW_PARTIAL_ORDERS", raw.allow_partial_orders.take(), false)?,
            catalog_ttl: Duration::from_secs(number("CATALOG_TTL_SECS", raw.catalog_ttl_secs.take(), 300)?),
            idempotency_ttl: Duration::from_secs(number(
                "IDEMPOTENCY_TTL_SECS",
                raw.idempotency_ttl_secs.take(),
                604_800,
            )?),
            idempotency_max_entries: at_least_one(
                "IDEMPOTENCY_MAX_ENTRIES",
                raw.idempotency_max_entries.take(),
                100_000,
            )?,
            test_endpoints: boolean("TEST_ENDPOINTS", raw.test_endpoints.take(), true)?,
            test_endpoints_rate: expected(
                "TEST_ENDPOINTS_RATE",
                raw.test_endpoints_rate.take(),
                NonZeroU32::new(5).expect("invariant: non-zero"),
                "a whole number of requests a second, 1 or more",
            )?,
            sweep_interval: (sweep > 0).then(|| Duration::from_secs(sweep)),
            sweep_first_delay: Duration::from_secs(10),
            log_format: log_format(raw.log_format.as_deref())?,
            log_filter: log_filter(raw.rust_log.as_deref())?,
            upstream: UpstreamLimits::of_the_contract(),
            store: store(&raw)?,
            journal_retention: journal_retention(&mut raw)?,
            admin_token: admin_token(raw.admin_token.take())?,
            metrics_token: raw.metrics_token.take().map(|t| Secret::new(t.trim())),
            suspicious: Vec::new(),
            notes,
        })
    }

    /// `ALLOWED_LOCATIONS` as answers show it: the site ids, or `"UNRESTRICTED"` when empty.
    pub fn allowed_locations_view(&self) -> AllowedLocationsView<'_> {
        AllowedLocationsView(&self.allowed_locations)
    }

    /// Whether a TripleSeat site may be processed (`ALLOWED_LOCATIONS` empty = all).
    pub fn is_location_allowed(&self, site_id: &str) -> bool {
        self.allowed_locations.is_empty() || self.allowed_locations.contains(site_id)
    }
}

/// A count that must be 1 or more.
fn at_least_one(variable: &'static str, value: Option<String>, default: usize) -> Result<usize, ConfigError> {
    match number(variable, value, default)? {
        0 => Err(invalid(variable, "must be at least 1")),
        count => Ok(count),
    }
}

fn locations(raw: &RawEnv) -> Result<Locations, ConfigError> {
    Ok(match (&raw.locations_json, &raw.locations_file) {
        (Some(json), _) => Locations::from_json(json)?,
        (None, file) => {
            let path = PathBuf::from(file.as_deref().unwrap_or("config/locations.json"));
            Locations::from_file(&path, file.is_some())?
        }
    })
}

fn rules(raw: &mut RawEnv) -> Result<Rules, ConfigError> {
    let statuses: Vec<String> = list(raw.inject_statuses.as_deref())
        .into_iter()
        .map(|s| s.to_ascii_uppercase())
        .collect();
    Ok(Rules {
        inject_statuses: match statuses.is_empty() {
            true => vec!["DEFINITE".into(), "CLOSED".into()],
            false => statuses,
        },
        require_closed_invoice: boolean("REQUIRE_CLOSED_INVOICE", raw.require_closed_invoice.take(), true)?,
        require_full_payment: boolean("REQUIRE_FULL_PAYMENT", raw.require_full_payment.take(), true)?,
    })
}

fn injection_window(value: Option<&str>) -> Result<Option<InjectionWindow>, ConfigError> {
    value
        .map(|w| w.parse().map_err(|e: String| invalid("INJECTION_WINDOW", e)))
        .transpose()
}

fn product_match_threshold(raw: &mut RawEnv) -> Result<f64, ConfigError> {
    let threshold: f64 = number("PRODUCT_MATCH_THRESHOLD", raw.product_match_threshold.take(), 0.75)?;
    match (0.0..=1.0).contains(&threshold) {
        true => Ok(threshold),
        false => Err(invalid("PRODUCT_MATCH_THRESHOLD", "must be between 0 and 1")),
    }
}

fn store(raw: &RawEnv) -> Result<StoreTarget, ConfigError> {
    let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or("./data"));
    StoreTarget::parse(raw.database_url.as_deref(), &data_dir).map_err(|e| invalid("DATABASE_URL", e))
}

fn journal_retention(raw: &mut RawEnv) -> Result<Duration, ConfigError> {
    let days = at_least_one("JOURNAL_RETENTION_DAYS", raw.journal_retention_days.take(), 30)?;
    Ok(Duration::from_secs((days as u64).saturating_mul(86_400)))
}

fn admin_token(value: Option<String>) -> Result<Option<Secret>, ConfigError> {
    let token = value.map(|t| t.trim().to_string());
    if token.as_ref().is_some_and(|t| t.chars().count() < 32) {
        return Err(invalid(
            "ADMIN_TOKEN",
            "must be at least 32 characters (e.g. the output of `openssl rand -hex 32`)",
        ));
    }
    Ok(token.map(Secret::new))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::tripleseat::signature::SignatureScheme;

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
        assert_eq!(config.server.port, 8000);
        assert_eq!(config.server.host.to_string(), "0.0.0.0");
        assert_eq!(config.env, "development");
        assert!(config.enable_connector);
        assert!(!config.dry_run);
        assert_eq!(config.webhook.tolerance_secs, 300);
        assert_eq!(config.webhook.max_bytes, 1_048_576);
        assert_eq!(config.webhook.signature_scheme, SignatureScheme::Auto);
        assert_eq!(config.rules.inject_statuses, vec!["DEFINITE", "CLOSED"]);
        assert!(config.rules.require_closed_invoice && config.rules.require_full_payment);
        assert_eq!(config.product_match_threshold, 0.75);
        assert_eq!(config.catalog_ttl, Duration::from_secs(300));
        assert_eq!(config.idempotency_ttl, Duration::from_secs(604_800));
        assert_eq!(config.idempotency_max_entries, 100_000);
        assert_eq!(config.sweep_interval, Some(Duration::from_secs(900)));
        assert_eq!(config.webhook.deadline, Duration::from_secs(20));
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
        assert_eq!(report_only.webhook.signature_scheme, SignatureScheme::ReportOnly);
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
        assert_eq!(config.webhook.signing_key.unwrap().expose(), "k1");
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
}

/// `ALLOWED_LOCATIONS` as `/health` and the console show it: the sites, or
/// `"UNRESTRICTED"` when it is empty.
#[derive(Debug, Clone, Copy)]
pub struct AllowedLocationsView<'a>(&'a BTreeSet<String>);

impl serde::Serialize for AllowedLocationsView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            serializer.serialize_str("UNRESTRICTED")
        } else {
            serializer.collect_seq(self.0)
        }
    }
}
