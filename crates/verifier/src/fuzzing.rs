//! Entry points of the fuzz targets in `fuzz/` (feature `fuzzing`; not a public API).
//!
//! Each function takes raw bytes, runs the verifier's own code on them with no network (a
//! fixed issuer, brand and Ed25519 key stand in for discovery and the JWKS), and panics when an
//! invariant is broken. The unit tests replay every file under `fuzz/seeds/<target>/` and
//! `fuzz/regressions/<target>/`, so a crash the fuzzer once found stays fixed in `cargo test`.
//!
//! Invariants checked:
//! * `jwt`: any text is refused or accepted without a panic; an accepted token is a compact JWS
//!   whose header names `EdDSA`, an access-token `typ` and the known key id, whose signature an
//!   independent Ed25519 check accepts, and whose claims pass the reference claim rules;
//! * `signed_claims`: any payload, signed by the known key, is accepted exactly when it is an
//!   access-token claim set that passes the reference claim rules (so the claim checks are
//!   fuzzed behind a valid signature, where a random token never gets);
//! * `jwks`: any JSON parses into keys only from entries with a `kid`, an asymmetric type the
//!   verifier supports and an `alg` (when given) that matches that type; never a symmetric key.

use std::time::Duration;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, ParsedPublicKey, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use portcullis_core::AccessTokenClaims;
use serde_json::Value;

use crate::config::VerifierConfig;
use crate::jws;
use crate::keys::{self, PublishedKey};
use crate::verifier::{access_token_kid, check_signed};

/// The issuer the fuzzed verifier trusts.
pub const ISSUER: &str = "https://id.example.com/brands/acme";
/// Its brand.
pub const BRAND: &str = "acme";
/// The audience it answers to.
pub const AUDIENCE: &str = "https://api.acme.example";
/// The key id of the one published key.
pub const KID: &str = "fuzz-key";
/// "Now" for every check: fixed, so that a crash replays identically.
pub const NOW: i64 = 1_800_000_000;
/// The leeway on `exp` and `nbf`, in seconds.
const LEEWAY: i64 = 30;
/// The seed of the published Ed25519 key (fuzzing only; it signs nothing real).
const SEED: [u8; 32] = [7; 32];

fn key_pair() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&SEED).expect("a 32-byte seed")
}

fn config() -> VerifierConfig {
    VerifierConfig::new(ISSUER, AUDIENCE).leeway(Duration::from_secs(LEEWAY.unsigned_abs()))
}

fn published(pair: &Ed25519KeyPair) -> PublishedKey {
    let key = ParsedPublicKey::new(&ED25519, pair.public_key().as_ref()).expect("an Ed25519 public key");
    PublishedKey { alg: "EdDSA", key }
}

/// The verifier's checks of a compact token after the key lookup, as `Verifier::verify` runs
/// them (the lookup is the one known key id).
fn verify(token: &str, key: &PublishedKey) -> Option<AccessTokenClaims> {
    let jws = jws::parse(token).ok()?;
    let kid = access_token_kid(&jws).ok()?;
    if kid != KID {
        return None;
    }
    check_signed(&jws, key, &config(), BRAND, NOW).ok()
}

/// A token as text: the `Authorization` header's credentials after `Bearer `.
pub fn jwt(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let pair = key_pair();
    let Some(claims) = verify(token, &published(&pair)) else {
        return;
    };
    // Accepted: re-derive everything independently of the verifier's code.
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("accepted a token that is not three dot-separated parts");
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url header")).expect("a JSON header");
    assert_eq!(header["alg"], "EdDSA", "accepted another algorithm");
    assert_eq!(header["kid"], KID);
    let typ = header["typ"].as_str().expect("a typ").to_ascii_lowercase();
    assert!(typ == "at+jwt" || typ == "application/at+jwt", "accepted typ {typ}");
    assert!(header.get("crit").is_none(), "accepted a crit header");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url signature");
    let signed = &token[..token.rfind('.').expect("a dot")];
    UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref())
        .verify(signed.as_bytes(), &signature)
        .expect("accepted a signature that does not verify");
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("a JSON payload");
    assert!(passes_claim_rules(&payload), "accepted claims that break the rules: {payload}");
    assert_eq!(claims.brand, BRAND);
}

