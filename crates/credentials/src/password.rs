//! Human passwords: Argon2id with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane),
//! stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
//!
//! Hashing is deliberately slow (tens of milliseconds): call these functions from a blocking
//! thread, never on an async runtime's worker.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};

use crate::{CredentialError, Result, random_bytes};

/// A PHC hash of a password that never verifies anything: checked when a username is unknown,
/// so that unknown users cost the same time as wrong passwords.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$qBQ9Xwd+DJhBn7bLFKNh8BPxVJaGA2wvXTv5EuPmdHc";

/// Hashes `password` with a fresh 128-bit salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = random_bytes::<16>()?;
    let hash: PasswordHash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|_| CredentialError::PasswordHash)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. Malformed hashes never verify.
pub fn verify_password(password: &str, stored: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), stored).is_ok()
}

/// Spends the same work as [`verify_password`] on a real hash, and fails.
pub fn verify_password_of_unknown_user(password: &str) -> bool {
    let _ = verify_password(password, DUMMY_HASH);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse").expect("hash");
        let b = hash_password("correct horse").expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("battery staple", &a));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password_of_unknown_user("correct horse"));
    }

    #[test]
    fn the_dummy_hash_is_well_formed() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
