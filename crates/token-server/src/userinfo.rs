//! `GET|POST /brands/{k}/userinfo` (OpenID Connect Core §5.3): the signed-in user's claims for
//! a Bearer access token, with RFC 6750 errors.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use portcullis_grants::userinfo::{UserInfoOutcome, userinfo};
use portcullis_tenancy::Storage;
use serde_json::json;

use crate::brand::{BrandParam, scope_or_404};
use crate::{AppState, OAuthError};

/// The handler.
pub(crate) async fn handle<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let scope = scope_or_404(&state.grants.store, &brand).await?;
    let Some(token) = bearer(&headers) else {
        // RFC 6750 §3.1: no credentials at all gets a bare challenge.
        return Ok(challenge(StatusCode::UNAUTHORIZED, None, "Bearer realm=\"userinfo\""));
    };
    Ok(match userinfo(&state.grants, &scope, token).await? {
        UserInfoOutcome::Claims(claims) => crate::no_store(Json(claims).into_response()),
        UserInfoOutcome::InvalidToken => challenge(
            StatusCode::UNAUTHORIZED,
            Some(("invalid_token", "the access token is invalid, expired or revoked")),
            "Bearer realm=\"userinfo\", error=\"invalid_token\"",
        ),
        UserInfoOutcome::InsufficientScope => challenge(
            StatusCode::FORBIDDEN,
            Some(("insufficient_scope", "the access token lacks the openid scope")),
            "Bearer realm=\"userinfo\", error=\"insufficient_scope\", scope=\"openid\"",
        ),
    })
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn challenge(status: StatusCode, error: Option<(&str, &str)>, header: &'static str) -> Response {
    let body = match error {
        Some((error, description)) => json!({ "error": error, "error_description": description }),
        None => {
            json!({ "error": "invalid_request", "error_description": "an Authorization: Bearer header is required" })
        }
    };
    let mut response = crate::no_store((status, Json(body)).into_response());
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(header));
    response
}
