//! A brand's signing keys: generated sealed, loaded unsealed and parsed once per key id.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use portcullis_core::{BrandKey, KeyId, SigningAlgorithm};
use portcullis_credentials::master::MasterKey;
use portcullis_credentials::signing::SigningKey;
use portcullis_tenancy::{BrandId, BrandScope, KeyStatus, KeyStore, NewSigningKey};

use crate::{GrantError, GrantResult};

/// Holds the master key and a cache of parsed private keys.
///
/// The cache is keyed by (brand, key id) and a key's material never changes, so a cached entry
/// is never stale: which key is *active* is read from storage on each issuance, so a rotation
/// made by another process takes effect at once.
#[derive(Clone)]
pub struct KeyRing {
    master: Arc<MasterKey>,
    parsed: Arc<RwLock<ParsedKeys>>,
}

/// Parsed private keys by brand and key id.
type ParsedKeys = HashMap<(BrandId, KeyId), Arc<SigningKey>>;

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

/// The associated data that binds a sealed key to its brand and id.
fn seal_context(brand: &BrandKey, kid: &KeyId) -> Vec<u8> {
    format!("portcullis-signing-key/{brand}/{kid}").into_bytes()
}

impl KeyRing {
    /// A key ring over `master`.
    pub fn new(master: MasterKey) -> Self {
        Self { master: Arc::new(master), parsed: Arc::default() }
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
}
