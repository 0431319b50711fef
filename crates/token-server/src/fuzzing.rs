//! Entry points of the fuzz targets in `fuzz/` (feature `fuzzing`; not a public API).
//!
//! Each function takes raw bytes, runs this crate's own parsing code on them (the code the
//! handlers run before they touch storage), and panics when an invariant is broken. The fuzz
//! targets call only these functions, and this crate's unit tests replay every file under
//! `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/` through them, so a crash the
//! fuzzer once found stays fixed in `cargo test`.
//!
//! Invariants checked:
//! * a parsed form holds exactly the url-decoded pairs of the body with a name, in order, and
//!   never a name twice unless the endpoint lets it repeat; a refused form really repeats one,
//!   and says which (at most 40 characters of it, escaped);
//! * every error is `invalid_request` (400) or `invalid_client` (401 with a `Basic` challenge),
//!   with a short one-line description;
//! * client credentials come from exactly one method: Basic credentials are what the header
//!   decodes to, body credentials are the body's values, and each refusal has its reason;
//! * an accepted Basic header has a non-empty client id, only well-formed `%XX` escapes, decodes
//!   as `application/x-www-form-urlencoded` does, and round-trips through the canonical
//!   encoding; any id and secret encoded that way are accepted;
//! * feed cursors are `0` or the canonical base64url of one sealed block, and a sealed one
//!   opens only to a position it seals back to; waits are at most [`MAX_WAIT`] seconds;
//! * introspection and revocation read the body's one `token` (and `token_type_hint`).

use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use portcullis_core::OAuthErrorCode;
use portcullis_grants::ClientAuthMethod;
use portcullis_tenancy::BrandId;

use crate::OAuthError;
use crate::feed_cursor::{CURSOR_KEY_LEN, CursorCodec, WireCursor};
use crate::form::{Form, parse_pairs};
use crate::metrics::ErrorCode;
use crate::revocations::{MAX_WAIT, parse_cursor, parse_query};
use crate::{client_auth, introspect, revoke};

/// The parameters the token endpoint lets repeat (`token.rs`): RFC 8707 `resource`.
const TOKEN_REPEATABLE: &[&str] = &["resource"];

/// Every OAuth error code the server can send.
const CODES: [OAuthErrorCode; 11] = [
    OAuthErrorCode::InvalidRequest,
    OAuthErrorCode::InvalidClient,
    OAuthErrorCode::InvalidGrant,
    OAuthErrorCode::UnauthorizedClient,
    OAuthErrorCode::UnsupportedGrantType,
    OAuthErrorCode::InvalidScope,
    OAuthErrorCode::InvalidTarget,
    OAuthErrorCode::UnsupportedTokenType,
    OAuthErrorCode::SlowDown,
    OAuthErrorCode::ServerError,
    OAuthErrorCode::TemporarilyUnavailable,
];

/// Longest error description a parsing failure may produce.
const MAX_DESCRIPTION: usize = 512;

/// Splits a fuzz input of the `token_form` and `introspection_input` targets into a form body
/// and an `Authorization` header value: with a line feed, the bytes before the first one are
/// the header's value and the rest is the body; without one, the whole input is the body and
/// no header is sent.
pub fn split_request(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[at + 1..], Some(&data[..at])),
        None => (data, None),
    }
}

/// The token endpoint's parsing: the form body (only `resource` may repeat), then the client's
/// credentials from the body and the `Authorization` header.
pub fn token_form(body: &[u8], authorization: Option<&[u8]>) {
    let form = checked_form(body, TOKEN_REPEATABLE);
    if let (Some(form), Some(headers)) = (form, headers(authorization)) {
        check_credentials(&headers, &form);
    }
}

