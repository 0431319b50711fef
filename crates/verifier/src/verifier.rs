//! [`Verifier`]: discovery, then RFC 9068 checks of each access token, HTTP Basic API tokens,
//! and the revocation feed.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openidconnect::{IntrospectionUrl, IssuerUrl, JsonWebKeySetUrl, TokenUrl};
use portcullis_core::{AccessTokenClaims, ActType};
use serde::Deserialize;

use crate::api_tokens::{ApiTokenIdentity, ApiTokens};
use crate::config::VerifierConfig;
use crate::error::{SetupError, VerifyError};
use crate::keys::{KeyCache, PublishedKey};
use crate::limits::{self, MAX_BASIC_CREDENTIALS, MAX_TOKEN_LENGTH, MAX_USERNAME_LENGTH};
use crate::revocations::{self, Follower, Forget};
use crate::{body, jws};

/// The `typ` of RFC 9068 access tokens.
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The optional `nbf` claim (Portcullis issues none; other issuers' tokens may carry one).
#[derive(Debug, Deserialize)]
struct NotBefore {
    #[serde(default)]
    nbf: Option<i64>,
}

/// The part of the discovery document the verifier needs, with `openidconnect`'s URL types.
#[derive(Debug, Deserialize)]
pub(crate) struct Discovery {
    pub(crate) issuer: IssuerUrl,
    pub(crate) jwks_uri: JsonWebKeySetUrl,
    #[cfg_attr(not(feature = "client"), allow(dead_code, reason = "read by the token source"))]
    pub(crate) token_endpoint: Option<TokenUrl>,
    pub(crate) introspection_endpoint: Option<IntrospectionUrl>,
}

/// Fetches and checks the discovery document of `issuer`.
pub(crate) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
    timeout: std::time::Duration,
) -> Result<Discovery, SetupError> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let failed = |reason: String| SetupError::Fetch { what: "discovery document", url: url.clone(), reason };
    let response = http.get(&url).timeout(timeout).send().await.map_err(|e| failed(crate::error::describe(e)))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    let discovery: Discovery =
        body::json(response, limits::MAX_DISCOVERY_BODY).await.map_err(|e| failed(e.to_string()))?;
    if discovery.issuer.as_str().trim_end_matches('/') != issuer {
        return Err(SetupError::IssuerMismatch { expected: issuer.to_owned(), found: discovery.issuer.to_string() });
    }
    Ok(discovery)
}

/// The default HTTP client: rustls (aws-lc-rs, the platform's trust roots), no redirects.
pub(crate) fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, SetupError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SetupError::Fetch { what: "HTTP client", url: String::new(), reason: e.to_string() })
}

/// Who a verified request acts for: an access token's claims, or a user's API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// A verified RFC 9068 access token (Bearer).
    AccessToken(AccessTokenClaims),
    /// A user's API token (HTTP Basic `username:api_token`), confirmed by introspection.
    ApiToken(ApiTokenIdentity),
}

impl Verified {
    /// The subject: the client id (client_credentials) or the user's or operator's id.
    pub fn sub(&self) -> &str {
        match self {
            Self::AccessToken(c) => &c.sub,
            Self::ApiToken(i) => &i.sub,
        }
    }

    /// The brand key.
    pub fn brand(&self) -> &str {
        match self {
            Self::AccessToken(c) => &c.brand,
            Self::ApiToken(i) => &i.brand,
        }
    }

    /// Granted scopes, space-delimited (an API token grants its user's permissions).
    pub fn scope(&self) -> &str {
        match self {
            Self::AccessToken(c) => &c.scope,
            Self::ApiToken(i) => &i.scope,
        }
    }

    /// Who the credential acts for (`user` for API tokens).
    pub fn act_type(&self) -> ActType {
        match self {
            Self::AccessToken(c) => c.act_type,
            Self::ApiToken(_) => ActType::User,
        }
    }

    /// The access token's claims; `None` for API tokens.
    pub fn claims(&self) -> Option<&AccessTokenClaims> {
        match self {
            Self::AccessToken(c) => Some(c),
            Self::ApiToken(_) => None,
        }
    }

    /// Whether the credential grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope().split(' ').any(|s| s == scope)
    }

    /// `Ok` when the credential grants every scope of `required`, else
    /// [`VerifyError::InsufficientScope`] naming them.
    pub fn require_scopes(&self, required: &[&str]) -> Result<(), VerifyError> {
        if required.iter().all(|s| self.has_scope(s)) {
            return Ok(());
        }
        Err(VerifyError::InsufficientScope { required: required.join(" ") })
    }
}

