//! The environment as strings, and the one list of the variables the service reads.
//! Each variable is named once, beside the field it is read into, so a field cannot
//! be added without its name (and so be silently ignored).

use serde::Deserialize;

/// Declares `RawEnv` (one `Option<String>` per variable) and `VARIABLES` (their
/// names) from one list.
macro_rules! environment {
    ($($field:ident => $name:literal,)*) => {
        /// The environment as strings, exactly as set. Empty values count as unset.
        #[derive(Debug, Default, Deserialize)]
        pub(super) struct RawEnv {
            $(pub $field: Option<String>,)*
        }

        /// Every variable the service reads, for the startup check of unknown names in
        /// `.env.example` and `render.yaml`. `RUST_LOG` is read by the telemetry layer.
        pub const VARIABLES: &[&str] = &[$($name,)*];
    };
}

environment! {
    port => "PORT",
    host => "HOST",
    env => "ENV",
    timezone => "TIMEZONE",
    enable_connector => "ENABLE_CONNECTOR",
    dry_run => "DRY_RUN",
    allowed_locations => "ALLOWED_LOCATIONS",
    tripleseat_webhook_signing_key => "TRIPLESEAT_WEBHOOK_SIGNING_KEY",
    tripleseat_signing_secret => "TRIPLESEAT_SIGNING_SECRET",
    webhook_tolerance_secs => "WEBHOOK_TOLERANCE_SECS",
    webhook_max_bytes => "WEBHOOK_MAX_BYTES",
    webhook_signature_scheme => "WEBHOOK_SIGNATURE_SCHEME",
    webhook_deadline_secs => "WEBHOOK_DEADLINE_SECS",
    tripleseat_api_base => "TRIPLESEAT_API_BASE",
    tripleseat_public_api_key => "TRIPLESEAT_PUBLIC_API_KEY",
    tripleseat_oauth_client_id => "TRIPLESEAT_OAUTH_CLIENT_ID",
    tripleseat_oauth_client_secret => "TRIPLESEAT_OAUTH_CLIENT_SECRET",
    tripleseat_authorize_url => "TRIPLESEAT_AUTHORIZE_URL",
    public_base_url => "PUBLIC_BASE_URL",
    max_connections => "MAX_CONNECTIONS",
    header_read_timeout_secs => "HEADER_READ_TIMEOUT_SECS",
    revel_api_base => "REVEL_API_BASE",
    revel_domain => "REVEL_DOMAIN",
    revel_api_key => "REVEL_API_KEY",
    revel_api_secret => "REVEL_API_SECRET",
    revel_user_id => "REVEL_USER_ID",
    revel_pos_station_id => "REVEL_POS_STATION_ID",
    revel_dining_option_id => "REVEL_DINING_OPTION_ID",
    revel_payment_type_id => "REVEL_PAYMENT_TYPE_ID",
    revel_discount_id => "REVEL_DISCOUNT_ID",
    sendgrid_api_base => "SENDGRID_API_BASE",
    sendgrid_api_key => "SENDGRID_API_KEY",
    tripleseat_email_sender => "TRIPLESEAT_EMAIL_SENDER",
    tripleseat_email_recipients => "TRIPLESEAT_EMAIL_RECIPIENTS",
    locations_file => "LOCATIONS_FILE",
    locations_json => "LOCATIONS_JSON",
    inject_statuses => "INJECT_STATUSES",
    require_closed_invoice => "REQUIRE_CLOSED_INVOICE",
    require_full_payment => "REQUIRE_FULL_PAYMENT",
    injection_window => "INJECTION_WINDOW",
    product_match_threshold => "PRODUCT_MATCH_THRESHOLD",
    allow_partial_orders => "ALLOW_PARTIAL_ORDERS",
    catalog_ttl_secs => "CATALOG_TTL_SECS",
    idempotency_ttl_secs => "IDEMPOTENCY_TTL_SECS",
    idempotency_max_entries => "IDEMPOTENCY_MAX_ENTRIES",
    test_endpoints => "TEST_ENDPOINTS",
    sweep_interval_secs => "SWEEP_INTERVAL_SECS",
    log_format => "LOG_FORMAT",
    rust_log => "RUST_LOG",
    database_url => "DATABASE_URL",
    data_dir => "DATA_DIR",
    journal_retention_days => "JOURNAL_RETENTION_DAYS",
    email_max_attempts => "EMAIL_MAX_ATTEMPTS",
    admin_token => "ADMIN_TOKEN",
    metrics_token => "METRICS_TOKEN",
    strict_config => "STRICT_CONFIG",
    shutdown_budget_secs => "SHUTDOWN_BUDGET_SECS",
    revel_totals => "REVEL_TOTALS",
    test_endpoints_rate => "TEST_ENDPOINTS_RATE",
}

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

/// The name of the variable `name` most likely meant, if it looks like one of ours:
/// one of our prefixes, another case, or a couple of letters away.
pub(super) fn likely_meant(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    let closest = VARIABLES
        .iter()
        .map(|known| (strsim::damerau_levenshtein(&upper, known), *known))
        .min()?;
    let looks_ours = PREFIXES.iter().any(|p| upper.starts_with(p));
    let is_close = upper.len() >= 6 && closest.0 <= 2;
    (looks_ours || is_close || upper == closest.1).then_some(closest.1)
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
        let read: Vec<String> = raw_env_fields().iter().map(|f| f.to_ascii_uppercase()).collect();
        assert!(!read.is_empty());
        assert_eq!(
            read, VARIABLES,
            "a RawEnv field not in VARIABLES would be silently ignored (and a name not in RawEnv never read)"
        );
        let mut unique = read.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), read.len(), "every variable is named once");
    }

    #[test]
    fn a_name_near_ours_is_taken_for_a_misspelling_of_it() {
        assert_eq!(likely_meant("DRYRUN"), Some("DRY_RUN"));
        assert_eq!(likely_meant("REVEL_APIKEY"), Some("REVEL_API_KEY"));
        assert_eq!(likely_meant("PATH"), None);
    }
}