/// The introspection and revocation endpoints' parsing before storage: the form body (nothing
/// may repeat), the client's credentials, then `token` and `token_type_hint`.
pub fn introspection_input(body: &[u8], authorization: Option<&[u8]>) {
    let Some(form) = checked_form(body, client_auth::FORM_REPEATABLE) else {
        return;
    };
    if let Some(headers) = headers(authorization) {
        check_credentials(&headers, &form);
    }
    let pairs = reference_pairs(body);
    let token = single(&pairs, "token");
    let hint = single(&pairs, "token_type_hint");
    match introspect::parameters(&form) {
        Ok((found, found_hint)) => {
            assert_eq!(Some(found), token, "introspection read another token than the body's");
            assert_eq!(found_hint, hint, "introspection read another hint than the body's");
        }
        Err(e) => {
            check_error(&e, &[OAuthErrorCode::InvalidRequest]);
            assert!(token.is_none(), "introspection refused a body with a token");
        }
    }
    match revoke::token_parameter(&form) {
        Ok(found) => assert_eq!(Some(found), token, "revocation read another token than the body's"),
        Err(e) => {
            check_error(&e, &[OAuthErrorCode::InvalidRequest]);
            assert!(token.is_none(), "revocation refused a body with a token");
        }
    }
}

/// `client_secret_basic` decoding of an `Authorization` header value. Also encodes the input,
/// read as `id:secret`, the way RFC 6749 §2.3.1 asks, and checks that it decodes back.
pub fn basic_header(header: &[u8]) {
    if let Some((id, secret)) = client_auth::basic(header) {
        check_accepted_basic(header, &id, &secret);
    }
    let text = String::from_utf8_lossy(header);
    if let Some((id, secret)) = text.split_once(':') {
        let encoded = canonical_basic(id, secret);
        let decoded = client_auth::basic(encoded.as_bytes());
        if id.is_empty() {
            assert_eq!(decoded, None, "an empty client id was accepted");
        } else {
            assert_eq!(decoded, Some((id.to_owned(), secret.to_owned())), "{encoded} did not round-trip");
        }
    }
}

/// The revocation feed's inputs: the input as a `Last-Event-ID` value and as the query string.
pub fn revocation_cursor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The handler trims the header value before parsing it.
    let last_event_id = text.trim();
    match parse_cursor(last_event_id) {
        Ok(cursor) => {
            assert_eq!(Some(cursor), reference_cursor(last_event_id), "the cursor is not the one given");
            // Opened at a brand, a cursor is the start, a position it seals back to, or refused.
            let codec = CursorCodec::new(&[0x5a; CURSOR_KEY_LEN]).expect("a key");
            match codec.open(BrandId(1), cursor) {
                Some(0) => assert_eq!(last_event_id, "0"),
                Some(position) => assert_eq!(codec.seal(BrandId(1), position), last_event_id),
                None => {}
            }
        }
        Err(e) => {
            check_error(&e, &[OAuthErrorCode::InvalidRequest]);
            assert_eq!(reference_cursor(last_event_id), None, "cursor {last_event_id} refused");
        }
    }

    let pairs = reference_pairs(data);
    let after = single(&pairs, "after");
    let wait = single(&pairs, "wait");
    match parse_query(Some(text)) {
        Ok(query) => {
            assert!(first_repeat(&pairs, &[]).is_none(), "a repeated parameter was accepted");
            let expected_after = after.map_or(Some(WireCursor::Start), reference_cursor);
            assert_eq!(Some(query.after), expected_after, "after is not the cursor given");
            let expected_wait = wait.map_or(Some(0), |w| w.parse::<u64>().ok().filter(|w| *w <= MAX_WAIT));
            assert_eq!(Some(query.wait.as_secs()), expected_wait, "wait is not the number of seconds given");
            assert_eq!(query.wait.subsec_nanos(), 0);
        }
        Err(e) => {
            check_error(&e, &[OAuthErrorCode::InvalidRequest]);
            let bad_after = after.is_some_and(|a| reference_cursor(a).is_none());
            let bad_wait = wait.is_some_and(|w| w.parse::<u64>().map_or(true, |w| w > MAX_WAIT));
            assert!(
                first_repeat(&pairs, &[]).is_some() || bad_after || bad_wait,
                "a well-formed query was refused: {}",
                e.description()
            );
        }
    }
    // No query string at all is the start of the feed, without waiting.
    let empty = parse_query(None).map(|q| (q.after, q.wait.as_secs()));
    assert_eq!(empty.ok(), Some((WireCursor::Start, 0)));
}

