//! How the connector proves itself to TripleSeat when it reads (SPEC 20). Three ways,
//! tried in this order for each request, the next one after a 401/403:
//!
//! 1. an OAuth 2.0 access token from the authorization-code flow (an operator gives
//!    consent once; the tokens live in the store, refreshed before they expire);
//! 2. OAuth 2.0 client credentials, when the app is configured;
//! 3. the public API key (`X-API-Key`).
//!
//! Public evidence says the public key is refused on events and search, and client
//! credentials were refused for events before ("Token resource owner not found"), so
//! only the first is expected to work; the others stay as fallbacks. A way TripleSeat
//! refused is passed over for a while so a refused way does not cost a request each time.
//!
//! TripleSeat may rotate the refresh token on every refresh and refuse the old one.
//! So the store's row is the only copy that counts: a refresh happens under the
//! `tripleseat-token` lease, after reading the row again, and its result is written
//! back before it is used (see `store::tripleseat_tokens`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::pacer::Pacer;
use crate::coalesce::Coalesced;
use crate::config::TripleseatConfig;
use crate::metrics::{Metrics, Upstream};
use crate::secret::Secret;
use crate::store::leases::Lease;
use crate::store::tripleseat_tokens::{FreshTokens, StoredTokens};
use crate::store::{now_ms, Store, StoreError};
use crate::upstream::{send_counted, Failure};

use super::failure::{transport_failure, TripleseatError};

/// One way of reading, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadWay {
    AuthorizationCode,
    ClientCredentials,
    PublicKey,
}

