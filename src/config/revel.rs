//! Revel: where to write, with which credentials, and the tenant's ids.

use super::env::RawEnv;
use super::parse::{base_url, optional_number, pair};
use super::parse::{invalid, ConfigError};
use crate::revel::tenant::{RevelIds, RevelTotals};
use crate::secret::Secret;

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

impl RevelConfig {
    pub(super) fn read(raw: &mut RawEnv, notes: &mut Vec<String>) -> Result<RevelConfig, ConfigError> {
        let api_base = match (raw.revel_api_base.take(), raw.revel_domain.take()) {
            (Some(base), _) => Some(base_url("REVEL_API_BASE", &base)?),
            (None, Some(domain)) => Some(revel_base_from_domain(&domain)?),
            (None, None) => None,
        };
        let credentials = pair(
            notes,
            ("REVEL_API_KEY", raw.revel_api_key.take()),
            ("REVEL_API_SECRET", raw.revel_api_secret.take()),
        );
        Ok(RevelConfig {
            api_base,
            credentials: credentials.map(|(key, secret)| (Secret::new(key), Secret::new(secret))),
            ids: RevelIds {
                user: optional_number("REVEL_USER_ID", raw.revel_user_id.take())?,
                pos_station: optional_number("REVEL_POS_STATION_ID", raw.revel_pos_station_id.take())?,
                dining_option: optional_number("REVEL_DINING_OPTION_ID", raw.revel_dining_option_id.take())?,
                payment_type: optional_number("REVEL_PAYMENT_TYPE_ID", raw.revel_payment_type_id.take())?,
                discount: optional_number("REVEL_DISCOUNT_ID", raw.revel_discount_id.take())?,
            },
            totals: totals(raw.revel_totals.as_deref())?,
        })
    }
}

fn totals(value: Option<&str>) -> Result<RevelTotals, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("pos") => Ok(RevelTotals::Pos),
        Some("invoice") => Ok(RevelTotals::Invoice),
        Some(other) => Err(invalid(
            "REVEL_TOTALS",
            format!("expected pos or invoice, got {other:?}"),
        )),
    }
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
