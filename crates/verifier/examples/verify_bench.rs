//! Verifications per second on one core: `Verifier::verify` next to a bare
//! `jsonwebtoken::decode` of the same token (same key, same checks) and the crypto backend's raw
//! signature check. Run by `cargo xtask bench` (release build) against a real server; prints one
//! JSON object.
//!
//! ```sh
//! cargo run --release -p portcullis-verifier --features client --example verify_bench -- \
//!   ISSUER CLIENT_ID CLIENT_SECRET [SECONDS]
//! ```
#![allow(clippy::print_stdout, reason = "the benchmark prints its figures")]

use std::time::{Duration, Instant};

use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portcullis_core::AccessTokenClaims;
use portcullis_verifier::{TokenSource, Verifier, VerifierConfig};

/// Calls `f` on this thread for `time`; returns calls per second.
fn rate(time: Duration, mut f: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    let mut calls = 0_u64;
    while start.elapsed() < time {
        for _ in 0..256 {
            assert!(f(), "a check failed during the benchmark");
        }
        calls += 256;
    }
    #[allow(clippy::cast_precision_loss, reason = "a rate")]
    let per_second = calls as f64 / start.elapsed().as_secs_f64();
    per_second
}

/// The first `aud` of `token` (a string or an array), read without verifying anything.
fn first_audience(token: &str) -> Result<String, Box<dyn std::error::Error>> {
    let payload = token.split('.').nth(1).ok_or("not a JWS")?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    let aud = match &claims["aud"] {
        serde_json::Value::Array(list) => list.first(),
        single => Some(single),
    };
    Ok(aud.and_then(serde_json::Value::as_str).ok_or("the token names no audience")?.to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [issuer, id, secret, rest @ ..] = args.as_slice() else {
        return Err("usage: verify_bench ISSUER CLIENT_ID CLIENT_SECRET [SECONDS]".into());
    };
    let seconds: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let time = Duration::from_secs(seconds);
    // One thread: the figures are per core.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    let (verifier, token, audience, jwks) = runtime.block_on(async {
        let source = TokenSource::discover(issuer.as_str(), id.as_str(), secret.as_str()).await?;
        let token = source.token().await?.to_string();
        // The verifier answers to the token's (first) audience, so the `aud` check is measured too.
        let audience = first_audience(&token)?;
        let verifier = Verifier::discover(VerifierConfig::new(issuer.as_str(), audience.as_str())).await?;
        let jwks: JwkSet = reqwest::get(format!("{issuer}/jwks.json")).await?.json().await?;
        Ok::<_, Box<dyn std::error::Error>>((verifier, token, audience, jwks))
    })?;

    let header = jsonwebtoken::decode_header(&token)?;
    let jwk = jwks.find(header.kid.as_deref().unwrap_or_default()).ok_or("the token's key is not in the JWKS")?;
    let key = DecodingKey::from_jwk(jwk)?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.set_audience(&[audience.as_str()]);
    validation.validate_nbf = true;

    let (message, signature) = token.rsplit_once('.').ok_or("not a JWS")?;
    let signature = URL_SAFE_NO_PAD.decode(signature)?;
    // The key parsed once, as the verifier keeps it: the raw rate is the signature check alone.
    let raw = match (&jwk.algorithm, header.alg) {
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            ParsedPublicKey::new(&ED25519, URL_SAFE_NO_PAD.decode(&p.x)?)?
        }
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => {
            let mut point = vec![4];
            point.extend(URL_SAFE_NO_PAD.decode(&p.x)?);
            point.extend(URL_SAFE_NO_PAD.decode(&p.y)?);
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)?
        }
        (AlgorithmParameters::RSA(p), Algorithm::RS256) => {
            let components = PublicKeyComponents { n: URL_SAFE_NO_PAD.decode(&p.n)?, e: URL_SAFE_NO_PAD.decode(&p.e)? };
            components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)?
        }
        _ => return Err("unexpected key type".into()),
    };

    // Warm up (the first verification may refresh nothing, but allocators and caches settle).
    runtime.block_on(verifier.verify(&token))?;
    let verifier_rate = rate(time, || runtime.block_on(verifier.verify(&token)).is_ok());
    let decode_rate = rate(time, || jsonwebtoken::decode::<AccessTokenClaims>(&token, &key, &validation).is_ok());
    let raw_rate = rate(time, || raw.verify_sig(message.as_bytes(), &signature).is_ok());
    println!(
        "{{\"algorithm\":\"{:?}\",\"seconds\":{seconds},\"verifier_per_s\":{verifier_rate:.0},\"jsonwebtoken_decode_per_s\":{decode_rate:.0},\"raw_signature_verify_per_s\":{raw_rate:.0}}}",
        header.alg
    );
    Ok(())
}
