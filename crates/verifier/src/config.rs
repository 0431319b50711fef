//! How a [`crate::Verifier`] is set up.

use std::fmt;
use std::time::Duration;

use portcullis_core::Audience;

use crate::error::SetupError;

/// The default name of the header that carries the caller's brand.
pub const DEFAULT_BRAND_HEADER: &str = "X-Brand-Key";

/// A client of the brand, used to call the issuer's introspection endpoint (HTTP Basic API
/// tokens) and its revocation feed. Its secret is never printed, not even by `Debug`.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The client id.
    pub id: String,
    secret: String,
}

impl ClientCredentials {
    /// A client id and its secret.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self { id: id.into(), secret: secret.into() }
    }

    /// Adds the credentials to `request` as HTTP Basic authentication, each half
    /// form-url-encoded first as RFC 6749 §2.3.1 asks (the server decodes them).
    pub(crate) fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(form_encode(&self.id), Some(form_encode(&self.secret)))
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials").field("id", &self.id).field("secret", &"<redacted>").finish()
    }
}

/// What the verifier does while it cannot reach the revocation feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOutage {
    /// Go on verifying with the revocations known so far (availability first). A token revoked
    /// during the outage is accepted until the feed is back or the token expires.
    KeepServing,
    /// Refuse every token (503, [`crate::VerifyError::Unavailable`]) once the feed has been
    /// unreachable for longer than the grace period (revocation first).
    FailClosed {
        /// How long an outage is tolerated before tokens are refused.
        grace: Duration,
    },
}

/// How the verifier follows the brand's revocation feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationFeed {
    /// Behaviour during an outage of the feed.
    pub on_outage: FeedOutage,
    /// How long each long-poll waits for new entries on the server, whole seconds from 1 to 25
    /// (values outside are clamped).
    pub wait: Duration,
}

impl Default for RevocationFeed {
    /// Keep serving during an outage; long-polls of 20 s.
    fn default() -> Self {
        Self { on_outage: FeedOutage::KeepServing, wait: Duration::from_secs(20) }
    }
}

/// How long answers about HTTP Basic API tokens are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenCache {
    /// How long an accepted `username:api_token` is trusted without asking again. When the
    /// revocation feed is followed, a regenerated or disabled token (or a disabled user) is
    /// forgotten as soon as the feed says so.
    pub positive_ttl: Duration,
    /// How long a refused one is refused without asking again (so that a client repeating
    /// bad credentials does not make the verifier ask each time; distinct guesses each cost one
    /// introspection).
    pub negative_ttl: Duration,
    /// Most answers kept; when full, refused answers are dropped before accepted ones.
    pub capacity: usize,
}

impl Default for ApiTokenCache {
    /// 5 s for accepted tokens, 2 s for refused ones, 10,000 answers.
    fn default() -> Self {
        Self { positive_ttl: Duration::from_secs(5), negative_ttl: Duration::from_secs(2), capacity: 10_000 }
    }
}

/// Which `aud` values a verifier accepts. Private, so that "no audience check" is only reached
/// through [`VerifierConfig::accepting_any_audience`], never by an empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Audiences {
    /// A token must name at least one of these; never empty (made from one, then grown).
    Required(Vec<String>),
    /// `aud` is not checked.
    Any,
}

/// What to verify tokens against. Made by [`VerifierConfig::new`] (the audience is part of
/// construction) or, to skip the audience check, [`VerifierConfig::accepting_any_audience`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The brand's issuer URL, e.g. `https://id.example.com/brands/acme`.
    pub issuer: String,
    /// The audiences this resource server answers to (a token must name one), or none checked
    /// at all: set by [`Self::new`] or [`Self::accepting_any_audience`], never empty by
    /// accident. Read it with [`Self::audiences`].
    audiences: Audiences,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// The brand header to require, and its name (e.g. `X-RATOR-brand-key`); `None`: not
    /// required.
    pub brand_header: Option<String>,
    /// The shortest time between two JWKS fetches caused by unknown key ids, so that garbage
    /// tokens cannot make the verifier hammer the server.
    pub min_refetch_interval: Duration,
    /// How old the cached JWKS may get before it is refreshed (so that keys published for the
    /// next rotation are known before they sign).
    pub jwks_max_age: Duration,
    /// Timeout of each request to the server (long-polls of the feed get their wait on top).
    pub http_timeout: Duration,
    /// The resource server's own client of the brand: needed for API tokens and the feed.
    pub client: Option<ClientCredentials>,
    /// Accept HTTP Basic `username:api_token` (checked through introspection), with this cache.
    pub api_tokens: Option<ApiTokenCache>,
    /// Follow the brand's revocation feed.
    pub revocation_feed: Option<RevocationFeed>,
    /// The HTTP client to use (e.g. one trusting a private certificate authority); by default
    /// one with rustls, the platform's roots, no redirects and `http_timeout`.
    pub http_client: Option<reqwest::Client>,
}

