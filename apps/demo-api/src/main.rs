//! `demo-api`: the example resource server. Configured by `DEMO_API_…` environment variables
//! (see the crate docs and the README); stops on SIGTERM or Ctrl-C after in-flight requests.

use std::process::ExitCode;

use anyhow::Context;
use demo_api::config::{Config, ProcessEnv};
use portcullis_verifier::Verifier;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = Config::from_env(&ProcessEnv).context("invalid configuration")?;
    if config.client.is_none() {
        tracing::warn!(
            "DEMO_API_CLIENT_ID/DEMO_API_CLIENT_SECRET are not set: Bearer tokens only, no API tokens, \
             no revocation feed (revoked tokens are accepted until they expire)"
        );
    }
    let verifier = Verifier::discover(config.verifier())
        .await
        .with_context(|| format!("cannot set up verification against {}", config.issuer))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        issuer = %config.issuer,
        audience = %config.audience,
        "demo-api listening"
    );
    axum::serve(listener, demo_api::router(verifier)).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown() {
    let interrupt = async {
        drop(tokio::signal::ctrl_c().await);
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
