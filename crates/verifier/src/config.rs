//! How a [`crate::Verifier`] is set up.

use std::time::Duration;

/// The default name of the header that carries the caller's brand.
pub const DEFAULT_BRAND_HEADER: &str = "X-Brand-Key";

/// What to verify tokens against.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The brand's issuer URL, e.g. `https://id.example.com/brands/acme`.
    pub issuer: String,
    /// Audiences this resource server answers to; a token must name one. Empty: not checked.
    pub audiences: Vec<String>,
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
    /// Timeout of each request to the server.
    pub http_timeout: Duration,
}

impl VerifierConfig {
    /// Defaults for `issuer`: no audience check, 30 s leeway, no brand header, refetch at
    /// most every 5 s on unknown key ids, refresh the JWKS every 5 minutes, 10 s HTTP timeout.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            audiences: Vec::new(),
            leeway: Duration::from_secs(30),
            brand_header: None,
            min_refetch_interval: Duration::from_secs(5),
            jwks_max_age: Duration::from_secs(300),
            http_timeout: Duration::from_secs(10),
        }
    }

    /// Requires tokens to name `audience`.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
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
}
