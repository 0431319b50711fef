//! `POST /brands/{k}/oauth/introspect` (RFC 7662).

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use portcullis_grants::introspect::introspect;
use portcullis_tenancy::Storage;

use crate::brand::BrandParam;
use crate::client_auth::{PublicClients, authenticate_form};
use crate::form::Form;
use crate::{AppState, OAuthError, no_store};

/// Introspects the `token` parameter for an authenticated client of the brand.
pub(crate) async fn handle<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    request: Request,
) -> Response {
    answer(state, &brand, request).await.unwrap_or_else(IntoResponse::into_response)
}

async fn answer<S: Storage>(state: AppState<S>, brand: &str, request: Request) -> Result<Response, OAuthError> {
    let auth = authenticate_form(&state, brand, request, PublicClients::Refused).await?;
    let (token, hint) = parameters(&auth.form)?;
    let answer = introspect(&state.grants, &auth.scope, token, hint).await?;
    Ok(no_store(Json(answer).into_response()))
}

/// The request's `token` (required) and `token_type_hint` (optional), as RFC 7662 §2.1 names
/// them. The hint is passed on as given: the grant engine decides what it means.
pub(crate) fn parameters(form: &Form) -> Result<(&str, Option<&str>), OAuthError> {
    let token = form.get("token").ok_or_else(|| OAuthError::invalid_request("the token parameter is required"))?;
    Ok((token, form.get("token_type_hint")))
}