/// What a cursor's text should read as: `0`, or the canonical unpadded base64url of 16 bytes.
fn reference_cursor(text: &str) -> Option<WireCursor> {
    if text == "0" {
        return Some(WireCursor::Start);
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
    let block: [u8; 16] = bytes.try_into().ok()?;
    (base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(block) == text).then_some(WireCursor::Sealed(block))
}

/// The url-decoded pairs of `body` with a name, as `application/x-www-form-urlencoded` defines
/// them (the reference the form parser is compared with).
fn reference_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// The value of `name` in `pairs`, if it is there (the first one).
fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The first name of `pairs` that is seen twice and may not repeat.
fn first_repeat<'a>(pairs: &'a [(String, String)], repeatable: &[&str]) -> Option<&'a str> {
    pairs.iter().enumerate().find_map(|(i, (name, _))| {
        let repeated = !repeatable.contains(&name.as_str()) && pairs[..i].iter().any(|(n, _)| n == name);
        repeated.then_some(name.as_str())
    })
}

/// Parses `body` as the endpoints do and checks the result against the reference decoding.
fn checked_form(body: &[u8], repeatable: &[&str]) -> Option<Form> {
    let pairs = reference_pairs(body);
    match parse_pairs(body, repeatable) {
        Ok(form) => {
            assert_eq!(first_repeat(&pairs, repeatable), None, "a repeated parameter was accepted");
            assert_eq!(form.pairs(), pairs.as_slice(), "the form is not the body's pairs");
            Some(form)
        }
        Err(e) => {
            check_error(&e, &[OAuthErrorCode::InvalidRequest]);
            let Some(name) = first_repeat(&pairs, repeatable) else {
                panic!("a form without repeated parameters was refused: {}", e.description());
            };
            let shown: String = name.chars().take(40).collect();
            let expected = format!("parameter '{}' is repeated", shown.escape_default());
            assert_eq!(e.description(), expected);
            None
        }
    }
}

/// The request headers for `authorization`; `None` when HTTP could not carry the value.
fn headers(authorization: Option<&[u8]>) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization {
        headers.insert(AUTHORIZATION, HeaderValue::from_bytes(value).ok()?);
    }
    Some(headers)
}

/// Checks `client_auth::credentials` against what the request carries.
fn check_credentials(headers: &HeaderMap, form: &Form) {
    let header = headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    let decoded = header.and_then(client_auth::basic);
    let (body_id, body_secret) = (form.get("client_id"), form.get("client_secret"));
    match client_auth::credentials(headers, form) {
        Ok(None) => {
            assert!(header.is_none(), "a Basic header was ignored");
            assert!(body_secret.is_none(), "a client_secret was ignored");
        }
        Ok(Some(presented)) => match presented.method {
            ClientAuthMethod::Basic => {
                let (id, secret) = decoded.expect("Basic credentials without a decodable header");
                assert_eq!((presented.client_id.as_str(), presented.secret.as_str()), (id.as_str(), secret.as_str()));
                assert!(body_secret.is_none(), "Basic and client_secret were both accepted");
                assert!(body_id.is_none_or(|b| b == id), "a body client_id other than the Basic one was accepted");
                if let Some(header) = header {
                    check_accepted_basic(header, &id, &secret);
                }
            }
            ClientAuthMethod::Post => {
                assert!(header.is_none(), "body credentials were taken despite a Basic header");
                assert_eq!(Some(presented.client_id.as_str()), body_id);
                assert_eq!(Some(presented.secret.as_str()), body_secret);
            }
        },
        Err(e) => match check_error(&e, &[OAuthErrorCode::InvalidRequest, OAuthErrorCode::InvalidClient]) {
            OAuthErrorCode::InvalidClient => {
                assert!(header.is_some() && decoded.is_none(), "invalid_client without a malformed Basic header");
            }
            _ => {
                let reason = match (&decoded, body_id, body_secret) {
                    (Some(_), _, Some(_)) => true,
                    (Some((id, _)), Some(body_id), None) => body_id != id,
                    (None, None, Some(_)) => header.is_none(),
                    _ => false,
                };
                assert!(reason, "credentials refused without a reason: {}", e.description());
            }
        },
    }
}

