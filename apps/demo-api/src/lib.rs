//! demo-api: an example resource server built on `portcullis-verifier`, configured by `DEMO_API_…`
//! environment variables (README, "demo-api: an example resource server").
//!
//! * `GET /whoami`: any valid access token or API token → `{"sub","brand","scope","act_type"}`;
//! * `POST /notes`: scope `write`; takes `{"text": "…"}` and answers 201 with the stored note;
//! * `GET /healthz`: liveness, unauthenticated.
//!
//! Every authenticated route requires the brand header (`X-Brand-Key` unless configured
//! otherwise) to name the credential's brand. Refusals are RFC 6750 answers from the
//! verifier's layer. Configuration: [`config::Config::from_env`]; `DEMO_API_ISSUER` and
//! `DEMO_API_AUDIENCE` are required (tokens must name that audience, RFC 9068 §4).

pub mod config;
mod notes;

use axum::Router;
use axum::routing::{get, post};
use portcullis_verifier::{Verifier, VerifyLayer};

pub use notes::Notes;

/// The scope `POST /notes` requires.
pub const WRITE_SCOPE: &str = "write";

/// Largest request body accepted, bytes.
const MAX_BODY: usize = 16 * 1024;

/// The demo's routes, protected by `verifier`.
pub fn router(verifier: Verifier) -> Router {
    Router::new()
        .route("/whoami", get(notes::whoami).layer(VerifyLayer::new(verifier.clone())))
        .route("/notes", post(notes::create).layer(VerifyLayer::new(verifier).require_scopes([WRITE_SCOPE])))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(Notes::default())
}