impl ReadWay {
    const ALL: [ReadWay; 3] = [
        ReadWay::AuthorizationCode,
        ReadWay::ClientCredentials,
        ReadWay::PublicKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReadWay::AuthorizationCode => "authorization_code",
            ReadWay::ClientCredentials => "client_credentials",
            ReadWay::PublicKey => "public_key",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a request is sent with.
pub struct Credential {
    pub way: ReadWay,
    value: Secret,
    /// The store version an authorization-code token came from.
    version: Option<i64>,
    /// Issued for this request: if TripleSeat refuses it, renewing will not help.
    is_fresh: bool,
}

impl Credential {
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self.way {
            ReadWay::PublicKey => request.header("X-API-Key", self.value.expose()),
            ReadWay::AuthorizationCode | ReadWay::ClientCredentials => request.bearer_auth(self.value.expose()),
        }
    }

    /// A token from a cache that TripleSeat refused may have been revoked or rotated
    /// by another instance: one renewal is worth a try.
    pub fn is_renewable(&self) -> bool {
        !self.is_fresh && self.way != ReadWay::PublicKey
    }
}

/// Why a way could not give a credential.
pub enum Unavailable {
    /// Nobody has given consent yet (authorization code), or the way is not configured.
    NotSet,
    /// TripleSeat refused to issue a token (refresh token spent, client refused).
    Refused(String),
    /// The store could not be asked.
    Store,
    /// TripleSeat could not be reached: the request as a whole is retried.
    Transport(Failure<TripleseatError>),
}

/// Why consent could not be completed, in words for the operator's browser.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("{0} is not set")]
    NotConfigured(&'static str),
    #[error("this consent link is unknown, used already or expired; start again from /admin/tripleseat/connect")]
    UnknownState,
    #[error("this consent link was started in another browser; start again from the console in this one")]
    OtherBrowser,
    #[error("TripleSeat refused the authorization code ({0}); codes expire within minutes, so start again")]
    CodeRefused(String),
    #[error("TripleSeat answered without the tokens expected")]
    Malformed,
    #[error("TripleSeat could not be reached")]
    Unreachable,
    #[error("the store is unavailable")]
    Store,
}

/// Tokens are renewed this long before TripleSeat says they expire.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// A way TripleSeat refused is passed over this long (unless every way was refused).
const DENIAL_MEMORY: Duration = Duration::from_secs(600);
/// Without consent, the store is asked again after this long (another instance may
/// have completed it).
const NOT_CONNECTED_MEMORY: Duration = Duration::from_secs(30);
/// How long a consent link is valid.
pub const CONSENT_LINK_TTL: Duration = Duration::from_secs(600);
/// The lease under which one instance at a time refreshes.
const TOKEN_LEASE: &str = "tripleseat-token";
/// Where TripleSeat sends the operator back.
pub const CALLBACK_PATH: &str = "/oauth/tripleseat/callback";

enum CodeCache {
    Empty,
    Access {
        token: Secret,
        expires_ms: i64,
        version: i64,
    },
    NotConnected {
        until: Instant,
    },
}

struct ClientToken {
    token: Secret,
    expires: Instant,
}

/// TripleSeat's token endpoint and the app's credentials: cheap to clone into the
/// task a refresh runs in.
#[derive(Clone)]
struct TokenEndpoint {
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    pacer: Arc<Pacer>,
    url: String,
}

pub struct Authorizer {
    endpoint: TokenEndpoint,
    store: Arc<Store>,
    authorize_url: String,
    client: Option<(String, Secret)>,
    public_key: Option<Secret>,
    /// The authorization-code token in memory; never held across an await.
    code: std::sync::Mutex<CodeCache>,
    /// One refresh at a time in this process (the store's lease covers the others).
    refreshing: Mutex<()>,
    client_token: Mutex<Option<ClientToken>>,
    denied: std::sync::Mutex<[Option<Instant>; 3]>,
    in_use: std::sync::Mutex<Option<ReadWay>>,
    /// Whether the store holds authorization-code tokens (or the store's error), from a
    /// read begun at most `HEALTH_AGE` before the call; consent given here shows at once.
    has_tokens: Coalesced<Result<bool, StoreError>>,
}

/// What `/health` and the console show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReadsView {
    /// The ways configured, in the order they are tried.
    pub ways: Vec<&'static str>,
    /// The way the last successful read used.
    pub in_use: Option<&'static str>,
    /// `connected`, `refused` (TripleSeat refused the stored tokens lately: consent
    /// again), `not connected`, `unknown` (store down) or `not configured`.
    pub authorization_code: &'static str,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    /// Seconds, as a number or as text.
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

fn seconds<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

impl Authorizer {
    pub fn new(
        config: &TripleseatConfig,
        http: reqwest::Client,
        metrics: Arc<Metrics>,
        pacer: Arc<Pacer>,
        store: Arc<Store>,
    ) -> Authorizer {
        Authorizer {
            endpoint: TokenEndpoint {
                http,
                metrics,
                pacer,
                url: format!("{}/oauth2/token", config.api_base),
            },
            store,
            authorize_url: config.authorize_url.clone(),
            client: config.oauth_client.clone(),
            public_key: config.public_api_key.clone(),
            code: std::sync::Mutex::new(CodeCache::Empty),
            refreshing: Mutex::new(()),
            client_token: Mutex::new(None),
            denied: std::sync::Mutex::new([None; 3]),
            in_use: std::sync::Mutex::new(None),
            has_tokens: Coalesced::within(crate::store::HEALTH_AGE),
        }
    }

    fn is_set(&self, way: ReadWay) -> bool {
        match way {
            ReadWay::AuthorizationCode | ReadWay::ClientCredentials => self.client.is_some(),
            ReadWay::PublicKey => self.public_key.is_some(),
        }
    }

    pub fn is_configured(&self) -> bool {
        ReadWay::ALL.iter().any(|way| self.is_set(*way))
    }

    /// The configured ways in order, leaving out those refused lately — unless that
    /// leaves none, when all are tried again.
    pub fn ways_to_try(&self) -> Vec<ReadWay> {
        let configured: Vec<ReadWay> = ReadWay::ALL.into_iter().filter(|w| self.is_set(*w)).collect();
        let denied = *self.denied.lock().expect("invariant: never locked across a panic");
        let fresh: Vec<ReadWay> = configured
            .iter()
            .copied()
            .filter(|way| denied[way.index()].is_none_or(|at| at.elapsed() >= DENIAL_MEMORY))
            .collect();
        if fresh.is_empty() {
            configured
        } else {
            fresh
        }
    }

    pub fn note_refused(&self, way: ReadWay) {
        self.denied.lock().expect("invariant: never locked across a panic")[way.index()] = Some(Instant::now());
    }

