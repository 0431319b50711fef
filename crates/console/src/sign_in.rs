//! Signing in (an admin client's id and secret, exchanged for an admin access token that
//! becomes the session) and signing out (the token is ended for good).

use askama::Template;
use axum::extract::{FromRequestParts, Request, State};
use axum::response::Response;
use http::StatusCode;
use http::header::SET_COOKIE;
use portcullis_core::{ADMIN_AUDIENCE, BRAND_ADMIN_SCOPE, BrandKey, PLATFORM_ADMIN_SCOPE, SYSTEM_BRAND};
use portcullis_credentials::secret::{constant_time_eq, generate_secret};
use portcullis_grants::{ClientAuthMethod, ClientCredentials, GrantError, TokenRequest, exchange};
use portcullis_tenancy::resolve_brand;
use serde_json::json;

use crate::ConsoleState;
use crate::api;
use crate::form::Form;
use crate::page::{self, Layout, Notice};
use crate::session::{
    Posted, SESSION_COOKIE, SIGN_IN_CSRF_COOKIE, Session, clear_cookie, cross_site, forbidden_form, read_cookie,
    set_cookie, source_of,
};

/// How long the sign-in form's CSRF cookie lives.
const SIGN_IN_CSRF_TTL: i64 = 3600;

/// The one message for every failed sign-in: which part was wrong is not disclosed.
const WRONG: &str = "The brand, client ID or client secret is not right, or the client is disabled.";

/// The sign-in form.
#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    l: Layout,
    csrf: &'a str,
    brand: &'a str,
    client_id: &'a str,
}

/// `GET /console/sign-in`.
pub async fn page(State(state): State<ConsoleState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let stale = read_cookie(&parts.headers, SESSION_COOKIE).is_some();
    if Session::from_request_parts(&mut parts, &state).await.is_ok() {
        return page::see_other("/console");
    }
    let query = Form::parse(parts.uri.query().unwrap_or_default().as_bytes());
    let notice = if query.checked("expired") {
        Some(Notice::failed("Your session has ended. Sign in again."))
    } else if query.checked("signed-out") {
        Some(Notice::done("You are signed out."))
    } else if query.checked("cookie-refused") {
        Some(Notice::failed(
            "Your browser did not keep the session cookie, which is only sent over HTTPS: open the \
             console at an https:// address (or on localhost).",
        ))
    } else {
        None
    };
    let mut response = form(StatusCode::OK, notice, query.text("brand").unwrap_or(SYSTEM_BRAND), "");
    if stale && let Some(clear) = clear_cookie(SESSION_COOKIE) {
        response.headers_mut().append(SET_COOKIE, clear);
    }
    response
}