/// Invariants of a Basic header that decoded to `id` and `secret`.
fn check_accepted_basic(header: &[u8], id: &str, secret: &str) {
    assert!(!id.is_empty(), "an empty client id was accepted");
    let text = std::str::from_utf8(header).expect("an accepted header is UTF-8").trim();
    let (scheme, payload) = text.split_once(' ').expect("an accepted header has a scheme");
    assert!(scheme.eq_ignore_ascii_case("basic"), "scheme {scheme:?} accepted as Basic");
    let payload = payload.trim();
    let raw = STANDARD.decode(payload).or_else(|_| STANDARD_NO_PAD.decode(payload)).expect("accepted base64");
    let raw = String::from_utf8(raw).expect("accepted UTF-8");
    let (raw_id, raw_secret) = raw.split_once(':').expect("accepted id:secret");
    for (half, decoded) in [(raw_id, id), (raw_secret, secret)] {
        assert!(well_escaped(half), "malformed percent-escape accepted in {half:?}");
        assert_eq!(form_decode(half), decoded, "{half:?} decoded unlike application/x-www-form-urlencoded");
    }
    let encoded = canonical_basic(id, secret);
    assert_eq!(client_auth::basic(encoded.as_bytes()), Some((id.to_owned(), secret.to_owned())));
}

/// Whether every `%` in `text` starts a `%XX` escape with two hexadecimal digits.
fn well_escaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'%')
        .all(|(i, _)| bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)))
}

/// `text` decoded as one `application/x-www-form-urlencoded` value, by the `form_urlencoded`
/// crate (`&` and `=` are escaped first, as they would separate pairs there).
fn form_decode(text: &str) -> String {
    let escaped = text.replace('&', "%26").replace('=', "%3D");
    let input = format!("v={escaped}");
    form_urlencoded::parse(input.as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 §2.3.1 writes it.
fn canonical_basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

/// Checks an error response: a known OAuth code among `allowed`, the status that goes with
/// it, a Basic challenge exactly on `invalid_client`, and a short one-line description.
fn check_error(error: &OAuthError, allowed: &[OAuthErrorCode]) -> OAuthErrorCode {
    let response = error.clone().into_response();
    let sent = response.extensions().get::<ErrorCode>().expect("every error response names its code").0;
    let code = CODES.into_iter().find(|c| c.as_str() == sent).expect("an unknown OAuth error code");
    assert!(allowed.contains(&code), "{sent} is not a parsing error");
    assert_eq!(response.status(), error.status());
    let expected_status = match code {
        OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    assert_eq!(response.status(), expected_status, "{sent} with status {}", response.status());
    let challenge = response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok());
    match code {
        OAuthErrorCode::InvalidClient => assert!(challenge.is_some_and(|c| c.starts_with("Basic "))),
        _ => assert!(challenge.is_none(), "a challenge on {sent}"),
    }
    let description = error.description();
    assert!(!description.is_empty() && description.len() <= MAX_DESCRIPTION, "description {description:?}");
    assert!(!description.chars().any(char::is_control), "control characters in {description:?}");
    code
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

    /// The targets of `fuzz/` whose entry points live in this crate.
    const TARGETS: &[Target] = &[
        ("token_form", |data| {
            let (body, authorization) = split_request(data);
            token_form(body, authorization);
        }),
        ("basic_header", basic_header),
        ("revocation_cursor", revocation_cursor),
        ("introspection_input", |data| {
            let (body, authorization) = split_request(data);
            introspection_input(body, authorization);
        }),
    ];

    /// Every committed seed and regression input passes its target's invariants.
    #[test]
    fn fuzz_seeds_and_regressions_replay() {
        replay(TARGETS);
    }

    #[test]
    fn requests_split_at_the_first_line_feed() {
        assert_eq!(split_request(b"grant_type=x"), (&b"grant_type=x"[..], None));
        assert_eq!(split_request(b"Basic YTpi\na=1\nb"), (&b"a=1\nb"[..], Some(&b"Basic YTpi"[..])));
        assert_eq!(split_request(b"\n"), (&b""[..], Some(&b""[..])));
    }

    #[test]
    fn escapes_are_checked_strictly_and_decoded_like_forms() {
        assert!(well_escaped("a%20b%7e"));
        assert!(!well_escaped("a%2"));
        assert!(!well_escaped("a%+1"));
        assert!(!well_escaped("%zz"));
        assert_eq!(form_decode("a+b%26c=d&e"), "a b&c=d&e");
    }
}