    pub fn note_worked(&self, way: ReadWay) {
        self.denied.lock().expect("invariant: never locked across a panic")[way.index()] = None;
        let mut in_use = self.in_use.lock().expect("invariant: never locked across a panic");
        if *in_use != Some(way) {
            tracing::info!(way = way.as_str(), "TripleSeat: reading with {}", way.as_str());
            *in_use = Some(way);
        }
    }

    /// A credential for `way`; `refused` is the one TripleSeat just refused, if any.
    pub async fn credential(
        &self,
        way: ReadWay,
        refused: Option<&Credential>,
        deadline: Instant,
    ) -> Result<Credential, Unavailable> {
        match way {
            ReadWay::AuthorizationCode => self.code_token(refused.and_then(|c| c.version), deadline).await,
            ReadWay::ClientCredentials => self.client_credentials(refused.is_some()).await,
            ReadWay::PublicKey => self
                .public_key
                .clone()
                .map(|value| Credential {
                    way,
                    value,
                    version: None,
                    is_fresh: true,
                })
                .ok_or(Unavailable::NotSet),
        }
    }

    /// The authorization-code access token: memory, else the store, else a refresh.
    async fn code_token(&self, refused_version: Option<i64>, deadline: Instant) -> Result<Credential, Unavailable> {
        if let Some(cached) = self.cached_code(refused_version) {
            return cached;
        }
        let stored = self.stored_tokens().await?;
        if is_usable(&stored, refused_version) {
            return Ok(self.use_stored(stored));
        }
        let _turn = tokio::time::timeout_at(deadline, self.refreshing.lock())
            .await
            .map_err(|_| Unavailable::Store)?;
        // Another task here may have refreshed while this one waited.
        let stored = self.stored_tokens().await?;
        if is_usable(&stored, refused_version) {
            return Ok(self.use_stored(stored));
        }
        let lease = Lease::take_by(&self.store, TOKEN_LEASE.to_string(), deadline)
            .await
            .map_err(|_| Unavailable::Store)?;
        // The refresh runs in a task of its own: once TripleSeat has rotated the
        // refresh token, the new one is stored even if this caller gives up waiting.
        let (endpoint, store, client) = (self.endpoint.clone(), Arc::clone(&self.store), self.client.clone());
        let refresh = tokio::spawn(async move {
            let refreshed = refresh(&endpoint, &store, client.as_ref(), refused_version).await;
            lease.release().await;
            refreshed
        });
        match refresh.await {
            Ok(Ok(Refreshed::Fresh(stored))) => {
                let credential = self.use_stored(stored);
                Ok(Credential {
                    is_fresh: true,
                    ..credential
                })
            }
            Ok(Ok(Refreshed::ByAnother(stored))) => Ok(self.use_stored(stored)),
            Ok(Err(Unavailable::Refused(error))) => {
                self.set_code(CodeCache::NotConnected {
                    until: Instant::now() + NOT_CONNECTED_MEMORY,
                });
                Err(Unavailable::Refused(error))
            }
            Ok(Err(other)) => Err(other),
            Err(_) => Err(Unavailable::Store),
        }
    }

    fn cached_code(&self, refused_version: Option<i64>) -> Option<Result<Credential, Unavailable>> {
        if refused_version.is_some() {
            return None;
        }
        match &*self.code.lock().expect("invariant: never locked across a panic") {
            CodeCache::Access {
                token,
                expires_ms,
                version,
            } if *expires_ms > now_ms() + margin_ms() => Some(Ok(code_credential(token.clone(), *version, false))),
            CodeCache::NotConnected { until } if Instant::now() < *until => Some(Err(Unavailable::NotSet)),
            _ => None,
        }
    }

    fn set_code(&self, cache: CodeCache) {
        *self.code.lock().expect("invariant: never locked across a panic") = cache;
    }

    async fn stored_tokens(&self) -> Result<StoredTokens, Unavailable> {
        match self.store.tripleseat_tokens().await {
            Ok(Some(stored)) => Ok(stored),
            Ok(None) => {
                self.set_code(CodeCache::NotConnected {
                    until: Instant::now() + NOT_CONNECTED_MEMORY,
                });
                Err(Unavailable::NotSet)
            }
            Err(_) => Err(Unavailable::Store),
        }
    }

