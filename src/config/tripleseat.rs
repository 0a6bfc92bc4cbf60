//! TripleSeat: where to read it, with which credentials, and where consent is given.

use super::env::RawEnv;
use super::parse::ConfigError;
use super::parse::{base_url, pair};
use crate::secret::Secret;

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

    pub(super) fn read(raw: &mut RawEnv, notes: &mut Vec<String>) -> Result<TripleseatConfig, ConfigError> {
        let oauth_client = pair(
            notes,
            ("TRIPLESEAT_OAUTH_CLIENT_ID", raw.tripleseat_oauth_client_id.take()),
            (
                "TRIPLESEAT_OAUTH_CLIENT_SECRET",
                raw.tripleseat_oauth_client_secret.take(),
            ),
        );
        let or_default = |value: &Option<String>, default: &'static str| value.clone().unwrap_or(default.into());
        Ok(TripleseatConfig {
            api_base: base_url(
                "TRIPLESEAT_API_BASE",
                &or_default(&raw.tripleseat_api_base, "https://api.tripleseat.com"),
            )?,
            public_api_key: raw.tripleseat_public_api_key.take().map(Secret::new),
            oauth_client: oauth_client.map(|(id, secret)| (id, Secret::new(secret))),
            authorize_url: base_url(
                "TRIPLESEAT_AUTHORIZE_URL",
                &or_default(
                    &raw.tripleseat_authorize_url,
                    "https://login.tripleseat.com/oauth2/authorize",
                ),
            )?,
        })
    }
}
