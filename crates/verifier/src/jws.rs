//! Compact JWS (RFC 7515) parsing and checking with keys parsed once: the verifier's hot path.
//!
//! jsonwebtoken re-parses the key and builds its validation on every `decode`; here the key is
//! an aws-lc-rs `ParsedPublicKey` made when the JWKS was fetched, the header is decoded once,
//! and the claims are checked directly. Only what RFC 8725 allows gets through: the `alg` must
//! be exactly the one the key declares (so `none` and HMAC never verify), a `crit` header is
//! refused (no extension is understood), and base64url must be canonical and unpadded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use crate::error::VerifyError;

/// The protected header members the verifier reads.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default)]
    pub(crate) typ: Option<String>,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    /// Extensions that must be understood (RFC 7515 §4.1.11): none is, so a `crit` member is
    /// refused whatever its value, `null` and `[]` included (`Some` whenever it is present).
    #[serde(default, deserialize_with = "present")]
    crit: Option<IgnoredAny>,
}

/// `Some` for a member that is present, whatever its value (`null` included, which a plain
/// `Option` would read as absent).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<IgnoredAny>, D::Error> {
    IgnoredAny::deserialize(deserializer).map(Some)
}

/// A compact JWS split into its parts, the header decoded.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub(crate) header: Header,
    /// `base64url(header) "." base64url(payload)`: what the signature covers.
    pub(crate) signing_input: &'a str,
    /// The encoded payload.
    payload: &'a str,
    /// The encoded signature.
    signature: &'a str,
}

/// Splits and decodes `token`; anything that is not a well-formed compact JWS is
/// [`VerifyError::Malformed`].
pub(crate) fn parse(token: &str) -> Result<Jws<'_>, VerifyError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(VerifyError::Malformed)?;
    if header.is_empty() || payload.is_empty() || signature.is_empty() || payload.contains('.') {
        return Err(VerifyError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| VerifyError::Malformed)?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)?;
    if header.crit.is_some() {
        return Err(VerifyError::Malformed);
    }
    Ok(Jws { header, signing_input, payload, signature })
}

impl Jws<'_> {
    /// Checks the signature with `key`.
    pub(crate) fn check_signature(&self, key: &aws_lc_rs::signature::ParsedPublicKey) -> Result<(), VerifyError> {
        let signature = URL_SAFE_NO_PAD.decode(self.signature).map_err(|_| VerifyError::BadSignature)?;
        key.verify_sig(self.signing_input.as_bytes(), &signature).map_err(|_| VerifyError::BadSignature)
    }

    /// The decoded payload, to read only after the signature checked.
    pub(crate) fn payload(&self) -> Result<Vec<u8>, VerifyError> {
        URL_SAFE_NO_PAD.decode(self.payload).map_err(|_| VerifyError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn only_well_formed_compact_serialisations_parse() {
        let header = encode(r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}"#);
        let good = format!("{header}.{}.c2ln", encode("{}"));
        let parsed = parse(&good).expect("parses");
        assert_eq!((parsed.header.alg.as_str(), parsed.header.kid.as_deref()), ("EdDSA", Some("k1")));
        assert_eq!(parsed.signing_input, good.rsplit_once('.').expect("dot").0);
        for bad in [
            String::new(),
            "abc".into(),
            "a.b".into(),
            format!("{header}.{}.", encode("{}")),
            format!("{header}..c2ln"),
            format!(".{}.c2ln", encode("{}")),
            format!("{header}.e30.e30.c2ln"),
            format!("{header}=.{}.c2ln", encode("{}")),
            format!("{}.{}.c2ln", encode("not json"), encode("{}")),
            format!("{}.{}.c2ln", encode(r#"{"alg":"EdDSA","crit":["b64"],"b64":false}"#), encode("{}")),
            format!("{}.{}.c2ln", encode(r#"{"alg":"EdDSA","alg":"none"}"#), encode("{}")),
        ] {
            assert_eq!(parse(&bad).err(), Some(VerifyError::Malformed), "{bad}");
        }
    }

    /// `crit`, when present, must list extensions the verifier understands; it understands
    /// none, so every value is refused: `null` and `[]` as much as a list of names.
    #[test]
    fn any_crit_member_is_refused() {
        for crit in ["null", "[]", r#"["x"]"#, r#"["exp"]"#, r#""x""#, "{}", "0", "false"] {
            let header = encode(&format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"k1","crit":{crit}}}"#));
            let token = format!("{header}.{}.c2ln", encode("{}"));
            assert_eq!(parse(&token).err(), Some(VerifyError::Malformed), "crit {crit}");
        }
    }

    /// Nesting far beyond serde_json's recursion limit never overflows the stack: in a member
    /// the verifier reads it is refused at the limit; an unknown member is skipped without
    /// recursion (and the token is then judged on what it says).
    #[test]
    fn deeply_nested_headers_do_not_recurse() {
        let depth = 100_000;
        let nested = |member: &str| {
            let json = format!(r#"{{"alg":"EdDSA","{member}":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
            format!("{}.{}.c2ln", encode(&json), encode("{}"))
        };
        assert_eq!(parse(&nested("typ")).err(), Some(VerifyError::Malformed));
        assert_eq!(parse(&nested("crit")).err(), Some(VerifyError::Malformed));
        assert!(parse(&nested("x")).is_ok());
    }
}