    fn use_stored(&self, stored: StoredTokens) -> Credential {
        let token = Secret::new(stored.access_token);
        self.set_code(CodeCache::Access {
            token: token.clone(),
            expires_ms: stored.access_expires_ms,
            version: stored.version,
        });
        code_credential(token, stored.version, false)
    }

    async fn client_credentials(&self, was_refused: bool) -> Result<Credential, Unavailable> {
        let (client_id, secret) = self.client.as_ref().ok_or(Unavailable::NotSet)?;
        let mut cached = self.client_token.lock().await;
        if was_refused {
            *cached = None;
        }
        if let Some(token) = cached.as_ref().filter(|t| t.expires > Instant::now()) {
            return Ok(Credential {
                way: ReadWay::ClientCredentials,
                value: token.token.clone(),
                version: None,
                is_fresh: false,
            });
        }
        let answer = self
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret.expose()),
            ])
            .await?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(7200));
        let token = Secret::new(answer.access_token);
        *cached = Some(ClientToken {
            token: token.clone(),
            expires: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        });
        Ok(Credential {
            way: ReadWay::ClientCredentials,
            value: token,
            version: None,
            is_fresh: true,
        })
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenAnswer, Unavailable> {
        self.endpoint.request(form).await
    }

    /// A consent link: TripleSeat's authorize page with a one-time `state` the
    /// callback checks, and the state. The state is stored, so any instance can take
    /// the callback; `browser_bound` links also need the state back in a cookie.
    pub async fn consent_link(
        &self,
        public_base_url: Option<&str>,
        browser_bound: bool,
    ) -> Result<(String, String), ConsentError> {
        let (client_id, _) = self.client.as_ref().ok_or(ConsentError::NotConfigured(
            "TRIPLESEAT_OAUTH_CLIENT_ID / TRIPLESEAT_OAUTH_CLIENT_SECRET",
        ))?;
        let base = public_base_url.ok_or(ConsentError::NotConfigured("PUBLIC_BASE_URL"))?;
        let state = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let expires = now_ms() + crate::store::ms(CONSENT_LINK_TTL);
        self.store
            .remember_oauth_state(&state, expires, browser_bound)
            .await
            .map_err(|_| ConsentError::Store)?;
        let redirect_uri = format!("{base}{CALLBACK_PATH}");
        let url = reqwest::Url::parse_with_params(
            &self.authorize_url,
            [
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("state", state.as_str()),
            ],
        )
        .map_err(|_| ConsentError::NotConfigured("TRIPLESEAT_AUTHORIZE_URL"))?;
        Ok((url.to_string(), state))
    }

    /// The callback: the state is used up, the code exchanged, the tokens stored.
    pub async fn complete_consent(
        &self,
        code: &str,
        state: &str,
        cookie_state: Option<&str>,
        public_base_url: Option<&str>,
    ) -> Result<(), ConsentError> {
        let (client_id, secret) = self.client.as_ref().ok_or(ConsentError::NotConfigured(
            "TRIPLESEAT_OAUTH_CLIENT_ID / TRIPLESEAT_OAUTH_CLIENT_SECRET",
        ))?;
        let base = public_base_url.ok_or(ConsentError::NotConfigured("PUBLIC_BASE_URL"))?;
        let is_bound = self
            .store
            .take_oauth_state(state)
            .await
            .map_err(|_| ConsentError::Store)?
            .ok_or(ConsentError::UnknownState)?;
        let same_browser = cookie_state.is_some_and(|c| bool::from(c.as_bytes().ct_eq(state.as_bytes())));
        if is_bound && !same_browser {
            return Err(ConsentError::OtherBrowser);
        }
        let redirect_uri = format!("{base}{CALLBACK_PATH}");
        let answer = self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &redirect_uri),
                ("client_id", client_id),
                ("client_secret", secret.expose()),
            ])
            .await
            .map_err(|refusal| match refusal {
                Unavailable::Refused(error) => ConsentError::CodeRefused(error),
                _ => ConsentError::Unreachable,
            })?;
        let refresh_token = answer.refresh_token.as_deref().ok_or(ConsentError::Malformed)?;
        let fresh = FreshTokens {
            access_token: &answer.access_token,
            access_expires_ms: expiry_ms(answer.expires_in),
            refresh_token,
        };
        self.store
            .connect_tripleseat(&fresh)
            .await
            .map_err(|_| ConsentError::Store)?;
        self.has_tokens.forget().await;
        self.set_code(CodeCache::Empty);
        self.denied.lock().expect("invariant: never locked across a panic")[ReadWay::AuthorizationCode.index()] = None;
        tracing::info!("TripleSeat: consent given; reads use the authorization code from now on");
        Ok(())
    }

    /// The ways configured, the one in use, and whether consent was given.
    pub async fn view(&self) -> ReadsView {
        let refused_lately = self.denied.lock().expect("invariant: never locked across a panic")
            [ReadWay::AuthorizationCode.index()]
        .is_some_and(|at| at.elapsed() < DENIAL_MEMORY);
        let authorization_code = if self.client.is_none() {
            "not configured"
        } else {
            let read = || async { self.store.tripleseat_tokens().await.map(|tokens| tokens.is_some()) };
            match self.has_tokens.get(read).await {
                Ok(true) if refused_lately => "refused",
                Ok(true) => "connected",
                Ok(false) => "not connected",
                Err(_) => "unknown",
            }
        };
        ReadsView {
            ways: ReadWay::ALL
                .into_iter()
                .filter(|w| self.is_set(*w))
                .map(ReadWay::as_str)
                .collect(),
            in_use: self
                .in_use
                .lock()
                .expect("invariant: never locked across a panic")
                .map(ReadWay::as_str),
            authorization_code,
        }
    }
}