/// A payload, signed by the published key with a correct header, then verified.
pub fn signed_claims(data: &[u8]) {
    let pair = key_pair();
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{KID}"}}"#));
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(data));
    let signature = URL_SAFE_NO_PAD.encode(pair.sign(signing_input.as_bytes()));
    let token = format!("{signing_input}.{signature}");
    let accepted = verify(&token, &published(&pair));
    // The claim set must deserialise (the shared claims type, `nbf` an optional integer); the
    // rules themselves are checked on the plain JSON.
    let well_typed =
        serde_json::from_slice::<AccessTokenClaims>(data).is_ok() && serde_json::from_slice::<NotBefore>(data).is_ok();
    let reference =
        serde_json::from_slice::<Value>(data).ok().filter(|claims| well_typed && passes_claim_rules(claims));
    match (&accepted, &reference) {
        (Some(claims), Some(_)) => assert_eq!(claims.iss, ISSUER),
        (None, None) => {}
        (Some(_), None) => panic!("accepted claims that break the rules"),
        (None, Some(claims)) => panic!("refused claims that keep the rules: {claims}"),
    }
}

/// The optional `nbf` claim, which the shared claims type does not carry.
#[derive(serde::Deserialize)]
struct NotBefore {
    #[serde(default)]
    #[allow(dead_code, reason = "only whether it deserialises matters")]
    nbf: Option<i64>,
}

/// RFC 9068 §4 as the verifier is configured: the issuer, the brand, the audience (a string or
/// an array naming it), `exp` not past and `nbf` (when present, a number) not ahead, with the
/// leeway.
fn passes_claim_rules(claims: &Value) -> bool {
    let audience_named = match &claims["aud"] {
        Value::String(a) => a == AUDIENCE,
        Value::Array(list) => list.iter().any(|a| a == AUDIENCE),
        _ => false,
    };
    let nbf_ok = match claims.get("nbf") {
        None | Some(Value::Null) => true,
        Some(nbf) => nbf.as_i64().is_some_and(|nbf| nbf.saturating_sub(LEEWAY) <= NOW),
    };
    claims["iss"] == ISSUER
        && claims["brand"] == BRAND
        && audience_named
        && claims["exp"].as_i64().is_some_and(|exp| exp.saturating_add(LEEWAY) >= NOW)
        && nbf_ok
}

/// A JWKS document as the issuer's `jwks_uri` would serve it.
pub fn jwks(data: &[u8]) {
    let Ok(set) = serde_json::from_slice::<JwkSet>(data) else {
        return;
    };
    let parsed = keys::parse(&set);
    assert!(parsed.len() <= set.keys.len(), "more keys than the set holds");
    for (kid, key) in &parsed {
        let mut entries = set.keys.iter().filter(|j| j.common.key_id.as_deref() == Some(kid.as_str())).peekable();
        assert!(entries.peek().is_some(), "key id {kid:?} is not in the set");
        let from_entry = entries.any(|jwk| {
            !matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
                && keys::algorithm_of(jwk).is_some_and(|algorithm| keys::alg_name(algorithm) == key.alg)
        });
        assert!(from_entry, "key {kid:?} verifies {} but no asymmetric entry of the set declares it", key.alg);
    }
}

/// The committed inputs' replay, shared by every crate with fuzz targets.
#[cfg(test)]
#[path = "../../../fuzz/replay.rs"]
mod replay;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::replay::{Target, replay};
    use super::*;

    const TARGETS: &[Target] = &[("jwt", jwt), ("signed_claims", signed_claims), ("jwks", jwks)];

    /// Every committed seed and regression input passes its target's invariants.
    #[test]
    fn fuzz_seeds_and_regressions_replay() {
        replay(TARGETS);
    }

    fn sign(claims: &Value) -> String {
        let pair = key_pair();
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{KID}"}}"#));
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes())))
    }

    fn good_claims() -> Value {
        serde_json::json!({
            "iss": ISSUER, "sub": "c1", "aud": AUDIENCE, "exp": NOW + 60, "iat": NOW, "jti": "j1",
            "client_id": "c1", "scope": "read", "brand": BRAND, "act_type": "client",
        })
    }

    /// The harness itself: a good token verifies, a forged or stale one does not, so the
    /// invariants above are checked on both sides.
    #[test]
    fn the_harness_accepts_good_tokens_and_refuses_bad_ones() {
        let key = published(&key_pair());
        assert!(verify(&sign(&good_claims()), &key).is_some());
        let mut expired = good_claims();
        expired["exp"] = (NOW - LEEWAY - 1).into();
        assert!(verify(&sign(&expired), &key).is_none());
        let mut tampered = sign(&good_claims());
        tampered.replace_range(tampered.len() - 2.., "AA");
        assert!(verify(&tampered, &key).is_none());
        for claims in [good_claims(), expired] {
            jwt(sign(&claims).as_bytes());
            signed_claims(claims.to_string().as_bytes());
        }
    }
}
