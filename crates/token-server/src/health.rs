//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers and the signing
//! keys open).

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use axum::{Router, response::IntoResponse};
use http::StatusCode;
use portcullis_grants::provision::system_brand_key;
use portcullis_tenancy::{Storage, resolve_brand};
use serde_json::json;

use crate::AppState;

pub(crate) fn routes<S: Storage>() -> Router<AppState<S>> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz::<S>))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// What failed a readiness check.
enum NotReady {
    Database,
    SigningKeys,
}

/// The database answers, and the `system` brand's active signing key can be read and opened
/// with the configured master key (what every token issuance needs).
async fn check<S: Storage>(state: &AppState<S>) -> Result<(), NotReady> {
    let g = &state.grants;
    g.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness: database unreachable");
        NotReady::Database
    })?;
    let scope = match resolve_brand(&g.store, &system_brand_key()).await {
        Ok(Some(scope)) => scope,
        Ok(None) => {
            tracing::warn!("readiness: the system brand does not exist");
            return Err(NotReady::SigningKeys);
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            return Err(NotReady::Database);
        }
    };
    g.keys.active(&g.store, &scope).await.map(drop).map_err(|e| {
        tracing::warn!(error = %e, "readiness: signing keys unusable");
        NotReady::SigningKeys
    })
}

async fn readyz<S: Storage>(State(state): State<AppState<S>>) -> impl IntoResponse {
    match check(&state).await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready", "database": "ok", "signing_keys": "ok"}))),
        Err(NotReady::Database) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "reason": "database unreachable"})))
        }
        Err(NotReady::SigningKeys) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "database": "ok", "reason": "signing keys unusable"})),
        ),
    }
}
