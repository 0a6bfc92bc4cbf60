//! Reading one variable's text into its type, each problem naming the variable.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono_tz::Tz;

use crate::locations::LocationsError;
use crate::telemetry::LogFormat;

/// A configuration problem found at startup; it names the variable and never its value
/// when the variable is a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{variable}: {problem}")]
    Invalid { variable: &'static str, problem: String },
    #[error("locations: {0}")]
    Locations(#[from] LocationsError),
}

pub(super) fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        variable,
        problem: problem.into(),
    }
}

pub(super) fn boolean(variable: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" || v == "1" => Ok(true),
        Some(v) if v == "false" || v == "0" => Ok(false),
        Some(v) => Err(invalid(variable, format!("expected true, false, 1 or 0, got {v:?}"))),
    }
}

/// Like `number`, with the message saying what is expected.
pub(super) fn expected<T: FromStr>(
    variable: &'static str,
    value: Option<String>,
    default: T,
    what: &str,
) -> Result<T, ConfigError> {
    number(variable, value, default).map_err(|_| invalid(variable, format!("expected {what}")))
}

/// `RUST_LOG` as `tracing` reads it, refusing a bare word that is neither a level nor
/// a module (`RUST_LOG=verbose` would silently log nothing).
pub(super) fn log_filter(value: Option<&str>) -> Result<String, ConfigError> {
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

pub(super) fn number<T: FromStr>(variable: &'static str, value: Option<String>, default: T) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid(variable, format!("{:?} is not a valid value", v.trim()))),
    }
}

pub(super) fn optional_number(variable: &'static str, value: Option<String>) -> Result<Option<u64>, ConfigError> {
    value
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| invalid(variable, format!("{:?} is not a numeric id", v.trim())))
        })
        .transpose()
}

pub(super) fn timezone(variable: &'static str, value: &str) -> Result<Tz, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(variable, format!("{:?} is not an IANA timezone", value.trim())))
}

pub(super) fn base_url(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(value).map_err(|_| invalid(variable, "is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(variable, "must be an http(s) URL with a host"));
    }
    Ok(value.to_string())
}

pub(super) fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub(super) fn unique_ignoring_case(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.to_ascii_lowercase()))
        .collect()
}

pub(super) fn log_format(value: Option<&str>) -> Result<LogFormat, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(invalid("LOG_FORMAT", format!("expected text or json, got {other:?}"))),
    }
}

/// Two variables that only work together: both, or neither, with a note naming the
/// missing half when only one is set.
pub(super) fn pair(
    notes: &mut Vec<String>,
    (first_name, first): (&str, Option<String>),
    (second_name, second): (&str, Option<String>),
) -> Option<(String, String)> {
    let (set, missing) = match (first, second) {
        (Some(first), Some(second)) => return Some((first, second)),
        (None, None) => return None,
        (Some(_), None) => (first_name, second_name),
        (None, Some(_)) => (second_name, first_name),
    };
    notes.push(format!(
        "{set} is set but {missing} is not: both are needed, so neither is used"
    ));
    None
}
