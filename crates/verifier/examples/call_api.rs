//! Calls a resource server with a `client_credentials` token from a [`TokenSource`], which
//! caches the token and retries once with a fresh one on a 401.
//!
//! ```sh
//! ISSUER=http://127.0.0.1:8080/brands/acme CLIENT_ID=… CLIENT_SECRET=… API=http://127.0.0.1:8090/whoami \
//!   cargo run -p portcullis-verifier --features client --example call_api
//! ```
#![allow(clippy::print_stdout, reason = "an example prints what it got")]

use portcullis_verifier::TokenSource;

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (issuer, api) = (var("ISSUER")?, var("API")?);
    let brand = issuer.rsplit('/').next().unwrap_or_default().to_owned();
    let source = TokenSource::discover(issuer, var("CLIENT_ID")?, var("CLIENT_SECRET")?).await?;
    let http = reqwest::Client::new();
    let response = source.send(|| http.get(&api).header("X-Brand-Key", &brand)).await?;
    println!("{} {}", response.status(), response.text().await?);
    Ok(())
}
