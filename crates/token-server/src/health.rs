//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use axum::{Router, response::IntoResponse};
use http::StatusCode;
use portcullis_tenancy::Storage;
use serde_json::json;

use crate::AppState;

pub(crate) fn routes<S: Storage>() -> Router<AppState<S>> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz::<S>))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers. Signing keys are checked at start-up (the master key must
/// open them), so a running server has them.
async fn readyz<S: Storage>(State(state): State<AppState<S>>) -> impl IntoResponse {
    match state.grants.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "reason": "database unreachable"})))
        }
    }
}
