//! The hashes OpenID Connect and PKCE are built on: `at_hash` (OpenID Connect Core §3.1.3.6)
//! and the `S256` code challenge (RFC 7636 §4.2).

use aws_lc_rs::digest::{SHA256, SHA512, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::SigningAlgorithm;

use crate::secret::constant_time_eq;

/// The `typ` of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// The `at_hash` claim of an ID token issued with `access_token`: the left half of the hash of
/// the token's ASCII, base64url-encoded. The hash is the one of the signing algorithm: SHA-256
/// for ES256 and RS256, SHA-512 for EdDSA with Ed25519 (as relying-party libraries compute it).
pub fn at_hash(algorithm: SigningAlgorithm, access_token: &str) -> String {
    let hashed = match algorithm {
        SigningAlgorithm::ES256 | SigningAlgorithm::RS256 => digest(&SHA256, access_token.as_bytes()),
        SigningAlgorithm::EdDSA => digest(&SHA512, access_token.as_bytes()),
    };
    let bytes = hashed.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Whether `verifier` is a well-formed PKCE code verifier (RFC 7636 §4.1: 43 to 128
/// characters of `[A-Za-z0-9-._~]`).
pub fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `challenge` has the shape of an `S256` code challenge: 43 characters of unpadded
/// base64url (a SHA-256 digest).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|d| d.len() == 32)
}

/// Whether `verifier` matches the `S256` `challenge`, compared in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    is_code_verifier(verifier) & constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenges_verify_only_their_verifier() {
        // Reference value computed independently (Python's hashlib and base64).
        let verifier = "dBjftJeZ4CK-1pF4_zCwI3Dn8iZ7EvSxQ6eB1oLkmNQ";
        let challenge = "1w-VxZvLcwWjDMi6JWsIwmEmTIcfkgQdJy0FRc6XEMU";
        assert!(is_s256_challenge(challenge));
        assert!(verify_s256(verifier, challenge));
        assert!(!verify_s256("dBjftJeZ4CK-1pF4_zCwI3Dn8iZ7EvSxQ6eB1oLkmNR", challenge));
        assert!(!verify_s256("short", challenge), "a malformed verifier never matches");
        assert!(!is_s256_challenge("plain-text-challenge"));
        assert!(!is_s256_challenge(&format!("{challenge}=")), "padding is not base64url");
    }

    #[test]
    fn at_hash_uses_the_hash_of_the_algorithm() {
        // Reference values computed independently (Python's hashlib and base64).
        let token = "eyJhbGciOiJFZERTQSJ9.e30.sig";
        assert_eq!(at_hash(SigningAlgorithm::ES256, token), at_hash(SigningAlgorithm::RS256, token));
        assert_eq!(at_hash(SigningAlgorithm::ES256, token), "mBBQn8I62iG_zkAe3Lq0wA");
        assert_eq!(at_hash(SigningAlgorithm::EdDSA, token), "fhfgwXcTggosOws39-RFaDUKzQW9Y6mFjFLmKQAVg6Y");
    }
}
