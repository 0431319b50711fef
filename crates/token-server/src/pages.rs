//! What the browser-facing endpoints (authorization, login, logout) share: reading a request's
//! parameters and brand, the CSRF double-submit check, the brand's cookie jar, and the pages and
//! redirects they answer with. Errors here are HTML pages, never JSON: a person reads them.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use portcullis_credentials::secret::{constant_time_eq, generate_secret};
use portcullis_grants::GrantError;
use portcullis_tenancy::{BrandScope, Storage};

use crate::brand::{BrandLookup, scope_for};
use crate::client_auth::source_of;
use crate::cookies::{self, CookieJar};
use crate::form::{Form, parse_pairs, read_form};
use crate::html::{self, Look};
use crate::{AppState, OAuthError};

/// How long the CSRF cookie of a form lives: long enough to type a password.
const CSRF_TTL: i64 = 3600;

/// A browser request: its parameters (the query of a GET, the form body otherwise), its
/// headers, its resolved brand and the peer address.
pub(crate) struct PageRequest {
    pub(crate) headers: HeaderMap,
    pub(crate) form: Form,
    pub(crate) scope: BrandScope,
    pub(crate) source: Option<String>,
}

impl PageRequest {
    /// Reads the parameters strictly (each once; bodies form-encoded and bounded) and resolves
    /// the brand. Failures are pages: 400 for bad input, 404 for an unknown brand.
    pub(crate) async fn read<S: Storage>(state: &AppState<S>, brand: &str, request: Request) -> Result<Self, Response> {
        let source = source_of(&request);
        let (parts, body) = request.into_parts();
        let form = if parts.method == Method::GET {
            parse_pairs(parts.uri.query().unwrap_or_default().as_bytes(), &[])
        } else {
            read_form(&parts.headers, body, state.max_body_bytes, &[]).await
        };
        let form = form.map_err(|e| bad_request_page(None, &e))?;
        let scope = brand_scope(state, brand).await?;
        Ok(Self { headers: parts.headers, form, scope, source })
    }

    /// The browser's value of cookie `name`.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        cookies::read(&self.headers, name)
    }

    /// Whether the form's `csrf` field equals the browser's CSRF cookie (double submit): a
    /// cross-site form cannot read the cookie, so it cannot send the matching field.
    pub(crate) fn csrf_matches(&self) -> bool {
        match (self.cookie(cookies::CSRF), self.form.get("csrf")) {
            (Some(cookie), Some(field)) => constant_time_eq(cookie.as_bytes(), field.as_bytes()),
            _ => false,
        }
    }
}

/// A page with a CSRF-protected form, in the brand's look: `render` gets the look, the CSP nonce
/// and the CSRF token (the browser's CSRF cookie when it has one; else a new one, which the
/// response then sets).
pub(crate) fn form_page<S>(
    state: &AppState<S>,
    page: &PageRequest,
    render: impl FnOnce(&Look, &str, &str) -> Response,
) -> Response {
    let scope = &page.scope;
    let (csrf, fresh) = match page.cookie(cookies::CSRF) {
        Some(value) => (value, false),
        None => match generate_secret("csrf") {
            Ok((value, _)) => (value.expose().to_owned(), true),
            Err(e) => return server_error_page(Some(scope), e.into()),
        },
    };
    let look = Look::of(Some(scope));
    let mut response = render(&look, &html::nonce(), &csrf);
    if fresh && let Some(value) = jar(state, scope).set(cookies::CSRF, &csrf, CSRF_TTL, "Strict") {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// The brand's pages' path as the browser sees it: the issuer's path, which includes any path
/// of `http.public_url` (a proxy prefix such as `/auth`), e.g. `/auth/brands/acme`.
pub(crate) fn brand_path<S>(state: &AppState<S>, scope: &BrandScope) -> String {
    let issuer = state.grants.issuer(scope);
    openidconnect::url::Url::parse(&issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| format!("/brands/{}", scope.key()))
}

/// The cookie jar of a brand: cookies scoped to [`brand_path`].
pub(crate) fn jar<S>(state: &AppState<S>, scope: &BrandScope) -> CookieJar {
    CookieJar { path: brand_path(state, scope), secure: state.grants.public_url.starts_with("https://") }
}

/// Resolves the brand for a page: unknown brands get a 404 page.
async fn brand_scope<S: Storage>(state: &AppState<S>, brand: &str) -> Result<BrandScope, Response> {
    match scope_for(&state.grants.store, brand).await {
        Ok(scope) => Ok(scope),
        Err(BrandLookup::Unknown) => Err(html::message(
            StatusCode::NOT_FOUND,
            None,
            "Unknown sign-in page",
            "There is no sign-in service at this address. Check the link you followed.",
        )),
        Err(BrandLookup::Failed(e)) => Err(html::message(
            e.status(),
            None,
            "Temporarily unavailable",
            "The sign-in service cannot answer right now. Please try again in a moment.",
        )),
    }
}

/// A 400 page for malformed input.
pub(crate) fn bad_request_page(scope: Option<&BrandScope>, e: &OAuthError) -> Response {
    html::message(StatusCode::BAD_REQUEST, scope, "This request is not valid", e.description())
}

/// A 5xx page; the cause goes to the log only.
pub(crate) fn server_error_page(scope: Option<&BrandScope>, e: GrantError) -> Response {
    let status = OAuthError::from(e).status();
    html::message(
        status,
        scope,
        "Something went wrong",
        "The sign-in service could not complete this request. Please try again.",
    )
}

/// A `303 See Other` to `location` (after a POST, the browser follows it with a GET). Redirect
/// URIs are checked before any redirect, so `location` is always a valid header; should one not
/// be, the browser gets a 400 page instead of a broken response.
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(LOCATION, value);
            response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => {
            tracing::warn!("a redirect was refused: its location is not a valid header value");
            html::message(
                StatusCode::BAD_REQUEST,
                None,
                "This link cannot be followed",
                "The address of the application is not valid, so the sign-in service will not send you there.",
            )
        }
    }
}