/// Verifies a brand's access tokens (and API tokens, when configured). Cheap to clone; share
/// one per issuer. Dropping the last clone stops its revocation-feed follower.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: VerifierConfig,
    brand: String,
    keys: KeyCache,
    api_tokens: Option<Arc<ApiTokens>>,
    feed: Option<Follower>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.config.issuer)
            .field("audiences", &self.inner.config.audiences())
            .field("api_tokens", &self.inner.api_tokens.is_some())
            .field("revocation_feed", &self.inner.feed.is_some())
            .finish_non_exhaustive()
    }
}

/// The brand key at the end of an issuer URL (`…/brands/{key}`).
fn brand_of(issuer: &str) -> Result<String, SetupError> {
    let url = url::Url::parse(issuer).map_err(|e| SetupError::InvalidIssuer(format!("{issuer}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SetupError::InvalidIssuer(format!("{issuer}: not an http(s) URL")));
    }
    let mut segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
    segments.retain(|s| !s.is_empty());
    match segments.as_slice() {
        [.., "brands", key] => Ok((*key).to_owned()),
        _ => Err(SetupError::InvalidIssuer(format!("{issuer}: expected …/brands/{{brand_key}}"))),
    }
}

/// The username and password of an HTTP Basic header value's credentials (after `Basic `).
/// Anything undecodable is refused like wrong credentials, with the Basic challenge.
fn basic_credentials(encoded: &str) -> Result<(String, String), VerifyError> {
    let bytes = STANDARD.decode(encoded.trim()).map_err(|_| VerifyError::BadApiToken)?;
    let text = String::from_utf8(bytes).map_err(|_| VerifyError::BadApiToken)?;
    let (username, password) = text.split_once(':').ok_or(VerifyError::BadApiToken)?;
    if username.is_empty() || password.is_empty() {
        return Err(VerifyError::BadApiToken);
    }
    Ok((username.to_owned(), password.to_owned()))
}

/// RFC 9068 §4 and RFC 8725 claim checks of a token of `brand`, at `now` with the leeway.
fn check_claims(
    config: &VerifierConfig,
    brand: &str,
    claims: &AccessTokenClaims,
    nbf: Option<i64>,
    now: i64,
) -> Result<(), VerifyError> {
    let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX / 4);
    if claims.exp.saturating_add(leeway) < now {
        return Err(VerifyError::Expired);
    }
    if nbf.is_some_and(|nbf| nbf.saturating_sub(leeway) > now) {
        return Err(VerifyError::NotYetValid);
    }
    if claims.iss != config.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if !config.accepts_audience(&claims.aud) {
        return Err(VerifyError::WrongAudience);
    }
    if claims.brand != brand {
        return Err(VerifyError::WrongBrand);
    }
    Ok(())
}

/// The key id of an access token, once its header says it is one (`typ`, RFC 9068 §2.1).
pub(crate) fn access_token_kid<'a>(jws: &'a jws::Jws<'_>) -> Result<&'a str, VerifyError> {
    let typ_ok = jws
        .header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt"));
    if !typ_ok {
        return Err(VerifyError::WrongType);
    }
    jws.header.kid.as_deref().ok_or(VerifyError::UnknownKey)
}

/// Everything after the key lookup: the algorithm must be the key's, the signature must verify,
/// then the claims are read and checked at `now`.
pub(crate) fn check_signed(
    jws: &jws::Jws<'_>,
    key: &PublishedKey,
    config: &VerifierConfig,
    brand: &str,
    now: i64,
) -> Result<AccessTokenClaims, VerifyError> {
    // Exactly the key's own algorithm: `none`, HMAC or another curve never reach a check.
    if jws.header.alg != key.alg {
        return Err(VerifyError::WrongAlgorithm);
    }
    jws.check_signature(&key.key)?;
    let payload = jws.payload()?;
    let claims: AccessTokenClaims = serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
    let NotBefore { nbf } = serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
    check_claims(config, brand, &claims, nbf, now)?;
    Ok(claims)
}

impl Verifier {
    /// Reads the issuer's discovery document and JWKS; with a revocation feed configured,
    /// reads the feed's backlog and starts following it (on the current tokio runtime).
    ///
    /// Refuses a blank audience ([`SetupError::InvalidAudience`]); logs a warning when the
    /// config [accepts any audience](VerifierConfig::accepting_any_audience).
    pub async fn discover(config: VerifierConfig) -> Result<Self, SetupError> {
        let brand = brand_of(&config.issuer)?;
        config.check()?;
        if config.accepts_any_audience() {
            tracing::warn!(
                issuer = %config.issuer,
                "this verifier accepts access tokens issued for any audience of the brand (aud is not checked; \
                 RFC 9068 §4 requires it): tokens meant for other resource servers are accepted too. Name this \
                 resource server's audience with VerifierConfig::new(issuer, audience) unless it is the brand's only one"
            );
        }
        let http = match &config.http_client {
            Some(client) => client.clone(),
            None => http_client(config.http_timeout)?,
        };
        let discovery = discover(&http, &config.issuer, config.http_timeout).await?;
        let keys = KeyCache::load(
            http.clone(),
            discovery.jwks_uri.to_string(),
            config.min_refetch_interval,
            config.jwks_max_age,
            config.http_timeout,
        )
        .await?;
        let api_tokens = match config.api_tokens {
            None => None,
            Some(settings) => {
                let client = config.client.clone().ok_or(SetupError::MissingClient("API tokens"))?;
                let endpoint = discovery.introspection_endpoint.ok_or(SetupError::NoIntrospection)?;
                let endpoint = endpoint.to_string();
                let timeout = config.http_timeout;
                Some(Arc::new(ApiTokens::new(http.clone(), endpoint, client, brand.clone(), settings, timeout)))
            }
        };
        let feed = match config.revocation_feed {
            None => None,
            Some(feed) => {
                let client = config.client.clone().ok_or(SetupError::MissingClient("the revocation feed"))?;
                let forget =
                    api_tokens.clone().map(|tokens| -> Forget { Arc::new(move |sub| tokens.forget_user(sub)) });
                let timing = revocations::Timing { http_timeout: config.http_timeout, leeway: config.leeway };
                Some(revocations::follow(http, &config.issuer, client, feed, timing, forget).await?)
            }
        };
        Ok(Self { inner: Arc::new(Inner { config, brand, keys, api_tokens, feed }) })
    }

    /// The brand key of the issuer.
    pub fn brand(&self) -> &str {
        &self.inner.brand
    }

    /// The brand header this verifier requires, if any.
    pub fn brand_header(&self) -> Option<&str> {
        self.inner.config.brand_header.as_deref()
    }

    /// Whether HTTP Basic API tokens are accepted.
    pub fn accepts_api_tokens(&self) -> bool {
        self.inner.api_tokens.is_some()
    }

    /// Verifies an `Authorization` header value: `Bearer <access token>`, or `Basic …` with a
    /// user's `username:api_token` when API tokens are accepted. `None` (no header) is
    /// [`VerifyError::Missing`].
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Verified, VerifyError> {
        let header = authorization.ok_or(VerifyError::Missing)?;
        let (scheme, rest) = header.trim().split_once(' ').ok_or(VerifyError::Missing)?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return self.verify(rest).await;
        }
        if scheme.eq_ignore_ascii_case("basic") && self.accepts_api_tokens() {
            if rest.len() > MAX_BASIC_CREDENTIALS {
                return Err(VerifyError::TooLong);
            }
            let (username, token) = basic_credentials(rest)?;
            return self.verify_api_token(&username, &token).await;
        }
        Err(VerifyError::Missing)
    }

    /// Verifies an access token: signature by a published key of the issuer with the algorithm
    /// that key declares, `typ`, `iss`, `aud` (one of the configured audiences, unless the config
    /// [accepts any](VerifierConfig::accepting_any_audience)), `exp`/`nbf` with the leeway,
    /// `brand`; and, when the feed is followed, that it has not been revoked.
    ///
    /// A token longer than [`MAX_TOKEN_LENGTH`] is refused ([`VerifyError::TooLong`]) before
    /// it is parsed.
    pub async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(VerifyError::TooLong);
        }
        let claims = self.verify_signed(token).await?;
        self.check_feed_available()?;
        if self.inner.feed.as_ref().is_some_and(|feed| feed.state.refuses(&claims)) {
            return Err(VerifyError::Revoked);
        }
        Ok(Verified::AccessToken(claims))
    }

    /// Verifies a user's API token through introspection (cached). Refused with
    /// [`VerifyError::BadApiToken`] unless it is the live API token of `username` at this
    /// brand; [`VerifyError::Missing`] when this verifier does not accept API tokens;
    /// [`VerifyError::TooLong`], without asking the issuer, when `token` is longer than
    /// [`MAX_TOKEN_LENGTH`] or `username` than [`MAX_USERNAME_LENGTH`].
    pub async fn verify_api_token(&self, username: &str, token: &str) -> Result<Verified, VerifyError> {
        let tokens = self.inner.api_tokens.as_ref().ok_or(VerifyError::Missing)?;
        if token.len() > MAX_TOKEN_LENGTH || username.len() > MAX_USERNAME_LENGTH {
            return Err(VerifyError::TooLong);
        }
        self.check_feed_available()?;
        Ok(Verified::ApiToken(tokens.check(username, token).await?))
    }

    /// [`VerifyError::Unavailable`] while a feed configured to fail closed has been down for
    /// longer than its grace period.
    fn check_feed_available(&self) -> Result<(), VerifyError> {
        match &self.inner.feed {
            Some(feed) if feed.state.failed_closed() => Err(VerifyError::Unavailable),
            _ => Ok(()),
        }
    }

    async fn verify_signed(&self, token: &str) -> Result<AccessTokenClaims, VerifyError> {
        let jws = jws::parse(token)?;
        let kid = access_token_kid(&jws)?;
        let key = match self.inner.keys.key(kid).await {
            Ok(Some(key)) => key,
            Ok(None) => return Err(VerifyError::UnknownKey),
            Err(()) => return Err(VerifyError::Unavailable),
        };
        check_signed(&jws, &key, &self.inner.config, &self.inner.brand, revocations::unix_now())
    }

    /// Checks the request's brand header (when this verifier requires one) against the
    /// credential's brand.
    pub fn check_brand_header(&self, verified: &Verified, header: Option<&str>) -> Result<(), VerifyError> {
        if self.inner.config.brand_header.is_none() {
            return Ok(());
        }
        match header {
            Some(value) if value.trim() == verified.brand() => Ok(()),
            _ => Err(VerifyError::BrandHeaderMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use portcullis_core::Audience;

    use super::*;

    #[test]
    fn the_brand_comes_from_the_issuer_path() {
        assert_eq!(brand_of("http://id.example.com/brands/acme").ok(), Some("acme".into()));
        assert_eq!(brand_of("https://id.example.com/brands/acme").ok(), Some("acme".into()));
        assert_eq!(brand_of("http://127.0.0.1:8080/prefix/brands/a.b-c/").ok(), Some("a.b-c".into()));
        assert!(brand_of("https://id.example.com/").is_err());
        assert!(brand_of("ftp://id.example.com/brands/x").is_err());
        assert!(brand_of("not a url").is_err());
    }

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "http://id/brands/acme".into(),
            sub: "c1".into(),
            aud: Audience::Many(vec!["https://a".into(), "https://b".into()]),
            exp: 1000,
            iat: 900,
            jti: "j1".into(),
            client_id: "c1".into(),
            scope: "read".into(),
            brand: "acme".into(),
            act_type: ActType::Client,
        }
    }

    #[test]
    fn claims_are_checked_with_the_leeway() {
        let config =
            VerifierConfig::new("http://id/brands/acme", "https://a").leeway(std::time::Duration::from_secs(30));
        let check = |c: &AccessTokenClaims, nbf, now| check_claims(&config, "acme", c, nbf, now);
        assert_eq!(check(&claims(), None, 1000), Ok(()));
        assert_eq!(check(&claims(), None, 1030), Ok(()), "within the leeway after exp");
        assert_eq!(check(&claims(), None, 1031), Err(VerifyError::Expired));
        assert_eq!(check(&claims(), Some(960), 930), Ok(()), "nbf within the leeway");
        assert_eq!(check(&claims(), Some(961), 930), Err(VerifyError::NotYetValid));
        let other_issuer = AccessTokenClaims { iss: "http://id/brands/globex".into(), ..claims() };
        assert_eq!(check(&other_issuer, None, 950), Err(VerifyError::WrongIssuer));
        let other_brand = AccessTokenClaims { brand: "globex".into(), ..claims() };
        assert_eq!(check(&other_brand, None, 950), Err(VerifyError::WrongBrand));
    }

    #[test]
    fn one_named_audience_is_enough() {
        let wants_b = VerifierConfig::new("http://id/brands/acme", "https://b");
        assert_eq!(check_claims(&wants_b, "acme", &claims(), None, 950), Ok(()));
        let single = AccessTokenClaims { aud: Audience::One("https://b".into()), ..claims() };
        assert_eq!(check_claims(&wants_b, "acme", &single, None, 950), Ok(()));
        let wants_c = VerifierConfig::new("http://id/brands/acme", "https://c");
        assert_eq!(check_claims(&wants_c, "acme", &claims(), None, 950), Err(VerifyError::WrongAudience));
        let wants_c_or_b = wants_c.audience("https://b");
        assert_eq!(wants_c_or_b.audiences(), Some(&["https://c".to_owned(), "https://b".to_owned()][..]));
        assert_eq!(check_claims(&wants_c_or_b, "acme", &single, None, 950), Ok(()), "any configured one");
    }

    /// F5: the audience is part of construction; only the explicit opt-out skips the check.
    #[test]
    fn the_audience_is_checked_unless_explicitly_waived() {
        let only_b = AccessTokenClaims { aud: Audience::One("https://b".into()), ..claims() };
        let only_b_list = AccessTokenClaims { aud: Audience::Many(vec!["https://b".into()]), ..claims() };
        let wants_a = VerifierConfig::new("http://id/brands/acme", "https://a");
        assert_eq!(wants_a.audiences(), Some(&["https://a".to_owned()][..]));
        assert!(!wants_a.accepts_any_audience());
        for token in [&only_b, &only_b_list] {
            assert_eq!(check_claims(&wants_a, "acme", token, None, 950), Err(VerifyError::WrongAudience));
        }
        let any = VerifierConfig::accepting_any_audience("http://id/brands/acme");
        assert!(any.accepts_any_audience() && any.audiences().is_none());
        for token in [&only_b, &only_b_list] {
            assert_eq!(check_claims(&any, "acme", token, None, 950), Ok(()));
        }
        // Naming an audience on the opt-out turns the check back on, for that audience only.
        let narrowed = any.audience("https://a");
        assert!(!narrowed.accepts_any_audience());
        assert_eq!(check_claims(&narrowed, "acme", &only_b, None, 950), Err(VerifyError::WrongAudience));
    }

    /// A blank audience is refused before anything is fetched: it never means "any".
    #[tokio::test]
    async fn a_blank_audience_is_refused_at_discovery() {
        // Nothing listens on port 9 of the loopback; the audience is refused before any request.
        let issuer = "http://127.0.0.1:9/brands/acme";
        for config in [
            VerifierConfig::new(issuer, ""),
            VerifierConfig::new(issuer, "  "),
            VerifierConfig::new(issuer, "https://a").audience(" \t"),
            VerifierConfig::accepting_any_audience(issuer).audience(""),
        ] {
            match Verifier::discover(config).await {
                Err(SetupError::InvalidAudience(reason)) => assert!(reason.contains("blank"), "{reason}"),
                other => panic!("expected InvalidAudience, got {other:?}"),
            }
        }
        // The check itself, without discovery.
        assert!(VerifierConfig::new(issuer, "https://a").check().is_ok());
        assert!(VerifierConfig::accepting_any_audience(issuer).check().is_ok());
    }

    #[test]
    fn basic_credentials_are_decoded_or_refused() {
        let encode = |s: &str| STANDARD.encode(s);
        assert_eq!(basic_credentials(&encode("alice:pca_x")), Ok(("alice".into(), "pca_x".into())));
        assert_eq!(basic_credentials(&encode("alice:pca:x")), Ok(("alice".into(), "pca:x".into())));
        assert_eq!(basic_credentials("%%%"), Err(VerifyError::BadApiToken), "bad base64");
        assert_eq!(basic_credentials(&STANDARD.encode([0xff, b':', b'x'])), Err(VerifyError::BadApiToken));
        assert_eq!(basic_credentials(&encode("no-colon")), Err(VerifyError::BadApiToken));
        assert_eq!(basic_credentials(&encode(":pca_x")), Err(VerifyError::BadApiToken));
        assert_eq!(basic_credentials(&encode("alice:")), Err(VerifyError::BadApiToken));
    }
}
