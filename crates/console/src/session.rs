//! The console session and its CSRF rules.
//!
//! The session cookie holds the admin access token the sign-in obtained. Every request
//! authenticates it exactly as the GraphQL API authenticates a Bearer token
//! ([`portcullis_admin::auth::authenticate`]): signature, expiry, a live record, no revocation.
//! So the session ends when the token expires (the brand's access-token lifetime, 15 minutes by
//! default), when an administrator revokes it, and at sign-out (which ends it for good: unlike a
//! revoked token, an ended one can never be approved again, so a signed-out session never comes
//! back).
//!
//! The cookie is `__Host-` prefixed, `HttpOnly`, `Secure` and `SameSite=Strict`. Browsers
//! accept `Secure` cookies from `http://localhost` and loopback addresses; anywhere else the
//! console must be reached over HTTPS (a TLS-terminating proxy in front of the admin listener).
//!
//! CSRF: every form of a signed-in page carries a token derived from the session (a SHA-256 of
//! the session value under a fixed label), so a cross-site form cannot know it and a planted
//! cookie cannot produce it. The sign-in form, before any session exists, uses a double-submit
//! cookie instead. Requests a browser marks as coming from another site (`Sec-Fetch-Site`) are
//! refused outright.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::response::Response;
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use portcullis_admin::{AdminError, Caller};
use portcullis_credentials::secret::{constant_time_eq, hash_secret};

use crate::ConsoleState;
use crate::form::Form;
use crate::page;

/// The session cookie: the admin access token.
pub const SESSION_COOKIE: &str = "__Host-portcullis_console";

/// The double-submit CSRF cookie of the sign-in form.
pub const SIGN_IN_CSRF_COOKIE: &str = "__Host-portcullis_console_csrf";

/// The path of every console cookie: the `__Host-` prefix requires `/` (and `Secure`, and no
/// `Domain`), which is what makes the cookies impossible to plant from a sibling subdomain or
/// over plain HTTP. The admin listener's other routes ignore cookies.
const COOKIE_PATH: &str = "/";

/// The longest cookie value read (an access token is well under 2 KiB).
const MAX_COOKIE_VALUE: usize = 4096;

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who the API sees.
    pub caller: Caller,
    /// The CSRF token of this session's forms.
    pub csrf: String,
}

impl Session {
    /// Authenticates the session cookie of `headers`; `None` when there is none or it no longer
    /// works (expired, revoked, not an admin token).
    pub async fn of(
        state: &ConsoleState,
        headers: &HeaderMap,
        source: Option<String>,
    ) -> Result<Option<Self>, Response> {
        match read_cookie(headers, SESSION_COOKIE) {
            Some(token) => Self::authenticate(state, &token, source).await,
            None => Ok(None),
        }
    }

    /// Authenticates a session value (an admin access token).
    pub(crate) async fn authenticate(
        state: &ConsoleState,
        token: &str,
        source: Option<String>,
    ) -> Result<Option<Self>, Response> {
        let bearer = format!("Bearer {token}");
        match portcullis_admin::auth::authenticate(&state.grants, Some(bearer.as_bytes()), source).await {
            Ok(caller) => Ok(Some(Self { caller, csrf: csrf_token(token) })),
            Err(AdminError::Unauthenticated(_) | AdminError::Forbidden(_)) => Ok(None),
            Err(AdminError::Unavailable) => Err(page::unavailable()),
            Err(e) => {
                tracing::error!(error = %e, "console session check failed");
                Err(page::unavailable())
            }
        }
    }

    /// The brand the caller administers when it is a brand administrator; `None` for a
    /// platform administrator.
    pub fn own_brand(&self) -> Option<&str> {
        match &self.caller.authority {
            portcullis_admin::auth::Authority::Platform => None,
            portcullis_admin::auth::Authority::Brand(key) => Some(key.as_str()),
        }
    }
}

