//! [`TokenSource`] (feature `client`): the calling side. Obtains `client_credentials` access
//! tokens from the brand's token endpoint, caches each until shortly before it expires, lets
//! concurrent callers share one refresh, and retries a resource call once with a fresh token
//! when the resource server answers 401 (the token was revoked, or its key rotated away).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::body;
use crate::config::ClientCredentials;
use crate::error::SetupError;
use crate::limits::MAX_TOKEN_RESPONSE_BODY;
use crate::verifier::{discover, http_client};

/// Why a token could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum TokenSourceError {
    /// The token endpoint could not be reached, or its answer could not be read.
    #[error("token request failed: {0}")]
    Transport(String),
    /// The token endpoint refused the request (RFC 6749 §5.2).
    #[error("the token endpoint refused the request ({status}): {error}: {description}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_client`.
        error: String,
        /// Its `error_description`.
        description: String,
    },
}

/// A successful token response.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Default, Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// The cached token.
struct Cached {
    token: Arc<str>,
    /// When to stop handing it out.
    refresh_at: Instant,
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached").field("token", &"<redacted>").field("refresh_at", &self.refresh_at).finish()
    }
}

/// The longest lifetime a token is cached for, whatever `expires_in` says.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Hands out `client_credentials` access tokens. Cheap to clone; clones share the cached
/// token. Configure it (scope, audience, …) before cloning it.
#[derive(Debug, Clone)]
pub struct TokenSource {
    settings: Arc<Settings>,
    state: Arc<State>,
}

/// What to ask for, and where.
#[derive(Debug, Clone)]
struct Settings {
    http: reqwest::Client,
    token_endpoint: String,
    client: ClientCredentials,
    scope: Option<String>,
    audience: Option<String>,
    margin: Duration,
}

/// The cache.
#[derive(Debug, Default)]
struct State {
    cached: RwLock<Option<Cached>>,
    /// Held while a token is fetched, so that concurrent callers share one request.
    refreshing: Mutex<()>,
}

impl TokenSource {
    /// A source for the client `id`/`secret` at `token_endpoint`.
    pub fn new(token_endpoint: impl Into<String>, id: impl Into<String>, secret: impl Into<String>) -> Self {
        let http = http_client(Duration::from_secs(10)).unwrap_or_default();
        Self::with_http(http, token_endpoint.into(), ClientCredentials::new(id, secret))
    }

    /// A source for the client at the brand `issuer` (its token endpoint found by discovery).
    pub async fn discover(
        issuer: impl Into<String>,
        id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Result<Self, SetupError> {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        let http = http_client(Duration::from_secs(10))?;
        let discovery = discover(&http, &issuer, Duration::from_secs(10)).await?;
        let endpoint = discovery.token_endpoint.ok_or_else(|| SetupError::Fetch {
            what: "discovery document",
            url: issuer.clone(),
            reason: "it names no token_endpoint".into(),
        })?;
        Ok(Self::with_http(http, endpoint.to_string(), ClientCredentials::new(id, secret)))
    }

    fn with_http(http: reqwest::Client, token_endpoint: String, client: ClientCredentials) -> Self {
        let settings =
            Settings { http, token_endpoint, client, scope: None, audience: None, margin: Duration::from_secs(30) };
        Self { settings: Arc::new(settings), state: Arc::default() }
    }

    /// Changes a setting; the changed source starts with an empty cache of its own.
    fn configure(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(Arc::make_mut(&mut self.settings));
        self.state = Arc::default();
        self
    }

    /// Asks for these scopes (space-delimited); by default the client's default scopes.
    #[must_use]
    pub fn scope(self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        self.configure(|s| s.scope = Some(scope))
    }

    /// Asks for a token for this audience (RFC 8707).
    #[must_use]
    pub fn audience(self, audience: impl Into<String>) -> Self {
        let audience = audience.into();
        self.configure(|s| s.audience = Some(audience))
    }

    /// Stops handing a token out this long before it expires (default 30 s; at most half its
    /// lifetime).
    #[must_use]
    pub fn refresh_margin(self, margin: Duration) -> Self {
        self.configure(|s| s.margin = margin)
    }

    /// Uses `client` for token requests.
    #[must_use]
    pub fn http_client(self, client: reqwest::Client) -> Self {
        self.configure(|s| s.http = client)
    }

    fn current(&self) -> Option<Arc<str>> {
        let cached = self.state.cached.read().unwrap_or_else(PoisonError::into_inner);
        cached.as_ref().filter(|c| Instant::now() < c.refresh_at).map(|c| Arc::clone(&c.token))
    }

    /// A valid access token: the cached one, or a new one when it is about to expire.
    /// Concurrent callers that find no valid token share one request.
    pub async fn token(&self) -> Result<Arc<str>, TokenSourceError> {
        if let Some(token) = self.current() {
            return Ok(token);
        }
        let _refreshing = self.state.refreshing.lock().await;
        // Another caller may have refreshed while this one waited.
        if let Some(token) = self.current() {
            return Ok(token);
        }
        let (token, lifetime) = self.fetch().await?;
        let lifetime = lifetime.min(MAX_LIFETIME);
        let margin = self.settings.margin.min(lifetime / 2);
        let cached = Cached { token: Arc::clone(&token), refresh_at: Instant::now() + lifetime - margin };
        *self.state.cached.write().unwrap_or_else(PoisonError::into_inner) = Some(cached);
        Ok(token)
    }

    /// Forgets `token` if it is the cached one (a resource server refused it), so that the
    /// next [`Self::token`] fetches a new one.
    pub fn invalidate(&self, token: &str) {
        let mut cached = self.state.cached.write().unwrap_or_else(PoisonError::into_inner);
        if cached.as_ref().is_some_and(|c| &*c.token == token) {
            *cached = None;
        }
    }

    /// Sends the request `build` makes with the token as Bearer credentials; on a 401 it
    /// fetches a fresh token and sends a new request once more. `build` is called once per
    /// attempt.
    pub async fn send<F>(&self, build: F) -> Result<reqwest::Response, TokenSourceError>
    where
        F: Fn() -> reqwest::RequestBuilder,
    {
        let token = self.token().await?;
        let response = build().bearer_auth(&*token).send().await.map_err(transport)?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        self.invalidate(&token);
        let token = self.token().await?;
        build().bearer_auth(&*token).send().await.map_err(transport)
    }

    async fn fetch(&self) -> Result<(Arc<str>, Duration), TokenSourceError> {
        let inner = &*self.settings;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &inner.scope {
            form.push(("scope", scope));
        }
        if let Some(audience) = &inner.audience {
            form.push(("audience", audience));
        }
        let response = inner
            .client
            .authorize(inner.http.post(&inner.token_endpoint))
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let body: ErrorResponse = body::json(response, MAX_TOKEN_RESPONSE_BODY).await.unwrap_or_default();
            return Err(TokenSourceError::Refused {
                status: status.as_u16(),
                error: body.error,
                description: body.error_description,
            });
        }
        let body: TokenResponse = body::json(response, MAX_TOKEN_RESPONSE_BODY)
            .await
            .map_err(|e| TokenSourceError::Transport(e.to_string()))?;
        Ok((Arc::from(body.access_token), Duration::from_secs(body.expires_in)))
    }
}

fn transport(e: reqwest::Error) -> TokenSourceError {
    TokenSourceError::Transport(crate::error::describe(e))
}