/// The sign-in form, with a fresh CSRF cookie (never one the browser brought: it could have been
/// planted).
fn form(status: StatusCode, notice: Option<Notice>, brand: &str, client_id: &str) -> Response {
    let csrf = match generate_secret("csrf") {
        Ok((value, _)) => value.expose().to_owned(),
        Err(e) => {
            tracing::error!(error = %e, "no randomness for a CSRF token");
            return page::unavailable();
        }
    };
    let layout = Layout::anonymous("Sign in to the Portcullis console").with_notice(notice);
    let mut response = page::render(status, &SignInPage { l: layout, csrf: &csrf, brand, client_id });
    if let Some(cookie) = set_cookie(SIGN_IN_CSRF_COOKIE, &csrf, SIGN_IN_CSRF_TTL) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// `POST /console/sign-in`: `brand`, `client_id`, `client_secret`.
pub async fn submit(State(state): State<ConsoleState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if cross_site(&parts.headers) {
        return forbidden_form();
    }
    let source = source_of(&parts);
    let fields = match Form::read_body(&parts.headers, body, state.max_body_bytes).await {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    let brand = fields.text("brand").unwrap_or(SYSTEM_BRAND);
    let client_id = fields.text("client_id").unwrap_or_default();
    let again = |status, message: &str| form(status, Some(Notice::failed(message)), brand, client_id);
    let csrf_ok = match (read_cookie(&parts.headers, SIGN_IN_CSRF_COOKIE), fields.get("csrf")) {
        (Some(cookie), Some(field)) => constant_time_eq(cookie.as_bytes(), field.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        return again(StatusCode::FORBIDDEN, "The form had expired. Please sign in again.");
    }
    let secret = fields.get("client_secret").unwrap_or_default();
    if client_id.is_empty() || secret.is_empty() {
        return again(StatusCode::UNPROCESSABLE_ENTITY, "Enter the client ID and the client secret.");
    }
    let token = match admin_token(&state, brand, client_id, secret, source.clone()).await {
        Ok(token) => token,
        Err(SignInError::Wrong) => return again(StatusCode::FORBIDDEN, WRONG),
        Err(SignInError::NotAdmin) => {
            return again(
                StatusCode::FORBIDDEN,
                "This client is not an administrator: it needs the client_credentials grant and the \
                 platform:admin scope (system brand) or the brand:admin scope (other brands).",
            );
        }
        Err(SignInError::Throttled(seconds)) => {
            return again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many failed attempts. Try again in {seconds} seconds."),
            );
        }
        Err(SignInError::Refused(reason)) => {
            return again(StatusCode::FORBIDDEN, &format!("The token request was refused: {reason}"));
        }
        Err(SignInError::Unavailable) => return page::unavailable(),
    };
    let session = match Session::authenticate(&state, &token.0, source).await {
        Ok(Some(session)) => session,
        Ok(None) => return again(StatusCode::FORBIDDEN, "This client's token does not grant administration."),
        Err(response) => return response,
    };
    let lifetime = (session.caller.expires_at - state.grants.clock.now()).max(0);
    // `signed-in` lets the home page tell a refused cookie from no sign-in at all.
    let mut response = page::see_other("/console?signed-in=1");
    for cookie in
        [set_cookie(SESSION_COOKIE, &token.0, lifetime), clear_cookie(SIGN_IN_CSRF_COOKIE)].into_iter().flatten()
    {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// An admin access token (kept out of `Debug` output).
struct AdminToken(String);

enum SignInError {
    Wrong,
    /// The brand refused the request for another reason (it requires an audience, say).
    Refused(String),
    NotAdmin,
    Throttled(u64),
    Unavailable,
}

/// Exchanges the client's credentials for an admin token at its brand, as the token endpoint
/// would (throttled and audited): `platform:admin` when the system brand's client has it, else
/// `brand:admin`.
async fn admin_token(
    state: &ConsoleState,
    brand: &str,
    client_id: &str,
    secret: &str,
    source: Option<String>,
) -> Result<AdminToken, SignInError> {
    let key = BrandKey::parse_existing(brand).map_err(|_| SignInError::Wrong)?;
    let scope = match resolve_brand(&state.grants.store, &key).await {
        Ok(Some(scope)) => scope,
        Ok(None) => return Err(SignInError::Wrong),
        Err(e) => {
            tracing::warn!(error = %e, "console sign-in could not resolve the brand");
            return Err(SignInError::Unavailable);
        }
    };
    let credentials = ClientCredentials {
        client_id: client_id.to_owned(),
        secret: secret.to_owned(),
        method: ClientAuthMethod::Post,
    };
    // The system brand is administered only with platform:admin (it holds the platform
    // administrators' clients); every other brand with brand:admin.
    let wanted = if brand == SYSTEM_BRAND { PLATFORM_ADMIN_SCOPE } else { BRAND_ADMIN_SCOPE };
    let request = TokenRequest {
        grant_type: Some("client_credentials".into()),
        scope: Some(wanted.to_owned()),
        // Admin tokens are for the management API alone, whatever audience the brand requires.
        audience: Some(ADMIN_AUDIENCE.to_owned()),
        source,
        ..TokenRequest::default()
    };
    match exchange(&state.grants, &scope, Some(&credentials), &request).await {
        Ok(response) => Ok(AdminToken(response.access_token)),
        Err(GrantError::InvalidScope(_) | GrantError::UnauthorizedClient(_)) => Err(SignInError::NotAdmin),
        Err(GrantError::InvalidClient { .. }) => Err(SignInError::Wrong),
        Err(GrantError::Throttled { retry_after }) => Err(SignInError::Throttled(retry_after)),
        Err(e) if e.is_internal() => {
            tracing::warn!(error = %e, "console sign-in failed");
            Err(SignInError::Unavailable)
        }
        Err(e) => Err(SignInError::Refused(e.description())),
    }
}

/// `POST /console/sign-out`: revokes the session's token (through the API, as the caller; the
/// caller's own token is ended for good, so no administrator can approve it back) and deletes
/// the cookie.
pub async fn sign_out(State(state): State<ConsoleState>, posted: Posted) -> Response {
    let caller = &posted.session.caller;
    let revoke = "mutation($b: String!, $jti: String!) { revokeToken(brandKey: $b, jti: $jti) { jti } }";
    let variables = json!({"b": caller.brand.as_str(), "jti": caller.token_id});
    if let Err(problem) = api::run(&state, &posted.session, revoke, variables).await {
        tracing::warn!(code = %problem.code, "the console session's token could not be revoked at sign-out");
    }
    let mut response = page::see_other("/console/sign-in?signed-out=1");
    if let Some(cookie) = clear_cookie(SESSION_COOKIE) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}
