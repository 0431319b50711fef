//! Verifications per second on one core: `Verifier::verify` next to a bare
//! `jsonwebtoken::decode` of the same token (same key, same checks) and the crypto backend's raw
//! signature check. The three loops take turns in rounds; each figure is per second of the
//! thread's own CPU time, its median round. Run by `cargo xtask bench` (release build) against a real server; prints one
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

/// Rounds in which the three loops take turns; each loop's figure is its median round, so that
/// a slow spell of a shared machine falls on all three alike and a single bad round does not count.
const ROUNDS: usize = 5;

/// This thread's CPU time so far (`/proc/thread-self/schedstat`, nanoseconds on the CPU), if the
/// kernel tells it.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?))
}

/// Calls `f` on this thread for `time`; returns calls per second of this thread's CPU time (per
/// core, whatever else the machine runs), or of wall time where the kernel does not tell CPU time.
fn rate(time: Duration, f: &mut dyn FnMut() -> bool) -> f64 {
    let (start, cpu_before) = (Instant::now(), thread_cpu());
    let mut calls = 0_u64;
    while start.elapsed() < time {
        for _ in 0..256 {
            assert!(f(), "a check failed during the benchmark");
        }
        calls += 256;
    }
    let busy = thread_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before))
        .filter(|cpu| !cpu.is_zero())
        .unwrap_or_else(|| start.elapsed());
    #[allow(clippy::cast_precision_loss, reason = "a rate")]
    let per_second = calls as f64 / busy.as_secs_f64();
    per_second
}

/// Runs the loops in [`ROUNDS`] rounds of `time / ROUNDS` each, taking turns; returns each loop's
/// median rate.
fn rates<const N: usize>(time: Duration, mut loops: [&mut dyn FnMut() -> bool; N]) -> [f64; N] {
    let slice = time / u32::try_from(ROUNDS).unwrap_or(1);
    let mut samples = [[0.0; ROUNDS]; N];
    for round in 0..ROUNDS {
        for (samples, f) in samples.iter_mut().zip(loops.iter_mut()) {
            samples[round] = rate(slice, *f);
        }
    }
    samples.map(|mut rounds| {
        rounds.sort_by(f64::total_cmp);
        rounds[ROUNDS / 2]
    })
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
    let [verifier_rate, decode_rate, raw_rate] = rates(
        time,
        [
            &mut || runtime.block_on(verifier.verify(&token)).is_ok(),
            &mut || jsonwebtoken::decode::<AccessTokenClaims>(&token, &key, &validation).is_ok(),
            &mut || raw.verify_sig(message.as_bytes(), &signature).is_ok(),
        ],
    );
    println!(
        "{{\"algorithm\":\"{:?}\",\"seconds\":{seconds},\"verifier_per_s\":{verifier_rate:.0},\"jsonwebtoken_decode_per_s\":{decode_rate:.0},\"raw_signature_verify_per_s\":{raw_rate:.0}}}",
        header.alg
    );
    Ok(())
}