impl VerifierConfig {
    /// Defaults for `issuer`, answering to `audience`: tokens must name it in `aud` (RFC 9068
    /// §4); add more with [`Self::audience`], of which a token must name one. Also 30 s leeway,
    /// no brand header, refetch at most every 5 s on unknown key ids, refresh the JWKS every 5
    /// minutes, 10 s HTTP timeout, no API tokens, no revocation feed.
    ///
    /// An empty or blank `audience` does not mean "any": [`crate::Verifier::discover`] refuses
    /// it ([`crate::SetupError::InvalidAudience`]).
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self::with_audiences(issuer, Audiences::Required(vec![audience.into()]))
    }

    /// **Accepts access tokens issued for any audience** of the brand: `aud` is not checked.
    /// Otherwise the defaults of [`Self::new`].
    ///
    /// RFC 9068 §4 says a resource server MUST check that `aud` names it (RFC 8725 §3.9): with
    /// this configuration, a token that a client obtained for another resource server of the
    /// same brand (or that another resource server received and replays) is accepted here.
    /// Use it only for a resource server that is the brand's only one (so every token of the
    /// brand is meant for it), or in tests; [`crate::Verifier::discover`] logs a warning each
    /// time. Adding an audience with [`Self::audience`] turns the check back on.
    pub fn accepting_any_audience(issuer: impl Into<String>) -> Self {
        Self::with_audiences(issuer, Audiences::Any)
    }

    fn with_audiences(issuer: impl Into<String>, audiences: Audiences) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            audiences,
            leeway: Duration::from_secs(30),
            brand_header: None,
            min_refetch_interval: Duration::from_secs(5),
            jwks_max_age: Duration::from_secs(300),
            http_timeout: Duration::from_secs(10),
            client: None,
            api_tokens: None,
            revocation_feed: None,
            http_client: None,
        }
    }

    /// Also answers to `audience`: a token must name at least one of the configured audiences.
    /// On a config [accepting any audience](Self::accepting_any_audience), `audience` becomes
    /// the only one accepted.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        match &mut self.audiences {
            Audiences::Required(list) => list.push(audience.into()),
            Audiences::Any => self.audiences = Audiences::Required(vec![audience.into()]),
        }
        self
    }

    /// The audiences a token must name one of; `None` when this config
    /// [accepts any audience](Self::accepting_any_audience).
    pub fn audiences(&self) -> Option<&[String]> {
        match &self.audiences {
            Audiences::Required(list) => Some(list),
            Audiences::Any => None,
        }
    }

    /// Whether `aud` goes unchecked ([`Self::accepting_any_audience`]).
    pub fn accepts_any_audience(&self) -> bool {
        matches!(self.audiences, Audiences::Any)
    }

    /// Whether a token whose `aud` is `aud` is meant for this resource server.
    pub(crate) fn accepts_audience(&self, aud: &Audience) -> bool {
        let required = match &self.audiences {
            Audiences::Any => return true,
            Audiences::Required(list) => list,
        };
        match aud {
            Audience::One(a) => required.contains(a),
            Audience::Many(list) => list.iter().any(|a| required.contains(a)),
        }
    }

    /// Refuses a configuration that cannot be what was meant: an empty or blank audience.
    pub(crate) fn check(&self) -> Result<(), SetupError> {
        if let Audiences::Required(list) = &self.audiences
            && let Some(blank) = list.iter().find(|a| a.trim().is_empty())
        {
            return Err(SetupError::InvalidAudience(format!(
                "{blank:?} is blank; name the audience tokens must carry, or use VerifierConfig::accepting_any_audience"
            )));
        }
        Ok(())
    }

    /// Sets the clock-skew leeway.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires the brand header `name` to equal the token's brand.
    #[must_use]
    pub fn require_brand_header(mut self, name: impl Into<String>) -> Self {
        self.brand_header = Some(name.into());
        self
    }

    /// Sets the shortest time between refetches of the JWKS for unknown key ids.
    #[must_use]
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// Sets how old the cached JWKS may get before it is refreshed.
    #[must_use]
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Sets the timeout of each request to the server.
    #[must_use]
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Authenticates to the issuer as this client of the brand (for API tokens and the feed).
    #[must_use]
    pub fn client(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.client = Some(ClientCredentials::new(id, secret));
        self
    }

    /// Accepts HTTP Basic `username:api_token`, checked through introspection and cached as
    /// `cache` says. Needs [`Self::client`].
    #[must_use]
    pub fn api_tokens(mut self, cache: ApiTokenCache) -> Self {
        self.api_tokens = Some(cache);
        self
    }

    /// Follows the brand's revocation feed, so that revoked tokens, clients and users are
    /// refused within about a second. Needs [`Self::client`].
    #[must_use]
    pub fn revocation_feed(mut self, feed: RevocationFeed) -> Self {
        self.revocation_feed = Some(feed);
        self
    }

    /// Uses `client` for every request to the issuer.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }
}
