//! A resource server protected by the verifier: `GET /whoami` for any valid credential,
//! `POST /notes` for the `write` scope.
//!
//! `ISSUER` is the brand's issuer and `AUDIENCE` the audience tokens must name (by default
//! those of the README's walk-through):
//!
//! ```sh
//! ISSUER=http://127.0.0.1:8080/brands/acme AUDIENCE=https://api.acme.example \
//!   cargo run -p portcullis-verifier --features axum --example resource_server
//! ```
#![allow(clippy::print_stdout, reason = "an example prints where it listens")]

use axum::Json;
use axum::routing::{get, post};
use portcullis_verifier::{DEFAULT_BRAND_HEADER, Verified, Verifier, VerifierConfig, VerifyLayer};
use serde_json::{Value, json};

async fn whoami(verified: Verified) -> Json<Value> {
    Json(json!({"sub": verified.sub(), "brand": verified.brand(), "scope": verified.scope()}))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080/brands/acme".into());
    let audience = std::env::var("AUDIENCE").unwrap_or_else(|_| "https://api.acme.example".into());
    let config = VerifierConfig::new(issuer, audience).require_brand_header(DEFAULT_BRAND_HEADER);
    let verifier = Verifier::discover(config).await?;
    let app = axum::Router::new()
        .route("/whoami", get(whoami).layer(VerifyLayer::new(verifier.clone())))
        .route("/notes", post(whoami).layer(VerifyLayer::new(verifier).require_scopes(["write"])));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
