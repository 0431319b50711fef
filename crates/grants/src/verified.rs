//! Access tokens whose signature this process has already checked.
//!
//! Resource servers introspect the same token many times during its life, and the signature
//! check is most of an introspection's work (an Ed25519 verification is ~30 µs; everything
//! else, the database lookup included, is less). Whether a given string carries a valid
//! signature by a given key never changes, so it is checked once: a token that verified is
//! remembered by its SHA-256 digest, with the brand, the key id and its claims. What can
//! change is checked on every use as before: the key must still be published
//! ([`crate::keyring::KeyRing::verifying`], so a withdrawn key's tokens are refused at once),
//! the token unexpired, and its record live. Only tokens that verified are remembered, so a
//! client cannot fill the memory with forgeries; the memory is bounded ([`CAPACITY`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use portcullis_core::AccessTokenClaims;
use portcullis_credentials::secret::sha256;
use portcullis_tenancy::BrandId;

/// Most tokens remembered, in two generations of half as many each.
pub(crate) const CAPACITY: usize = 4_096;

/// What a verified token was verified as.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The key id of the signature.
    pub(crate) kid: String,
    /// Its claims.
    pub(crate) claims: AccessTokenClaims,
}

type Key = (BrandId, [u8; 32]);

/// A bounded memory of verified tokens: new entries go to the young generation; when it is
/// full it becomes the old one (the previous old one is forgotten), and an entry found in the
/// old generation moves back to the young one. So recently used tokens stay, at a cost of one
/// hash lookup or two.
#[derive(Debug, Default)]
pub(crate) struct VerifiedTokens {
    generations: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    young: HashMap<Key, Verified>,
    old: HashMap<Key, Verified>,
}

impl Generations {
    fn insert(&mut self, key: Key, verified: Verified) {
        if self.young.len() >= CAPACITY / 2 {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, verified);
    }
}

/// The memory's key for `token` at `brand`.
pub(crate) fn key_of(brand: BrandId, token: &str) -> Key {
    (brand, sha256(token.as_bytes()))
}

impl VerifiedTokens {
    /// What `key`'s token verified as, if it did.
    pub(crate) fn get(&self, key: &Key) -> Option<Verified> {
        let mut generations = self.generations.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = generations.young.get(key) {
            return Some(found.clone());
        }
        let found = generations.old.remove(key)?;
        generations.insert(*key, found.clone());
        Some(found)
    }

    /// Remembers that `key`'s token verified as `verified`.
    pub(crate) fn insert(&self, key: Key, verified: Verified) {
        self.generations.lock().unwrap_or_else(PoisonError::into_inner).insert(key, verified);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let generations = self.generations.lock().unwrap_or_else(PoisonError::into_inner);
        generations.young.len() + generations.old.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use portcullis_core::{ActType, Audience};

    use super::*;

    fn verified(jti: &str) -> Verified {
        Verified {
            kid: "k1".into(),
            claims: AccessTokenClaims {
                iss: "https://issuer".into(),
                sub: "s".into(),
                aud: Audience::from_list(Vec::new()),
                exp: 2,
                iat: 1,
                jti: jti.into(),
                client_id: "c".into(),
                scope: "read".into(),
                brand: "acme".into(),
                act_type: ActType::Client,
            },
        }
    }

    #[test]
    fn a_token_is_remembered_for_its_brand_only() {
        let memory = VerifiedTokens::default();
        memory.insert(key_of(BrandId(1), "token"), verified("j1"));
        assert_eq!(memory.get(&key_of(BrandId(1), "token")).unwrap().claims.jti, "j1");
        assert!(memory.get(&key_of(BrandId(2), "token")).is_none(), "another brand");
        assert!(memory.get(&key_of(BrandId(1), "token2")).is_none(), "another token");
    }

    #[test]
    fn memory_is_bounded_and_keeps_what_is_used() {
        let memory = VerifiedTokens::default();
        memory.insert(key_of(BrandId(1), "kept"), verified("kept"));
        for i in 0..3 * CAPACITY {
            memory.insert(key_of(BrandId(1), &i.to_string()), verified("x"));
            // A token in use is looked up now and then: it survives every generation change.
            if i % 1_000 == 0 {
                assert!(memory.get(&key_of(BrandId(1), "kept")).is_some(), "after {i} others");
            }
            assert!(memory.len() <= CAPACITY);
        }
        assert!(memory.get(&key_of(BrandId(1), "0")).is_none(), "the oldest are forgotten");
    }
}
