//! A stand-in issuer for tests of the verifier and of resource servers built on it: a discovery
//! document, a JWKS, an introspection endpoint and an empty revocation feed, each answering
//! what the test sets, and a count of the introspection requests received.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The brand the stand-in issues for.
pub const BRAND: &str = "acme";

/// What each endpoint answers: a status and a JSON body. `None` is the ordinary answer.
#[derive(Debug, Default)]
pub struct Answers {
    pub discovery: Option<String>,
    pub jwks: Option<String>,
    pub introspection: Option<(u16, String)>,
}

/// A running stand-in issuer on a loopback port.
#[derive(Debug, Clone)]
pub struct MockIssuer {
    /// Its issuer URL, `http://127.0.0.1:{port}/brands/acme`.
    pub issuer: String,
    answers: Arc<Mutex<Answers>>,
    introspections: Arc<AtomicUsize>,
}

fn json(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "application/json")], body).into_response()
}

impl MockIssuer {
    /// Starts one answering as `answers` says (changeable later with [`Self::answer`]).
    pub async fn start(answers: Answers) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
        let issuer = format!("http://{}/brands/{BRAND}", listener.local_addr().expect("address"));
        let mock =
            Self { issuer: issuer.clone(), answers: Arc::new(Mutex::new(answers)), introspections: Arc::default() };
        let (discovery, jwks, introspect) = (mock.clone(), mock.clone(), mock.clone());
        let brand = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move {
                    let ordinary = serde_json::json!({
                        "issuer": discovery.issuer,
                        "jwks_uri": format!("{}/jwks", discovery.issuer),
                        "introspection_endpoint": format!("{}/introspect", discovery.issuer),
                    });
                    json(200, discovery.with(|a| a.discovery.clone()).unwrap_or_else(|| ordinary.to_string()))
                }),
            )
            .route(
                "/jwks",
                get(move || async move {
                    json(200, jwks.with(|a| a.jwks.clone()).unwrap_or_else(|| r#"{"keys":[]}"#.into()))
                }),
            )
            .route(
                "/introspect",
                post(move || async move {
                    introspect.introspections.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = introspect
                        .with(|a| a.introspection.clone())
                        .unwrap_or_else(|| (200, r#"{"active":false}"#.into()));
                    json(status, body)
                }),
            )
            .route(
                "/revocations",
                get(|| async { json(200, r#"{"revocations":[],"cursor":"0","more":false}"#.into()) }),
            );
        let app = Router::new().nest(&format!("/brands/{BRAND}"), brand);
        tokio::spawn(async move { axum::serve(listener, app).await });
        mock
    }

    fn with<T>(&self, read: impl FnOnce(&Answers) -> T) -> T {
        read(&self.answers.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Changes what the endpoints answer from now on.
    pub fn answer(&self, change: impl FnOnce(&mut Answers)) {
        change(&mut self.answers.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// How many introspection requests it has received.
    pub fn introspections(&self) -> usize {
        self.introspections.load(Ordering::SeqCst)
    }
}
