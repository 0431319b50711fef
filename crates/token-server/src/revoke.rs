//! `POST /brands/{k}/oauth/revoke` (RFC 7009).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use portcullis_grants::revoke::revoke;
use portcullis_tenancy::Storage;

use crate::brand::BrandParam;
use crate::client_auth::{PublicClients, authenticate_form};
use crate::form::Form;
use crate::{AppState, OAuthError, no_store};

/// Revokes the `token` parameter for the client it was issued to: 200 with an empty body,
/// also for unknown, expired or already-revoked tokens (RFC 7009 §2.2). A public client names
/// itself with `client_id` (RFC 7009 §2.1), so that it can end its own login at logout.
pub(crate) async fn handle<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    request: Request,
) -> Response {
    answer(state, &brand, request).await.unwrap_or_else(IntoResponse::into_response)
}

async fn answer<S: Storage>(state: AppState<S>, brand: &str, request: Request) -> Result<Response, OAuthError> {
    let auth = authenticate_form(&state, brand, request, PublicClients::Identified).await?;
    let token = token_parameter(&auth.form)?;
    revoke(&state.grants, &auth.scope, &auth.client, token, auth.source.as_deref()).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}

/// The request's `token` parameter (RFC 7009 §2.1, required). A `token_type_hint` is accepted
/// and not read: a token's shape says what it is, and the server may look beyond the hint.
pub(crate) fn token_parameter(form: &Form) -> Result<&str, OAuthError> {
    form.get("token").ok_or_else(|| OAuthError::invalid_request("the token parameter is required"))
}
