//! Per-brand signing keys: generation, parsing (once), signing, public JWKs.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk,
    KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use portcullis_core::{KeyId, SigningAlgorithm};

use crate::{CredentialError, Result};

enum Pair {
    Ed25519(Ed25519KeyPair),
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// A parsed private key, ready to sign, with its id and public JWK.
///
/// Parsing happens once (at generation or load); signing reuses the parsed key.
pub struct SigningKey {
    kid: KeyId,
    algorithm: SigningAlgorithm,
    pair: Pair,
    public_jwk: Jwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

/// A freshly generated key: the parsed key and its PKCS#8 v1 DER encoding, to be sealed with
/// the master key before it is stored.
#[derive(Debug)]
pub struct GeneratedKey {
    /// The key, ready to sign.
    pub key: SigningKey,
    /// Its private PKCS#8 encoding. Seal it; never log it.
    pub pkcs8: Pkcs8,
}

/// Private key bytes (PKCS#8 v1 DER), zeroed on drop, never printed.
pub struct Pkcs8(Vec<u8>);

impl Pkcs8 {
    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Pkcs8 {
    fn drop(&mut self) {
        // Volatile writes the optimiser cannot remove: no freed page keeps the private key.
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for Pkcs8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs8([redacted])")
    }
}

fn key_error(e: impl fmt::Display) -> CredentialError {
    CredentialError::Key(e.to_string())
}

impl SigningKey {
    /// Generates a new key for `algorithm`; its id is the RFC 7638 thumbprint of its public JWK.
    pub fn generate(algorithm: SigningAlgorithm) -> Result<GeneratedKey> {
        let der = match algorithm {
            SigningAlgorithm::EdDSA => Ed25519KeyPair::generate().and_then(|k| k.to_pkcs8v1()).map_err(key_error)?,
            SigningAlgorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(key_error)?,
            SigningAlgorithm::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(key_error)?;
                let der = pair.as_der().map_err(key_error)?;
                return Self::from_der_bytes(algorithm, der.as_ref().to_vec());
            }
        };
        Self::from_der_bytes(algorithm, der.as_ref().to_vec())
    }

    fn from_der_bytes(algorithm: SigningAlgorithm, der: Vec<u8>) -> Result<GeneratedKey> {
        let pkcs8 = Pkcs8(der);
        let key = Self::parse(algorithm, None, pkcs8.as_bytes())?;
        Ok(GeneratedKey { key, pkcs8 })
    }

    /// Loads a stored key. `kid` must be the id it was stored under; a mismatch with the
    /// key's thumbprint means the row was tampered with.
    pub fn from_pkcs8(algorithm: SigningAlgorithm, kid: &KeyId, pkcs8: &[u8]) -> Result<Self> {
        Self::parse(algorithm, Some(kid), pkcs8)
    }

    fn parse(algorithm: SigningAlgorithm, expected_kid: Option<&KeyId>, der: &[u8]) -> Result<Self> {
        let (pair, params) = match algorithm {
            SigningAlgorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(key_error)?;
                let params = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                });
                (Pair::Ed25519(pair), params)
            }
            SigningAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(key_error)?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(CredentialError::Key("unexpected P-256 public key encoding".into()));
                }
                let params = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: EllipticCurve::P256,
                    x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                    y: URL_SAFE_NO_PAD.encode(&point[33..65]),
                });
                (Pair::Es256(pair), params)
            }
            SigningAlgorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(key_error)?;
                let components = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let params = AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: URL_SAFE_NO_PAD.encode(&components.n),
                    e: URL_SAFE_NO_PAD.encode(&components.e),
                });
                (Pair::Rs256(pair), params)
            }
        };
        let mut public_jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(key_algorithm(algorithm)),
                ..Default::default()
            },
            algorithm: params,
        };
        let thumbprint = public_jwk.thumbprint(ThumbprintHash::SHA256).map_err(key_error)?;
        let kid = KeyId::parse(thumbprint).map_err(key_error)?;
        if let Some(expected) = expected_kid
            && expected != &kid
        {
            return Err(CredentialError::Key("stored key id does not match the key".into()));
        }
        public_jwk.common.key_id = Some(kid.to_string());
        Ok(Self { kid, algorithm, pair, public_jwk })
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The JWS algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The public key as a JWK with `kid`, `alg` and `use: sig`.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public_jwk
    }

    /// Signs `message` (the JWS signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.pair {
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Es256(pair) => {
                pair.sign(&SystemRandom::new(), message).map(|s| s.as_ref().to_vec()).map_err(|_| CredentialError::Sign)
            }
            Pair::Rs256(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
                    .map_err(|_| CredentialError::Sign)?;
                Ok(signature)
            }
        }
    }
}

fn key_algorithm(algorithm: SigningAlgorithm) -> KeyAlgorithm {
    match algorithm {
        SigningAlgorithm::EdDSA => KeyAlgorithm::EdDSA,
        SigningAlgorithm::ES256 => KeyAlgorithm::ES256,
        SigningAlgorithm::RS256 => KeyAlgorithm::RS256,
    }
}

/// The `jsonwebtoken` algorithm for a [`SigningAlgorithm`].
pub fn jws_algorithm(algorithm: SigningAlgorithm) -> jsonwebtoken::Algorithm {
    match algorithm {
        SigningAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        SigningAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        SigningAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
    }
}
