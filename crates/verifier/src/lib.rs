//! `portcullis-verifier`: checks Portcullis credentials in a resource server, with no
//! database, and obtains tokens on the calling side.
//!
//! Configure a [`Verifier`] with a brand's issuer URL (`http(s)://…/brands/{brand_key}`). It
//! reads the discovery document, caches the brand's JWKS (parsed once; refetched on an unknown
//! key id at most every few seconds, so garbage tokens cannot make it hammer the server; and
//! refreshed when it gets old, so a key rotation costs no failed request), and checks each
//! access token the way RFC 9068 and RFC 8725 ask: signature with the one algorithm its key
//! declares (so `none` and HS256-with-the-public-key are refused), `typ: at+jwt`, `iss`, `aud`,
//! `exp`/`nbf` with a leeway, and the `brand` claim; optionally the request's brand header.
//!
//! The audience is part of the configuration: [`VerifierConfig::new`] takes the issuer and the
//! audience this resource server answers to, so that tokens a client obtained for another
//! resource server of the brand are refused (RFC 9068 §4). Skipping that check takes the
//! explicit [`VerifierConfig::accepting_any_audience`], for a brand's only resource server or
//! tests.
//!
//! With the resource server's own client credentials it can also:
//!
//! * accept a user's HTTP Basic `username:api_token`, checked through introspection with a
//!   short positive and negative cache ([`VerifierConfig::api_tokens`]);
//! * follow the brand's revocation feed, so that a revoked token, client or user is refused
//!   within about a second instead of at expiry; a feed outage degrades as configured
//!   ([`VerifierConfig::revocation_feed`], [`FeedOutage`]).
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use portcullis_verifier::{ApiTokenCache, FeedOutage, RevocationFeed, Verifier, VerifierConfig};
//!
//! # async fn example(authorization: Option<&str>, brand_header: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::discover(
//!     // The issuer, and the audience this resource server answers to (tokens must name it).
//!     VerifierConfig::new("https://id.example.com/brands/acme", "https://api.acme.example")
//!         .require_brand_header("X-Brand-Key")
//!         // The resource server's own client of the brand, for the two options below.
//!         .client("resource-server-client-id", "its secret")
//!         .api_tokens(ApiTokenCache::default())
//!         .revocation_feed(RevocationFeed {
//!             on_outage: FeedOutage::FailClosed { grace: Duration::from_secs(30) },
//!             ..RevocationFeed::default()
//!         }),
//! )
//! .await?;
//!
//! // For each request: the `Authorization` header (Bearer or Basic) and the brand header.
//! match verifier.authenticate(authorization).await {
//!     Ok(verified) => {
//!         verifier.check_brand_header(&verified, brand_header)?;
//!         verified.require_scopes(&["write"])?;
//!         println!("{} ({:?}) may write", verified.sub(), verified.act_type());
//!     }
//!     // Every refusal knows its RFC 6750 answer.
//!     Err(refused) => println!("{} {}", refused.status(), refused.www_authenticate()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Failures are [`VerifyError`]s, each with its RFC 6750 answer: [`VerifyError::status`],
//! [`VerifyError::code`], [`VerifyError::www_authenticate`]. A bad credential is always the
//! caller's 401, never the issuer's outage: a token longer than [`MAX_TOKEN_LENGTH`] is refused
//! before anything is parsed or forwarded, and an introspection answer that refuses the
//! presented token itself (400, 413, 414, 431…) refuses the API token; only a failure of the
//! issuer or of the resource server's own client (401, 403, 5xx, no answer) is a 503.
//! Everything read from the network is size-bounded and parsed with serde_json's recursion
//! limit on.
//!
//! With the `axum` feature, [`VerifyLayer`] verifies requests (credentials, brand header, the
//! route's scopes) before the handler runs, and [`Verified`] is an extractor; refusals are RFC
//! 6750 responses:
//!
//! ```ignore
//! let app = axum::Router::new()
//!     .route("/whoami", get(whoami).layer(VerifyLayer::new(verifier.clone())))
//!     .route("/notes", post(add_note).layer(VerifyLayer::new(verifier).require_scopes(["write"])));
//!
//! async fn whoami(verified: Verified) -> String {
//!     verified.sub().to_owned()
//! }
//! ```
//!
//! With the `client` feature, `TokenSource` obtains `client_credentials` tokens for calling
//! resource servers: cached until shortly before expiry, one refresh shared by concurrent
//! callers, and a call answered 401 retried once with a fresh token:
//!
//! ```ignore
//! let source = TokenSource::discover("https://id.example.com/brands/acme", id, secret)
//!     .await?
//!     .audience("https://api.acme.example");
//! let response = source.send(|| http.get("https://api.acme.example/whoami").header("X-Brand-Key", "acme")).await?;
//! ```
//!
//! Runnable programs are under `examples/`: `resource_server` (axum, feature `axum`) and
//! `call_api` (feature `client`).

mod api_tokens;
#[cfg(feature = "axum")]
mod axum_support;
mod body;
mod config;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod jws;
mod keys;
mod limits;
mod revocations;
#[cfg(feature = "client")]
mod token_source;
mod verifier;

pub use api_tokens::ApiTokenIdentity;
pub use config::{ApiTokenCache, ClientCredentials, DEFAULT_BRAND_HEADER, FeedOutage, RevocationFeed, VerifierConfig};
pub use error::{SetupError, VerifyError};
pub use limits::{MAX_TOKEN_LENGTH, MAX_USERNAME_LENGTH};
pub use verifier::{Verified, Verifier};

#[cfg(feature = "axum")]
pub use axum_support::{VerifyLayer, VerifyService};
#[cfg(feature = "client")]
pub use token_source::{TokenSource, TokenSourceError};
