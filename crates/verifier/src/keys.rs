//! The issuer's published keys, parsed once and refetched on an unknown key id, at most every
//! `min_refetch_interval`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use tokio::sync::{Mutex, RwLock};

use crate::error::SetupError;

/// One published key, parsed once, ready to verify with.
pub(crate) struct PublishedKey {
    /// The one JWS `alg` this key verifies: the JWK's `alg`, or the only one its type allows.
    pub(crate) alg: &'static str,
    pub(crate) key: ParsedPublicKey,
}

/// The aws-lc-rs public key of `jwk` for `algorithm`; `None` when it does not parse.
pub(crate) fn parsed_key(jwk: &Jwk, algorithm: Algorithm) -> Option<ParsedPublicKey> {
    let bytes = |text: &str| URL_SAFE_NO_PAD.decode(text).ok();
    match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => ParsedPublicKey::new(&ED25519, bytes(&p.x)?).ok(),
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => {
            // An uncompressed point: 0x04 || x || y.
            let mut point = vec![4];
            point.extend(bytes(&p.x)?);
            point.extend(bytes(&p.y)?);
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).ok()
        }
        (AlgorithmParameters::RSA(p), Algorithm::RS256) => {
            let components = PublicKeyComponents { n: bytes(&p.n)?, e: bytes(&p.e)? };
            components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256).ok()
        }
        _ => None,
    }
}

/// The JWS name of the algorithms a published key may have.
pub(crate) fn alg_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::EdDSA => "EdDSA",
        Algorithm::ES256 => "ES256",
        _ => "RS256",
    }
}

/// The cache and what fills it.
pub(crate) struct KeyCache {
    http: reqwest::Client,
    jwks_uri: String,
    min_refetch_interval: Duration,
    max_age: Duration,
    timeout: Duration,
    keys: RwLock<Arc<HashMap<String, Arc<PublishedKey>>>>,
    /// When the last fetch started; serialises fetches.
    last_fetch: Mutex<Option<Instant>>,
}

/// The algorithm a JWK may verify. Portcullis publishes `alg`; for keys without one, only the
/// algorithm its type and curve allow. Symmetric keys are never accepted.
pub(crate) fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let declared = match jwk.common.key_algorithm {
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(_) => return None,
        None => None,
    };
    let allowed = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        _ => return None,
    };
    match declared {
        Some(alg) if alg != allowed => None,
        _ => Some(allowed),
    }
}

/// Parses a JWKS into usable keys by `kid`; keys without a `kid` or of unusable types are
/// skipped.
pub(crate) fn parse(set: &JwkSet) -> HashMap<String, Arc<PublishedKey>> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = algorithm_of(jwk)?;
            let key = parsed_key(jwk, algorithm)?;
            Some((kid, Arc::new(PublishedKey { alg: alg_name(algorithm), key })))
        })
        .collect()
}

impl KeyCache {
    /// Fetches the JWKS once to start with.
    pub(crate) async fn load(
        http: reqwest::Client,
        jwks_uri: String,
        min_refetch_interval: Duration,
        max_age: Duration,
        timeout: Duration,
    ) -> Result<Self, SetupError> {
        let cache = Self {
            http,
            jwks_uri,
            min_refetch_interval,
            max_age,
            timeout,
            keys: RwLock::new(Arc::new(HashMap::new())),
            last_fetch: Mutex::new(None),
        };
        let keys = cache.fetch().await?;
        *cache.keys.write().await = Arc::new(keys);
        *cache.last_fetch.lock().await = Some(Instant::now());
        Ok(cache)
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<PublishedKey>>, SetupError> {
        let failed = |reason: String| SetupError::Fetch { what: "JWKS", url: self.jwks_uri.clone(), reason };
        let response = self
            .http
            .get(&self.jwks_uri)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| failed(crate::error::describe(e)))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        let set: JwkSet =
            crate::body::json(response, crate::limits::MAX_JWKS_BODY).await.map_err(|e| failed(e.to_string()))?;
        Ok(parse(&set))
    }

    /// The key `kid`. An unknown id triggers a refetch unless one happened within the
    /// interval; concurrent callers share one refetch. `Err(())` when the refetch failed.
    pub(crate) async fn key(&self, kid: &str) -> Result<Option<Arc<PublishedKey>>, ()> {
        let known = self.keys.read().await.get(kid).cloned();
        if let Some(key) = known {
            self.refresh_if_stale().await;
            return Ok(Some(key));
        }
        let mut last = self.last_fetch.lock().await;
        // Another caller may have refetched while this one waited for the lock.
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(Some(Arc::clone(key)));
        }
        if last.is_some_and(|at| at.elapsed() < self.min_refetch_interval) {
            return Ok(None);
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                let found = keys.get(kid).cloned();
                *self.keys.write().await = Arc::new(keys);
                Ok(found)
            }
            Err(e) => {
                tracing::warn!(error = %e, "refetching the JWKS failed; keeping the known keys");
                Err(())
            }
        }
    }
}

impl KeyCache {
    /// Refetches the JWKS when it is older than `max_age`, so that a `next` key published by a
    /// rotation is known before it signs. One caller does it; the others go on with the known
    /// keys, and a failure keeps them.
    async fn refresh_if_stale(&self) {
        let Ok(mut last) = self.last_fetch.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < self.max_age) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => *self.keys.write().await = Arc::new(keys),
            Err(e) => tracing::warn!(error = %e, "refreshing the JWKS failed; keeping the known keys"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: serde_json::Value) -> Jwk {
        serde_json::from_value(json).expect("JWK")
    }

    #[test]
    fn only_the_algorithm_a_key_allows_is_accepted() {
        let ed =
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(algorithm_of(&jwk(ed.clone())), Some(Algorithm::EdDSA));
        let mut declared_wrong = ed;
        declared_wrong["alg"] = "RS256".into();
        assert_eq!(algorithm_of(&jwk(declared_wrong)), None, "a key declaring another algorithm is unusable");
        let symmetric = serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"});
        assert_eq!(algorithm_of(&jwk(symmetric)), None, "symmetric keys are never accepted");
    }
}
