//! Credentials: everything secret that Portcullis makes, keeps or checks.
//!
//! * [`secret`]: server-generated client secrets and opaque tokens (256 bits from the system
//!   CSPRNG), stored as SHA-256 digests and compared in constant time. These are high-entropy
//!   values, so a fast hash is the right tool; Argon2id is reserved for human passwords.
//! * [`password`]: Argon2id hashes of human passwords (OWASP parameters).
//! * [`master`]: the platform master key that encrypts signing keys at rest (AES-256-GCM,
//!   bound to the key's brand and id as associated data).
//! * [`signing`]: per-brand signing keys (Ed25519, ECDSA P-256, RSA-2048) parsed once and kept
//!   ready to sign, their public JWKs and RFC 7638 thumbprint key ids.
//! * [`jwt`]: JWS compact serialisation of claims with a [`signing::SigningKey`].
//! * [`oidc`]: the `at_hash` of ID tokens and PKCE's `S256` challenge.
//!
//! All primitives come from `aws-lc-rs`, the same backend `jsonwebtoken` uses for verification.

pub mod jwt;
pub mod master;
pub mod oidc;
pub mod password;
pub mod secret;
pub mod signing;

/// Errors of this crate. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The system random generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A master key of the wrong length or encoding was supplied.
    #[error("the master key must be 32 bytes, base64-encoded: {0}")]
    MasterKeyFormat(String),
    /// Sealed data could not be decrypted: wrong master key or tampered ciphertext.
    #[error("decryption failed: wrong master key or corrupted data")]
    Decrypt,
    /// Key generation or parsing failed.
    #[error("signing key error: {0}")]
    Key(String),
    /// Password hashing failed.
    #[error("password hashing failed")]
    PasswordHash,
    /// Signing failed.
    #[error("signing failed")]
    Sign,
    /// Claims or header could not be serialised.
    #[error("could not serialise the token: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Result alias of this crate.
pub type Result<T, E = CredentialError> = std::result::Result<T, E>;

/// Fills a fresh buffer of `N` bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| CredentialError::Random)?;
    Ok(buf)
}
