//! `portcullis-verifier`: verifies Portcullis access tokens in a resource server, with no
//! database. Configure it with a brand's issuer URL; it reads the discovery document, caches the
//! brand's JWKS, refetches it on an unknown key id (rate limited, so garbage tokens cannot make it
//! hammer the server; a key rotation therefore costs no failed request), and checks each token
//! the way RFC 9068 and RFC 8725 ask: signature with the one algorithm its key declares (so
//! `none` and HS256-with-the-public-key are refused), `typ: at+jwt`, `iss`, `aud`, `exp`/`nbf`
//! with a leeway, and the `brand` claim; optionally the request's brand header.
//!
//! ```no_run
//! use portcullis_verifier::{Verifier, VerifierConfig};
//!
//! # async fn example(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::discover(
//!     VerifierConfig::new("http://id.internal:8080/brands/acme")
//!         .audience("https://api.acme.example")
//!         .require_brand_header("X-Brand-Key"),
//! )
//! .await?;
//! let verified = verifier.verify(token).await?;
//! verifier.check_brand_header(&verified, Some("acme"))?;
//! verified.require_scopes(&["write"])?;
//! println!("{} acting as {:?}", verified.claims.sub, verified.claims.act_type);
//! # Ok(())
//! # }
//! ```
//!
//! Failures are [`VerifyError`]s, each with its RFC 6750 answer: [`VerifyError::status`],
//! [`VerifyError::www_authenticate`].
//!
//! With the `axum` feature, [`VerifyLayer`] verifies requests (token, brand header, the route's
//! scopes) before the handler runs, and [`Verified`] is an extractor; refusals are RFC 6750
//! responses.
//!
//! **Unfinished** (issue 6 is open): https issuers (this version speaks plain HTTP only, e.g.
//! to a server on a private network or behind the same proxy), HTTP Basic API tokens, following
//! the revocation feed, and the client token source.

#[cfg(feature = "axum")]
mod axum_support;
mod config;
mod error;
mod keys;
mod verifier;

pub use config::{DEFAULT_BRAND_HEADER, VerifierConfig};
pub use error::{SetupError, VerifyError};
pub use verifier::{Verified, Verifier};

#[cfg(feature = "axum")]
pub use axum_support::{VerifyLayer, VerifyService};