impl TokenEndpoint {
    /// `POST /oauth2/token` with `form`. A 4xx is a refusal, with TripleSeat's
    /// `error` code when it gives one (never the form, which holds secrets).
    async fn request(&self, form: &[(&str, &str)]) -> Result<TokenAnswer, Unavailable> {
        self.pacer.wait().await;
        let request = self.http.post(&self.url).form(form);
        let response = send_counted(&self.metrics, Upstream::Tripleseat, request)
            .await
            .map_err(|e| Unavailable::Transport(transport_failure(e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Unavailable::Transport(transport_failure(e)))?;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Unavailable::Transport(Failure::Retry(TripleseatError::Status(
                status.as_u16(),
            ))));
        }
        if !status.is_success() {
            return Err(Unavailable::Refused(oauth_error(status, &body)));
        }
        serde_json::from_slice::<TokenAnswer>(&body)
            .map_err(|_| Unavailable::Refused("the token answer is not the expected JSON".into()))
    }
}

/// How a refresh ended.
enum Refreshed {
    /// This instance refreshed; the row as stored now.
    Fresh(StoredTokens),
    /// Another instance had refreshed first; its row.
    ByAnother(StoredTokens),
}

/// Under the lease: the row again (another instance may have refreshed while this one
/// waited), else a refresh whose rotated tokens are stored before they are used. The
/// store is asked a few times over half a minute: a rotated refresh token that is not
/// stored is lost for good.
async fn refresh(
    endpoint: &TokenEndpoint,
    store: &Store,
    client: Option<&(String, Secret)>,
    refused_version: Option<i64>,
) -> Result<Refreshed, Unavailable> {
    let stored = store
        .tripleseat_tokens()
        .await
        .map_err(|_| Unavailable::Store)?
        .ok_or(Unavailable::NotSet)?;
    if is_usable(&stored, refused_version) {
        return Ok(Refreshed::ByAnother(stored));
    }
    let (client_id, secret) = client.ok_or(Unavailable::NotSet)?;
    let answer = endpoint
        .request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &stored.refresh_token),
            ("client_id", client_id),
            ("client_secret", secret.expose()),
        ])
        .await
        .inspect_err(|refusal| {
            if let Unavailable::Refused(error) = refusal {
                tracing::error!(
                    error,
                    "TripleSeat refused the stored refresh token: an operator must give consent again \
                     (GET /admin/tripleseat/connect, or the tripleseat-connect command)"
                );
            }
        })?;
    let fresh = FreshTokens {
        access_token: &answer.access_token,
        access_expires_ms: expiry_ms(answer.expires_in),
        refresh_token: answer.refresh_token.as_deref().unwrap_or(&stored.refresh_token),
    };
    store_rotated(store, &stored, &fresh).await
}

