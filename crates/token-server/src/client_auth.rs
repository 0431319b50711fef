//! Client credentials from HTTP: `client_secret_basic` (RFC 6749 §2.3.1) or `client_secret_post`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use http::HeaderMap;
use http::header::AUTHORIZATION;
use portcullis_grants::client_auth::{authenticate, authenticate_or_identify};
use portcullis_grants::{ClientAuthMethod, ClientCredentials};
use portcullis_tenancy::{BrandScope, Client, Storage};

use crate::brand::scope_or_400;
use crate::form::{Form, read_form};
use crate::{AppState, OAuthError};

/// Parameters that a client-authenticated form (introspection, revocation) may repeat: none.
pub(crate) const FORM_REPEATABLE: &[&str] = &[];

/// A form request whose client has authenticated at the brand of the request.
pub(crate) struct AuthenticatedForm {
    pub(crate) scope: BrandScope,
    pub(crate) client: Client,
    pub(crate) form: Form,
    pub(crate) source: Option<String>,
}

/// Whether a client-authenticated form also takes a public client named by `client_id` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublicClients {
    /// Only a client that authenticates with its secret (introspection: RFC 7662 §2.1).
    Refused,
    /// A public client may name itself (revocation of its own tokens: RFC 7009 §2.1).
    Identified,
}

/// The peer address, for throttling and the audit log.
pub(crate) fn source_of(request: &Request) -> Option<String> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

/// Resolves the brand (unknown: 400), reads the form body strictly, and authenticates the
/// client by `client_secret_basic` or `client_secret_post`, or, where `public` allows it and no
/// credentials are presented, identifies a public client by `client_id` (failure: 401,
/// throttled: 429).
pub(crate) async fn authenticate_form<S: Storage>(
    state: &AppState<S>,
    brand: &str,
    request: Request,
    public: PublicClients,
) -> Result<AuthenticatedForm, OAuthError> {
    let scope = scope_or_400(&state.grants.store, brand).await?;
    let source = source_of(&request);
    let (parts, body) = request.into_parts();
    let form = read_form(&parts.headers, body, state.max_body_bytes, FORM_REPEATABLE).await?;
    let presented = credentials(&parts.headers, &form)?;
    record_client(presented.as_ref());
    let now = state.grants.clock.now();
    let public_client_id = form.get("client_id").filter(|_| public == PublicClients::Identified);
    let client =
        authenticate_or_identify(&state.grants, &scope, presented.as_ref(), public_client_id, now, source.as_deref())
            .await?;
    Ok(AuthenticatedForm { scope, client, form, source })
}

/// Authenticates a client by HTTP Basic alone (for GET endpoints, which have no form body).
pub(crate) async fn authenticate_basic<S: Storage>(
    state: &AppState<S>,
    scope: &BrandScope,
    headers: &HeaderMap,
    source: Option<&str>,
) -> Result<Client, OAuthError> {
    let presented = match headers.get(AUTHORIZATION) {
        Some(header) => {
            let (client_id, secret) = basic(header.as_bytes()).ok_or_else(OAuthError::invalid_client)?;
            Some(ClientCredentials { client_id, secret, method: ClientAuthMethod::Basic })
        }
        None => None,
    };
    record_client(presented.as_ref());
    let now = state.grants.clock.now();
    Ok(authenticate(&state.grants, scope, presented.as_ref(), now, source).await?)
}

/// Names the presented client id (never the secret) in the current request's log span.
pub(crate) fn record_client(presented: Option<&ClientCredentials>) {
    if let Some(c) = presented {
        let shown: String = c.client_id.chars().take(64).collect();
        tracing::Span::current().record("client_id", shown.as_str());
    }
}

/// Extracts the client's credentials. `Ok(None)` means none were presented.
///
/// A malformed Basic header is a failed authentication (401 with a challenge); presenting
/// credentials both ways, or two different client ids, is a malformed request.
pub(crate) fn credentials(headers: &HeaderMap, form: &Form) -> Result<Option<ClientCredentials>, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    if let Some(header) = headers.get(AUTHORIZATION) {
        let (id, secret) = basic(header.as_bytes()).ok_or_else(OAuthError::invalid_client)?;
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_request("client_id in the body differs from the Basic credentials"));
        }
        return Ok(Some(ClientCredentials { client_id: id, secret, method: ClientAuthMethod::Basic }));
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(Some(ClientCredentials {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
            method: ClientAuthMethod::Post,
        })),
        (None, Some(_)) => Err(OAuthError::invalid_request("client_secret given without client_id")),
        _ => Ok(None),
    }
}

/// Decodes `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub(crate) fn basic(header: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, payload) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let payload = payload.trim();
    let decoded = STANDARD.decode(payload).or_else(|_| STANDARD_NO_PAD.decode(payload)).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let (id, secret) = (url_decode(id)?, url_decode(secret)?);
    if id.is_empty() {
        return None;
    }
    Some((id, secret))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
/// Invalid escapes or non-UTF-8 results are refused rather than guessed at.
fn url_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Exactly two hex digits: `from_str_radix` alone would take a sign (`%+A`).
                let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(raw: &str) -> Option<(String, String)> {
        basic(raw.as_bytes())
    }

    #[test]
    fn decodes_basic_with_form_encoding() {
        let encoded = STANDARD.encode("my%20client:s%3Acret+x");
        assert_eq!(header(&format!("Basic {encoded}")), Some(("my client".into(), "s:cret x".into())));
        let unpadded = STANDARD_NO_PAD.encode("a:b");
        assert_eq!(header(&format!("basic {unpadded}")), Some(("a".into(), "b".into())));
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "Basic",
            "Basic !!!",
            "Bearer abc",
            &format!("Basic {}", STANDARD.encode("no-colon")),
            &format!("Basic {}", STANDARD.encode(":secret")),
            &format!("Basic {}", STANDARD.encode("a%zz:b")),
            &format!("Basic {}", STANDARD.encode([0xff, b':', b'x'])),
        ] {
            assert_eq!(header(bad), None, "{bad}");
        }
    }
}
