//! The authorization endpoint (`GET|POST /brands/{k}/oauth/authorize`) and the login form it
//! shows (`POST /brands/{k}/login`): OpenID Connect's authorization-code flow with PKCE.
//!
//! The logic lives in `portcullis_grants::authorize` and `::login`; this module speaks HTTP:
//! parameters, cookies, pages and redirects. Until the client and its redirect URI are
//! known, errors are pages (never redirects); afterwards they go back to the client.

use axum::extract::{Request, State};
use axum::response::Response;
use http::header::{RETRY_AFTER, SET_COOKIE};
use http::{HeaderValue, StatusCode};
use portcullis_grants::GrantError;
use portcullis_grants::authorize::{Authorization, AuthorizationParams, AuthorizeError, issue_code, validate};
use portcullis_grants::login::{Attempt, authenticate_principal, current_session, end_session, start_session};
use portcullis_tenancy::{BrandScope, Principal, PrincipalKind, Storage};

use crate::AppState;
use crate::brand::BrandParam;
use crate::cookies;
use crate::html::{self, LoginPage};
use crate::pages::{PageRequest, brand_path, form_page, jar, see_other, server_error_page};

/// A browser request carrying an authorization request, validated.
struct AuthorizationPage {
    page: PageRequest,
    params: AuthorizationParams,
    request: Authorization,
}

impl AuthorizationPage {
    /// Reads the page request and validates the authorization request in it; failures are the
    /// pages or redirects the validation order calls for.
    async fn read<S: Storage>(state: &AppState<S>, brand: &str, request: Request) -> Result<Self, Response> {
        let page = PageRequest::read(state, brand, request).await?;
        let params = AuthorizationParams::from_lookup(|name| page.form.get(name));
        match validate(&state.grants, &page.scope, &params).await {
            Ok(request) => Ok(Self { page, params, request }),
            Err(e) => Err(authorize_error(state, &page.scope, e)),
        }
    }
}

/// `GET|POST /brands/{k}/oauth/authorize` (OpenID Connect Core §3.1.2.1: parameters in the
/// query, or in a form body).
pub(crate) async fn authorize<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    request: Request,
) -> Response {
    let AuthorizationPage { page, params, request } = match AuthorizationPage::read(&state, &brand, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let scope = &page.scope;
    let now = state.grants.clock.now();
    let session = match page.cookie(cookies::SESSION) {
        Some(cookie) => match current_session(&state.grants, scope, &cookie).await {
            Ok(session) => session,
            Err(e) => return server_error_page(Some(scope), e),
        },
        None => None,
    };
    if let Some((session, user)) = &session
        && !request.prompt.login
        && request.accepts_auth_time(session.auth_time, now)
    {
        return match issue_code(&state.grants, scope, &request, user, session).await {
            Ok(location) => see_other(&location),
            Err(e) => server_error_page(Some(scope), e),
        };
    }
    if request.prompt.none {
        let e = request.error("login_required", "the user is not signed in (prompt=none)");
        return see_other(&e.location(&state.grants.issuer(scope)));
    }
    let form = LoginForm { params: &params, username: request.login_hint.as_deref().unwrap_or_default(), error: None };
    form.render(&state, &page, StatusCode::OK)
}

/// `POST /brands/{k}/login`: the login form, with the authorization request in hidden fields.
pub(crate) async fn login<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    request: Request,
) -> Response {
    let AuthorizationPage { page, params, request } = match AuthorizationPage::read(&state, &brand, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let scope = &page.scope;
    let username = page.form.get("username").unwrap_or_default().trim();
    let password = page.form.get("password").unwrap_or_default();
    let form = |error| LoginForm { params: &params, username, error: Some(error) };
    if !page.csrf_matches() {
        let message = "Your sign-in form expired or was not sent from this page. Please try again.";
        return form(message).render(&state, &page, StatusCode::FORBIDDEN);
    }
    if username.is_empty() || password.is_empty() {
        return form("Enter your username and password.").render(&state, &page, StatusCode::BAD_REQUEST);
    }
    let attempt = Attempt {
        kind: PrincipalKind::User,
        username,
        password,
        source: page.source.as_deref(),
        channel: "login_page",
    };
    match authenticate_principal(&state.grants, scope, &attempt).await {
        Ok(user) => signed_in(&state, &page, &request, &user).await,
        Err(GrantError::Throttled { retry_after }) => {
            let message = format!("Too many attempts. Please wait {retry_after} seconds and try again.");
            let mut response = form(&message).render(&state, &page, StatusCode::TOO_MANY_REQUESTS);
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Err(GrantError::InvalidGrant(_)) => {
            form("The username or password is incorrect.").render(&state, &page, StatusCode::UNAUTHORIZED)
        }
        Err(e) => server_error_page(Some(scope), e),
    }
}

/// After a successful login: a fresh session (a new cookie value, so a planted session id
/// is never promoted; the browser's previous session of this brand ends), then the code.
async fn signed_in<S: Storage>(
    state: &AppState<S>,
    page: &PageRequest,
    request: &Authorization,
    user: &Principal,
) -> Response {
    let scope = &page.scope;
    let now = state.grants.clock.now();
    if let Some(previous) = page.cookie(cookies::SESSION)
        && let Err(e) = end_session(&state.grants, scope, &previous).await
    {
        return server_error_page(Some(scope), e);
    }
    let (cookie, session) = match start_session(&state.grants, scope, &user.id, now).await {
        Ok(started) => started,
        Err(e) => return server_error_page(Some(scope), e),
    };
    let location = match issue_code(&state.grants, scope, request, user, &session).await {
        Ok(location) => location,
        Err(e) => return server_error_page(Some(scope), e),
    };
    let mut response = see_other(&location);
    let jar = jar(state, scope);
    let lifetime = session.expires_at - now;
    for value in
        [jar.set(cookies::SESSION, cookie.expose(), lifetime, "Lax"), jar.clear(cookies::CSRF)].into_iter().flatten()
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// The login form for an authorization request.
struct LoginForm<'a> {
    /// Carried through the form in hidden fields.
    params: &'a AuthorizationParams,
    /// Pre-filled.
    username: &'a str,
    /// Shown above the form.
    error: Option<&'a str>,
}

impl LoginForm<'_> {
    /// Renders the form.
    fn render<S>(&self, state: &AppState<S>, page: &PageRequest, status: StatusCode) -> Response {
        let action = format!("{}/login", brand_path(state, &page.scope));
        form_page(state, page, |look, nonce, csrf| {
            let login = LoginPage {
                title: "Sign in",
                look,
                nonce,
                action: &action,
                csrf,
                hidden: self.params.pairs(),
                username: self.username,
                error: self.error,
            };
            html::render(status, &login, nonce)
        })
    }
}

fn authorize_error<S>(state: &AppState<S>, scope: &BrandScope, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(message) => {
            html::message(StatusCode::BAD_REQUEST, Some(scope), "This sign-in link is not valid", &message)
        }
        AuthorizeError::Redirect(redirect) => see_other(&redirect.location(&state.grants.issuer(scope))),
        AuthorizeError::Grant(e) => server_error_page(Some(scope), e),
    }
}
