//! Server-generated secrets (client secrets, opaque tokens): generation, hashing, verification.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Result, random_bytes};

/// The prefix of a stored secret hash; it names the algorithm so that it can change later.
const HASH_PREFIX: &str = "sha256:";

/// A secret in clear, held only long enough to reveal it once. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct RevealedSecret(String);

impl RevealedSecret {
    /// The secret text, for the one-time reveal.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RevealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RevealedSecret([redacted])")
    }
}

/// The at-rest form of a secret: `sha256:` followed by the unpadded base64url digest.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    /// Wraps a stored hash as read from the database.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    /// The text to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// Generates a 256-bit secret written as `{prefix}_{base64url}` and its hash.
///
/// The prefix (`pcs` for client secrets) lets secret scanners and humans recognise a leaked value.
pub fn generate_secret(prefix: &str) -> Result<(RevealedSecret, SecretHash)> {
    let bytes = random_bytes::<32>()?;
    let secret = format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    Ok((RevealedSecret(secret), hash))
}

/// The SHA-256 digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Hashes a high-entropy secret for storage.
pub fn hash_secret(secret: &str) -> SecretHash {
    let d = digest(&SHA256, secret.as_bytes());
    SecretHash(format!("{HASH_PREFIX}{}", URL_SAFE_NO_PAD.encode(d.as_ref())))
}

/// Checks a presented secret against a stored hash in constant time (with respect to the
/// presented value and the stored digest). Unknown hash formats never verify.
pub fn verify_secret(presented: &str, stored: &SecretHash) -> bool {
    let Some(stored_digest) = stored.0.strip_prefix(HASH_PREFIX) else {
        return false;
    };
    let Ok(stored_digest) = URL_SAFE_NO_PAD.decode(stored_digest) else {
        return false;
    };
    let presented_digest = digest(&SHA256, presented.as_bytes());
    constant_time_eq(presented_digest.as_ref(), &stored_digest)
}

/// Compares two byte strings in time that depends on their lengths only, never on where they
/// differ: aws-lc-rs's comparison, which (unlike a fold in Rust) the optimiser cannot turn into
/// an early exit. Lengths are not secret here (digests and tokens of fixed shape).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_verify_and_are_unique() {
        let (a, hash_a) = generate_secret("pcs").expect("random");
        let (b, _) = generate_secret("pcs").expect("random");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("pcs_"));
        assert!(a.expose().len() >= 4 + 43, "256 bits in base64url is 43 characters");
        assert!(verify_secret(a.expose(), &hash_a));
        assert!(!verify_secret(b.expose(), &hash_a));
        assert!(!hash_a.as_str().contains(a.expose()));
    }

    #[test]
    fn malformed_hashes_never_verify() {
        assert!(!verify_secret("x", &SecretHash::from_stored("")));
        assert!(!verify_secret("x", &SecretHash::from_stored("md5:abc")));
        assert!(!verify_secret("x", &SecretHash::from_stored("sha256:!!!")));
    }

    #[test]
    fn debug_never_prints_secrets() {
        let (secret, hash) = generate_secret("pcs").expect("random");
        assert!(!format!("{secret:?}{hash:?}").contains(secret.expose()));
    }

    #[test]
    fn constant_time_eq_semantics() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
