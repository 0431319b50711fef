//! JWS compact serialisation (RFC 7515 §3.1) with a parsed [`SigningKey`].
//!
//! `jsonwebtoken::encode` re-parses the private key on every call; minting here reuses the key
//! parsed once at load time and `jsonwebtoken`'s own [`Header`] type, so tokens verify with
//! `jsonwebtoken::decode` and any other JOSE library.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;
use serde::Serialize;

use crate::Result;
use crate::signing::{SigningKey, jws_algorithm};

/// The `typ` of RFC 9068 access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Signs `claims` with `key`, writing `typ` and the key's `kid` and `alg` into the header.
pub fn mint<C: Serialize>(key: &SigningKey, typ: &str, claims: &C) -> Result<String> {
    let mut header = Header::new(jws_algorithm(key.algorithm()));
    header.typ = Some(typ.to_owned());
    header.kid = Some(key.kid().to_string());
    let mut token = String::with_capacity(512);
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&header)?, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims)?, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
    use portcullis_core::SigningAlgorithm;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        exp: i64,
        aud: String,
    }

    #[test]
    fn every_algorithm_verifies_with_jsonwebtoken_against_its_jwk() {
        for alg in SigningAlgorithm::ALL {
            let generated = SigningKey::generate(alg).expect("generate");
            let key = generated.key;
            let claims = Claims { sub: "c1".into(), exp: 4_102_444_800, aud: "api".into() };
            let token = mint(&key, ACCESS_TOKEN_TYP, &claims).expect("mint");

            let header = decode_header(&token).expect("header");
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(header.kid.as_deref(), Some(key.kid().as_str()));

            let decoding = DecodingKey::from_jwk(key.public_jwk()).expect("jwk");
            let mut validation = Validation::new(jws_algorithm(alg));
            validation.set_audience(&["api"]);
            let data = decode::<Claims>(&token, &decoding, &validation).expect("verifies");
            assert_eq!(data.claims, claims);

            let reloaded = SigningKey::from_pkcs8(alg, key.kid(), generated.pkcs8.as_bytes()).expect("reload");
            assert_eq!(reloaded.public_jwk(), key.public_jwk());
        }
    }

    #[test]
    fn a_tampered_kid_is_detected_on_load() {
        let generated = SigningKey::generate(SigningAlgorithm::EdDSA).expect("generate");
        let wrong = portcullis_core::KeyId::parse("not-the-thumbprint").expect("kid");
        assert!(SigningKey::from_pkcs8(SigningAlgorithm::EdDSA, &wrong, generated.pkcs8.as_bytes()).is_err());
    }
}
