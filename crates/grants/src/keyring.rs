//! A brand's signing keys: generated sealed, loaded unsealed and parsed once per key id.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use portcullis_core::{BrandKey, KeyId, SigningAlgorithm};
use portcullis_credentials::master::MasterKey;
use portcullis_credentials::signing::SigningKey;
use portcullis_tenancy::{BrandId, BrandScope, KeyStatus, KeyStore, NewSigningKey};

use crate::{GrantError, GrantResult};

/// Holds the master key and caches of parsed private and public keys.
///
/// The cache is keyed by (brand, key id) and a key's material never changes, so a cached entry
/// is never stale: which key is *active* is read from storage on each issuance, so a rotation
/// made by another process takes effect at once.
#[derive(Clone)]
pub struct KeyRing {
    master: Arc<MasterKey>,
    parsed: Arc<RwLock<ParsedKeys>>,
    public: Arc<RwLock<PublicKeys>>,
    verified: Arc<crate::verified::VerifiedTokens>,
}

/// Parsed private keys by brand and key id.
type ParsedKeys = HashMap<(BrandId, KeyId), Arc<SigningKey>>;

/// Parsed public keys by brand and key id.
type PublicKeys = HashMap<(BrandId, KeyId), Arc<VerifyingKey>>;

/// A published public key, parsed for verification.
pub struct VerifyingKey {
    /// The algorithm the key signs with; a token naming another is refused.
    pub algorithm: SigningAlgorithm,
    /// The parsed key.
    pub key: DecodingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

/// The associated data that binds a sealed key to its brand and id.
fn seal_context(brand: &BrandKey, kid: &KeyId) -> Vec<u8> {
    context_of(brand.as_str(), kid.as_str())
}

fn context_of(brand: &str, kid: &str) -> Vec<u8> {
    format!("portcullis-signing-key/{brand}/{kid}").into_bytes()
}

/// Opens a private key sealed for `brand`/`kid` under `old` and seals it under `new` (master
/// key rotation). Fails when `old` cannot open it.
pub fn reseal(old: &MasterKey, new: &MasterKey, brand: &str, kid: &str, sealed: &[u8]) -> GrantResult<Vec<u8>> {
    let context = context_of(brand, kid);
    let plain = old.open(sealed, &context)?;
    Ok(new.seal(&plain, &context)?)
}

impl KeyRing {
    /// A key ring over `master`.
    pub fn new(master: MasterKey) -> Self {
        Self { master: Arc::new(master), parsed: Arc::default(), public: Arc::default(), verified: Arc::default() }
    }

    /// The access tokens whose signature by one of these keys was checked already.
    pub(crate) fn verified(&self) -> &crate::verified::VerifiedTokens {
        &self.verified
    }

    /// Generates a key for `brand`, sealed and ready to store with `status`.
    pub fn generate(
        &self,
        brand: &BrandKey,
        algorithm: SigningAlgorithm,
        status: KeyStatus,
    ) -> GrantResult<NewSigningKey> {
        let generated = SigningKey::generate(algorithm)?;
        let kid = generated.key.kid().clone();
        let sealed = self.master.seal(generated.pkcs8.as_bytes(), &seal_context(brand, &kid))?;
        let public_jwk = serde_json::to_string(generated.key.public_jwk())
            .map_err(|e| GrantError::Misconfigured(format!("cannot serialise JWK: {e}")))?;
        Ok(NewSigningKey { kid, algorithm, status, sealed_private_key: sealed, public_jwk })
    }

    /// The brand's active signing key, parsed.
    pub async fn active<S: KeyStore>(&self, store: &S, scope: &BrandScope) -> GrantResult<Arc<SigningKey>> {
        let stored = store
            .active_key(scope)
            .await?
            .ok_or_else(|| GrantError::Misconfigured(format!("brand '{}' has no active signing key", scope.key())))?;
        let cache_key = (scope.brand_id(), stored.kid.clone());
        if let Some(key) = self.parsed.read().ok().and_then(|m| m.get(&cache_key).cloned()) {
            return Ok(key);
        }
        let pkcs8 = self.master.open(&stored.sealed_private_key, &seal_context(scope.key(), &stored.kid))?;
        let key = Arc::new(SigningKey::from_pkcs8(stored.algorithm, &stored.kid, &pkcs8)?);
        if let Ok(mut map) = self.parsed.write() {
            map.insert(cache_key, Arc::clone(&key));
        }
        Ok(key)
    }

    /// The brand's key `kid` for verification, if it is published at `now` (next, active, or
    /// retired within its window). Anything else, including a kid of another brand, is `None`.
    pub async fn verifying<S: KeyStore>(
        &self,
        store: &S,
        scope: &BrandScope,
        kid: &str,
        now: i64,
    ) -> GrantResult<Option<Arc<VerifyingKey>>> {
        let Some(stored) = store.published_keys(scope, now).await?.into_iter().find(|k| k.kid.as_str() == kid) else {
            return Ok(None);
        };
        let cache_key = (scope.brand_id(), stored.kid.clone());
        if let Some(key) = self.public.read().ok().and_then(|m| m.get(&cache_key).cloned()) {
            return Ok(Some(key));
        }
        let jwk: Jwk = serde_json::from_str(&stored.public_jwk)
            .map_err(|e| GrantError::Misconfigured(format!("stored JWK of key {kid} does not parse: {e}")))?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|e| GrantError::Misconfigured(format!("stored JWK of key {kid} is unusable: {e}")))?;
        let key = Arc::new(VerifyingKey { algorithm: stored.algorithm, key });
        if let Ok(mut map) = self.public.write() {
            map.insert(cache_key, Arc::clone(&key));
        }
        Ok(Some(key))
    }
}