/// Stores what a refresh returned in place of `stored`, trying a few times over half a
/// minute. If another instance's refresh was stored first, its row wins.
async fn store_rotated(
    store: &Store,
    stored: &StoredTokens,
    fresh: &FreshTokens<'_>,
) -> Result<Refreshed, Unavailable> {
    let now_stored = StoredTokens {
        access_token: fresh.access_token.to_string(),
        access_expires_ms: fresh.access_expires_ms,
        refresh_token: fresh.refresh_token.to_string(),
        version: stored.version + 1,
        ..stored.clone()
    };
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=6 {
        match store.rotate_tripleseat_tokens(stored.version, fresh).await {
            Ok(true) => {
                tracing::info!(
                    version = now_stored.version,
                    "TripleSeat: access token refreshed and stored"
                );
                return Ok(Refreshed::Fresh(now_stored));
            }
            Ok(false) => {
                // The lease ran out and another instance refreshed: its row wins.
                tracing::warn!("TripleSeat: another instance refreshed at the same time; using its tokens");
                let theirs = store.tripleseat_tokens().await.map_err(|_| Unavailable::Store)?;
                return theirs.map(Refreshed::ByAnother).ok_or(Unavailable::NotSet);
            }
            Err(error) if attempt < 6 => {
                tracing::warn!(%error, attempt, "TripleSeat: refreshed; storing the new tokens failed, trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(error) => {
                tracing::error!(%error, "TripleSeat: refreshed, but the store could not keep the new tokens; if the refresh token rotated, consent must be given again");
            }
        }
    }
    // Not stored: the access token still serves this process until it expires.
    Ok(Refreshed::Fresh(StoredTokens {
        access_token: now_stored.access_token,
        access_expires_ms: now_stored.access_expires_ms,
        ..stored.clone()
    }))
}

fn code_credential(token: Secret, version: i64, is_fresh: bool) -> Credential {
    Credential {
        way: ReadWay::AuthorizationCode,
        value: token,
        version: Some(version),
        is_fresh,
    }
}

fn margin_ms() -> i64 {
    crate::store::ms(TOKEN_MARGIN)
}

/// Tokens that are not about to expire, and not the version TripleSeat just refused.
fn is_usable(stored: &StoredTokens, refused_version: Option<i64>) -> bool {
    stored.access_expires_ms > now_ms() + margin_ms() && refused_version != Some(stored.version)
}

fn expiry_ms(expires_in: Option<u64>) -> i64 {
    let lifetime = Duration::from_secs(expires_in.unwrap_or(7200));
    now_ms().saturating_add(crate::store::ms(lifetime))
}

/// TripleSeat's `error` (and `error_description`) from a refusal, cut short and
/// limited to printable text; else the status.
fn oauth_error(status: StatusCode, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Refusal {
        error: Option<String>,
        error_description: Option<String>,
    }
    let text = serde_json::from_slice::<Refusal>(body)
        .ok()
        .and_then(|r| match (r.error, r.error_description) {
            (Some(e), Some(d)) => Some(format!("{e}: {d}")),
            (Some(e), None) => Some(e),
            (None, d) => d,
        })
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_read_from_the_oauth_error_body() {
        let cases: [(&[u8], &str); 4] = [
            (
                br#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}"#,
                "invalid_grant: The provided authorization grant is invalid",
            ),
            (br#"{"error":"invalid_client"}"#, "invalid_client"),
            (b"<html>login</html>", "HTTP 401"),
            (br#"{"error":"a\nb"}"#, "ab"),
        ];
        for (body, expected) in cases {
            assert_eq!(oauth_error(StatusCode::UNAUTHORIZED, body), expected);
        }
    }

    #[test]
    fn a_token_is_usable_until_the_margin_and_never_the_refused_version() {
        let stored = |expires_ms, version| StoredTokens {
            access_token: "a".into(),
            access_expires_ms: expires_ms,
            refresh_token: "r".into(),
            version,
            connected_at_ms: 0,
            refreshed_at_ms: 0,
        };
        let later = now_ms() + 3_600_000;
        assert!(is_usable(&stored(later, 3), None));
        assert!(is_usable(&stored(later, 4), Some(3)));
        assert!(!is_usable(&stored(later, 3), Some(3)));
        assert!(!is_usable(&stored(now_ms() + 30_000, 3), None));
    }
}
