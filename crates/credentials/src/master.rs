//! The master key: AES-256-GCM encryption of signing keys at rest.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::{CredentialError, Result, random_bytes};

/// The plaintext sealed by [`MasterKey::check_value`]: proves at start-up that the configured
/// key is the one that encrypted the database's keys.
const CHECK_PLAINTEXT: &[u8] = b"portcullis master key check v1";

/// A 32-byte key that encrypts signing keys at rest. `Debug` never prints it.
pub struct MasterKey(LessSafeKey);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Builds the key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 32 {
            return Err(CredentialError::MasterKeyFormat(format!("got {} bytes", bytes.len())));
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CredentialError::MasterKeyFormat("rejected by AES-256-GCM".into()))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// Parses the base64 (standard alphabet, padded or not) form used in configuration.
    pub fn from_base64(text: &str) -> Result<Self> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map(Zeroizing::new)
            .map_err(|_| CredentialError::MasterKeyFormat("not valid base64".into()))?;
        Self::from_bytes(&bytes)
    }

    /// Generates a fresh key and returns it with its base64 form (for writing to a key file).
    pub fn generate() -> Result<(Self, String)> {
        let bytes = Zeroizing::new(random_bytes::<32>()?);
        Ok((Self::from_bytes(&*bytes)?, STANDARD.encode(*bytes)))
    }

    /// Encrypts `plaintext`, binding it to `context` (e.g. brand and key id) so that a sealed
    /// value copied to another row does not decrypt. Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        // Encrypted in place; cleared on drop in case sealing fails with the plaintext in it.
        let mut buf = Zeroizing::new(plaintext.to_vec());
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(context), &mut *buf)
            .map_err(|_| CredentialError::Decrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same `context`. The plaintext (a
    /// private key) is cleared from memory when dropped, as is every copy made on the way.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN {
            return Err(CredentialError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CredentialError::Decrypt)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let plain = self.0.open_in_place(nonce, Aad::from(context), &mut buf).map_err(|_| CredentialError::Decrypt)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }

    /// A value to store once per database; [`MasterKey::verify_check_value`] later tells whether
    /// the configured key is the right one.
    pub fn check_value(&self) -> Result<Vec<u8>> {
        self.seal(CHECK_PLAINTEXT, b"check")
    }

    /// Whether `check` was produced by this key.
    pub fn verify_check_value(&self, check: &[u8]) -> bool {
        self.open(check, b"check").is_ok_and(|p| p.as_slice() == CHECK_PLAINTEXT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_context() {
        let (key, encoded) = MasterKey::generate().expect("key");
        let sealed = key.seal(b"private key", b"acme/kid1").expect("seal");
        assert_eq!(key.open(&sealed, b"acme/kid1").expect("open").as_slice(), b"private key");
        assert!(key.open(&sealed, b"other/kid1").is_err(), "context is bound");
        let again = MasterKey::from_base64(&encoded).expect("parse");
        assert_eq!(again.open(&sealed, b"acme/kid1").expect("open").as_slice(), b"private key");
        let (other, _) = MasterKey::generate().expect("key");
        assert!(other.open(&sealed, b"acme/kid1").is_err());
        assert!(key.open(&sealed[..5], b"acme/kid1").is_err());
    }

    #[test]
    fn check_value_identifies_the_key() {
        let (key, _) = MasterKey::generate().expect("key");
        let (other, _) = MasterKey::generate().expect("key");
        let check = key.check_value().expect("check");
        assert!(key.verify_check_value(&check));
        assert!(!other.verify_check_value(&check));
    }

    #[test]
    fn bad_formats_are_refused() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(format!("{:?}", MasterKey::generate().expect("key").0).contains("redacted"));
    }
}
