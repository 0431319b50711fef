//! Human passwords: Argon2id with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane),
//! stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
//!
//! Hashing is deliberately slow (tens of milliseconds): call these functions from a blocking
//! thread, never on an async runtime's worker.

use std::cell::RefCell;

use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};

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

/// Most Argon2 memory a stored hash may ask of a check: 256 MiB, far above the 19 MiB of the
/// hashes written here, and low enough that a corrupt row cannot exhaust the machine.
const MAX_BLOCKS: usize = 256 * 1024;

thread_local! {
    /// Argon2's working memory, kept by each thread that checks passwords and reused by its
    /// next check: no 19 MiB allocation (and page faults) per check, and no freed blocks left
    /// behind in the allocator's per-thread arenas (which had a server at 1.7 GB).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether `password` matches the stored PHC string. Malformed hashes never verify.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&hash) else { return false };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    let mut computed = vec![0u8; expected.len()];
    let hashed = MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut computed,
            &mut memory[..blocks],
        )
    });
    hashed.is_ok() && aws_lc_rs::constant_time::verify_slices_are_equal(&computed, expected.as_bytes()).is_ok()
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
    fn hashes_of_other_parameters_verify_like_the_argon2_crate_says() {
        use argon2::password_hash::PasswordVerifier;
        let cases = [
            (Algorithm::Argon2id, Version::V0x13, Params::new(64, 1, 1, Some(16)).expect("params")),
            (Algorithm::Argon2i, Version::V0x10, Params::new(256, 3, 2, None).expect("params")),
            (Algorithm::Argon2d, Version::V0x13, Params::new(32, 2, 1, Some(64)).expect("params")),
        ];
        for (algorithm, version, params) in cases {
            let hash = Argon2::new(algorithm, version, params)
                .hash_password_with_salt(b"pw-one", b"saltsaltsalt")
                .expect("hash")
                .to_string();
            for candidate in ["pw-one", "pw-two", ""] {
                let reference = Argon2::default().verify_password(candidate.as_bytes(), hash.as_str()).is_ok();
                assert_eq!(verify_password(candidate, &hash), reference, "{hash} with {candidate:?}");
            }
        }
        // A smaller hash after a larger one reuses the front of the thread's memory.
        let big = hash_password("after small").expect("hash");
        assert!(verify_password("after small", &big));
    }

    #[test]
    fn hashes_asking_for_absurd_memory_are_refused_without_allocating() {
        let greedy =
            "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$qBQ9Xwd+DJhBn7bLFKNh8BPxVJaGA2wvXTv5EuPmdHc";
        assert!(PasswordHash::new(greedy).is_ok());
        assert!(!verify_password("anything", greedy));
        assert!(!verify_password("x", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA"), "no hash part");
    }

    #[test]
    fn the_dummy_hash_is_well_formed() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