impl FromRequestParts<ConsoleState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let source = source_of(parts);
        match Session::of(state, &parts.headers, source).await? {
            Some(session) => Ok(session),
            None => Err(to_sign_in(read_cookie(&parts.headers, SESSION_COOKIE).is_some())),
        }
    }
}

/// A form posted from a signed-in page: the session, and the form once its CSRF token checked
/// out.
#[derive(Debug)] // `Form`'s `Debug` shows field names only.
pub struct Posted {
    /// Who posted it.
    pub session: Session,
    /// The fields.
    pub form: Form,
}

impl FromRequest<ConsoleState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        if cross_site(&parts.headers) {
            return Err(forbidden_form());
        }
        let session = Session::from_request_parts(&mut parts, state).await?;
        let form = Form::read_body(&parts.headers, body, state.max_body_bytes).await?;
        let presented = form.get("csrf").unwrap_or_default();
        if !constant_time_eq(presented.as_bytes(), session.csrf.as_bytes()) {
            return Err(forbidden_form());
        }
        Ok(Self { session, form })
    }
}

/// The CSRF token of the session whose cookie value is `session`.
fn csrf_token(session: &str) -> String {
    hash_secret(&format!("portcullis-console-csrf:{session}")).as_str().to_owned()
}

/// Whether the browser says the request came from another site (or another port of this host).
/// Browsers without `Sec-Fetch-Site` are judged by the CSRF token alone.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    !matches!(site, None | Some("same-origin" | "none"))
}

/// The page of a form refused for CSRF reasons.
pub(crate) fn forbidden_form() -> Response {
    page::message(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this console, or it is too old. Go back, reload the page and try again.",
    )
}

/// Sends the browser to the sign-in page, deleting a session cookie that no longer works.
pub(crate) fn to_sign_in(stale: bool) -> Response {
    let mut response = page::see_other(if stale { "/console/sign-in?expired=1" } else { "/console/sign-in" });
    if stale && let Some(clear) = clear_cookie(SESSION_COOKIE) {
        response.headers_mut().append(SET_COOKIE, clear);
    }
    response
}

/// The peer address, for the audit log.
pub(crate) fn source_of(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

/// The value of cookie `name`, when the request carries it exactly once with a sane value.
pub(crate) fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value);
    let value = values.next()?;
    // Two cookies of one name (one planted for a wider path, say): trust neither.
    if values.next().is_some() || value.is_empty() || value.len() > MAX_COOKIE_VALUE {
        return None;
    }
    value.bytes().all(|b| b.is_ascii_graphic() && b != b'"').then(|| value.to_owned())
}

/// A `Set-Cookie` value for a console cookie.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
    ))
    .ok()
}

/// A `Set-Cookie` value deleting a console cookie.
pub(crate) fn clear_cookie(name: &str) -> Option<HeaderValue> {
    set_cookie(name, "", 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_and_refuses_duplicates() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; __Host-portcullis_console=eyJ.x.y; b=2"));
        assert_eq!(read_cookie(&headers, SESSION_COOKIE).as_deref(), Some("eyJ.x.y"));
        assert_eq!(read_cookie(&headers, SIGN_IN_CSRF_COOKIE), None);
        headers.append(COOKIE, HeaderValue::from_static("__Host-portcullis_console=other"));
        assert_eq!(read_cookie(&headers, SESSION_COOKIE), None, "two values: neither is trusted");
    }

    #[test]
    fn cookies_are_strict_secure_and_scoped_to_the_console() {
        let value = set_cookie(SESSION_COOKIE, "v", 60).expect("header");
        assert_eq!(
            value.to_str().expect("ascii"),
            "__Host-portcullis_console=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Strict"
        );
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert!(!csrf_token("secret-session").contains("secret-session"), "the session value does not show");
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        assert!(!cross_site(&headers), "old browsers send no Sec-Fetch-Site");
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&headers));
        for site in ["cross-site", "same-site"] {
            headers.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert!(cross_site(&headers), "{site}");
        }
    }
}
