//! `POST /brands/{k}/oauth/token` and `POST /oauth/token?brand_key={k}`.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use portcullis_core::GrantType;
use portcullis_grants::{SUPPORTED_GRANTS, TokenRequest, exchange};
use portcullis_tenancy::Storage;
use tracing::Instrument;

use crate::brand::{BrandParam, scope_or_400};
use crate::form::{parse_pairs, read_form};
use crate::metrics::GrantLabel;
use crate::{AppState, OAuthError, client_auth};

/// The token endpoint with the brand in the path.
pub(crate) async fn token_at_path<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    request: Request,
) -> Response {
    handle(state, &brand, request).await.unwrap_or_else(IntoResponse::into_response)
}

/// The token endpoint with the brand in the mandatory `brand_key` query parameter.
pub(crate) async fn token_by_query<S: Storage>(State(state): State<AppState<S>>, request: Request) -> Response {
    let query = request.uri().query().unwrap_or_default().as_bytes().to_vec();
    let brand = match parse_pairs(&query, &[]) {
        Ok(q) => q.get("brand_key").map(str::to_owned),
        Err(e) => return e.into_response(),
    };
    match brand {
        Some(brand) => handle(state, &brand, request).await.unwrap_or_else(IntoResponse::into_response),
        None => {
            OAuthError::invalid_request("the brand_key query parameter is required at /oauth/token").into_response()
        }
    }
}

async fn handle<S: Storage>(state: AppState<S>, brand: &str, request: Request) -> Result<Response, OAuthError> {
    let scope = scope_or_400(&state.grants.store, brand).await?;
    let source = client_auth::source_of(&request);
    let (parts, body) = request.into_parts();
    let form = read_form(&parts.headers, body, state.max_body_bytes, &["resource"]).await?;
    let credentials = client_auth::credentials(&parts.headers, &form)?;
    client_auth::record_client(credentials.as_ref());
    let token_request = TokenRequest {
        grant_type: form.get("grant_type").map(str::to_owned),
        scope: form.get("scope").map(str::to_owned),
        audience: form.get("audience").map(str::to_owned),
        resource: form.all("resource"),
        source,
        username: form.get("username").map(str::to_owned),
        password: form.get("password").map(str::to_owned),
        refresh_token: form.get("refresh_token").map(str::to_owned),
        code: form.get("code").map(str::to_owned),
        redirect_uri: form.get("redirect_uri").map(str::to_owned),
        code_verifier: form.get("code_verifier").map(str::to_owned),
        // Without credentials, a client_id in the body names a public client.
        public_client_id: if credentials.is_none() { form.get("client_id").map(str::to_owned) } else { None },
    };
    let span = tracing::info_span!(
        "token",
        brand = %scope.key(),
        client = credentials.as_ref().map(|c| c.client_id.as_str()).unwrap_or("-"),
        grant = token_request.grant_type.as_deref().unwrap_or("-"),
    );
    let grant = token_request
        .grant_type
        .as_deref()
        .and_then(|g| g.parse::<GrantType>().ok())
        .filter(|g| SUPPORTED_GRANTS.contains(g))
        .map(|g| GrantLabel(g.as_str()));
    let result = exchange(&state.grants, &scope, credentials.as_ref(), &token_request).instrument(span).await;
    let mut response = match result {
        Ok(issued) => crate::no_store(Json(issued).into_response()),
        Err(e) => OAuthError::from(e).into_response(),
    };
    if let Some(grant) = grant {
        response.extensions_mut().insert(grant);
    }
    Ok(response)
}
