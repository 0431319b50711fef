//! [`Verifier`]: discovery, then RFC 9068 checks of each token.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use openidconnect::{IssuerUrl, JsonWebKeySetUrl};
use portcullis_core::AccessTokenClaims;
use serde::Deserialize;

use crate::config::VerifierConfig;
use crate::error::{SetupError, VerifyError};
use crate::keys::KeyCache;

/// The `typ` of RFC 9068 access tokens.
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The part of the discovery document the verifier needs, with `openidconnect`'s URL types.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: IssuerUrl,
    jwks_uri: JsonWebKeySetUrl,
}

/// A verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Its claims.
    pub claims: AccessTokenClaims,
}

impl Verified {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claims.scope.split(' ').any(|s| s == scope)
    }

    /// `Ok` when the token grants every scope of `required`, else
    /// [`VerifyError::InsufficientScope`] naming them.
    pub fn require_scopes(&self, required: &[&str]) -> Result<(), VerifyError> {
        if required.iter().all(|s| self.has_scope(s)) {
            return Ok(());
        }
        Err(VerifyError::InsufficientScope { required: required.join(" ") })
    }
}

/// Verifies a brand's access tokens. Cheap to clone; share one per issuer.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: VerifierConfig,
    brand: String,
    keys: KeyCache,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("issuer", &self.inner.config.issuer).finish_non_exhaustive()
    }
}

/// The brand key at the end of an issuer URL (`…/brands/{key}`).
fn brand_of(issuer: &str) -> Result<String, SetupError> {
    let url = url::Url::parse(issuer).map_err(|e| SetupError::InvalidIssuer(format!("{issuer}: {e}")))?;
    match url.scheme() {
        "http" => {}
        // Unfinished (issue 6): reqwest's rustls support needs a crypto provider chosen for the
        // whole process; until that is settled, this step speaks plain HTTP only.
        "https" => {
            return Err(SetupError::InvalidIssuer(format!(
                "{issuer}: https issuers are not supported by this version of the verifier yet"
            )));
        }
        _ => return Err(SetupError::InvalidIssuer(format!("{issuer}: not an http(s) URL"))),
    }
    let mut segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
    segments.retain(|s| !s.is_empty());
    match segments.as_slice() {
        [.., "brands", key] => Ok((*key).to_owned()),
        _ => Err(SetupError::InvalidIssuer(format!("{issuer}: expected …/brands/{{brand_key}}"))),
    }
}

impl Verifier {
    /// Reads the issuer's discovery document and JWKS.
    pub async fn discover(config: VerifierConfig) -> Result<Self, SetupError> {
        let brand = brand_of(&config.issuer)?;
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SetupError::Fetch { what: "HTTP client", url: String::new(), reason: e.to_string() })?;
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let failed = |reason: String| SetupError::Fetch { what: "discovery document", url: url.clone(), reason };
        let response = http.get(&url).send().await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        let discovery: Discovery = response.json().await.map_err(|e| failed(e.to_string()))?;
        if discovery.issuer.as_str().trim_end_matches('/') != config.issuer {
            return Err(SetupError::IssuerMismatch {
                expected: config.issuer.clone(),
                found: discovery.issuer.to_string(),
            });
        }
        let keys =
            KeyCache::load(http, discovery.jwks_uri.to_string(), config.min_refetch_interval, config.jwks_max_age)
                .await?;
        Ok(Self { inner: Arc::new(Inner { config, brand, keys }) })
    }

    /// The brand key of the issuer.
    pub fn brand(&self) -> &str {
        &self.inner.brand
    }

    /// The brand header this verifier requires, if any.
    pub fn brand_header(&self) -> Option<&str> {
        self.inner.config.brand_header.as_deref()
    }

    /// Verifies `token`: signature by a published key of the issuer with the algorithm that key
    /// declares, `typ`, `iss`, `aud` (when configured), `exp`/`nbf` with the leeway, `brand`.
    pub async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let typ_ok = header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt"));
        if !typ_ok {
            return Err(VerifyError::WrongType);
        }
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let key = match self.inner.keys.key(kid).await {
            Ok(Some(key)) => key,
            Ok(None) => return Err(VerifyError::UnknownKey),
            Err(()) => return Err(VerifyError::Unavailable),
        };
        if header.alg != key.algorithm {
            return Err(VerifyError::WrongAlgorithm);
        }
        let config = &self.inner.config;
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        if config.audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&config.audiences);
        }
        let claims = decode::<AccessTokenClaims>(token, &key.key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => VerifyError::BadSignature,
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
                ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
                ErrorKind::InvalidAudience => VerifyError::WrongAudience,
                ErrorKind::InvalidAlgorithm => VerifyError::WrongAlgorithm,
                _ => VerifyError::Malformed,
            })?
            .claims;
        if claims.brand != self.inner.brand {
            return Err(VerifyError::WrongBrand);
        }
        Ok(Verified { claims })
    }

    /// Checks the request's brand header (when this verifier requires one) against the
    /// token's brand.
    pub fn check_brand_header(&self, verified: &Verified, header: Option<&str>) -> Result<(), VerifyError> {
        if self.inner.config.brand_header.is_none() {
            return Ok(());
        }
        match header {
            Some(value) if value.trim() == verified.claims.brand => Ok(()),
            _ => Err(VerifyError::BrandHeaderMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brand_comes_from_the_issuer_path() {
        assert_eq!(brand_of("http://id.example.com/brands/acme").ok(), Some("acme".into()));
        assert!(brand_of("https://id.example.com/brands/acme").is_err(), "no TLS support yet");
        assert_eq!(brand_of("http://127.0.0.1:8080/prefix/brands/a.b-c/").ok(), Some("a.b-c".into()));
        assert!(brand_of("https://id.example.com/").is_err());
        assert!(brand_of("ftp://id.example.com/brands/x").is_err());
        assert!(brand_of("not a url").is_err());
    }
}
