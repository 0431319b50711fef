//! `GET|POST /brands/{k}/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! With a valid `id_token_hint` for the signed-in user (or nobody signed in), the session ends
//! at once. Otherwise the user confirms on a page first, through a CSRF-protected form, so a
//! cross-site link alone cannot sign anyone out. Afterwards the browser goes to the client's
//! registered `post_logout_redirect_uri` (with `state`), or sees a signed-out page.

use axum::extract::{Request, State};
use axum::response::Response;
use http::header::SET_COOKIE;
use http::{Method, StatusCode};
use portcullis_grants::authorize::with_query;
use portcullis_grants::login::{current_session, end_session};
use portcullis_grants::logout::{LogoutError, LogoutParams, LogoutPlan, plan};
use portcullis_tenancy::Storage;

use crate::AppState;
use crate::brand::BrandParam;
use crate::cookies;
use crate::html::{self, Confirm, MessagePage};
use crate::pages::{PageRequest, brand_path, form_page, jar, see_other, server_error_page};

const NAMES: [&str; 4] = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state"];

/// The handler of both methods: a GET is the relying party's request, a POST the user's
/// confirmation of it.
pub(crate) async fn logout<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    request: Request,
) -> Response {
    let posted = request.method() == Method::POST;
    let page = match PageRequest::read(&state, &brand, request).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let scope = &page.scope;
    let confirmation = posted && page.form.get("csrf").is_some();
    if posted && !confirmation {
        // A relying party's cross-site POST carries no `SameSite=Lax` session cookie. Turn it
        // into a top-level GET of the same request, which does.
        let pairs: Vec<(&str, &str)> = NAMES.iter().filter_map(|n| page.form.get(n).map(|v| (*n, v))).collect();
        return see_other(&with_query(&format!("{}/logout", state.grants.issuer(scope)), &pairs));
    }
    let take = |name: &str| page.form.get(name).map(str::to_owned);
    let params = LogoutParams {
        id_token_hint: take("id_token_hint"),
        client_id: take("client_id"),
        post_logout_redirect_uri: take("post_logout_redirect_uri"),
        state: take("state"),
    };
    let plan = match plan(&state.grants, scope, &params).await {
        Ok(plan) => plan,
        Err(LogoutError::Invalid(message)) => {
            return html::message(StatusCode::BAD_REQUEST, Some(scope), "This sign-out link is not valid", &message);
        }
        Err(LogoutError::Grant(e)) => return server_error_page(Some(scope), e),
    };
    let session = match page.cookie(cookies::SESSION) {
        Some(cookie) => match current_session(&state.grants, scope, &cookie).await {
            Ok(found) => found.map(|(session, _)| (cookie, session)),
            Err(e) => return server_error_page(Some(scope), e),
        },
        None => None,
    };
    let proven = match &session {
        None => true,
        // An ID token of this very login: same user, same authentication.
        Some((_, session)) => plan
            .hint
            .as_ref()
            .is_some_and(|h| h.subject == session.subject && h.sid.as_deref() == Some(session.sid.as_str())),
    };
    if proven || (confirmation && page.csrf_matches()) {
        finished(&state, &page, &plan, session.map(|(cookie, _)| cookie).as_deref()).await
    } else {
        confirm_page(&state, &page)
    }
}

/// Ends the session (if any), clears the cookies, and redirects or shows the signed-out page.
async fn finished<S: Storage>(
    state: &AppState<S>,
    page: &PageRequest,
    plan: &LogoutPlan,
    cookie: Option<&str>,
) -> Response {
    let scope = &page.scope;
    if let Some(cookie) = cookie
        && let Err(e) = end_session(&state.grants, scope, cookie).await
    {
        return server_error_page(Some(scope), e);
    }
    let mut response = match &plan.redirect {
        Some(location) => see_other(location),
        None => {
            html::message(StatusCode::OK, Some(scope), "Signed out", "You are signed out. You may close this window.")
        }
    };
    let jar = jar(state, scope);
    for value in [jar.clear(cookies::SESSION), jar.clear(cookies::CSRF)].into_iter().flatten() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// "Sign out of {brand}?" with a form that posts the same request back.
fn confirm_page<S>(state: &AppState<S>, page: &PageRequest) -> Response {
    let action = format!("{}/logout", brand_path(state, &page.scope));
    form_page(state, page, |look, nonce, csrf| {
        let hidden: Vec<(&str, &str)> =
            NAMES.iter().filter_map(|name| page.form.get(name).map(|v| (*name, v))).collect();
        let message = format!("Do you want to sign out of {}?", look.name);
        let confirm = MessagePage {
            title: "Sign out",
            look,
            nonce,
            heading: "Sign out",
            message: &message,
            alert: false,
            confirm: Some(Confirm { action: &action, csrf, hidden, button: "Sign out" }),
        };
        html::render(StatusCode::OK, &confirm, nonce)
    })
}
