//! The bounds the verifier puts on untrusted input: presented credentials, and every body it
//! reads from the network.
//!
//! Credentials longer than their bound are refused before anything is parsed or sent to the
//! issuer, so an absurd token is the caller's mistake (401 `invalid_token`), never an issuer
//! outage. Bodies are read up to their bound and no further (see `crate::body`). Every JSON
//! document is parsed by `serde_json` with its recursion limit (128 nested arrays or objects)
//! left on: the crate never calls `disable_recursion_limit`.

/// The longest token accepted, in bytes: a Bearer access token, or the API token of HTTP Basic
/// `username:api_token` credentials. Longer ones are refused with
/// [`crate::VerifyError::TokenTooLong`] (401 `invalid_token`) before they are parsed or
/// forwarded to the issuer's introspection endpoint.
///
/// Portcullis access tokens are well under 2 KiB and its API tokens under 100 bytes; 8 KiB also
/// leaves room for other issuers' larger tokens, and is the usual bound of one HTTP header line
/// at proxies, beyond which a token would not arrive anyway.
pub const MAX_TOKEN_LENGTH: usize = 8 * 1024;

/// The longest username accepted in HTTP Basic credentials, in bytes (a Portcullis username is
/// at most 128 characters, so at most 512 bytes of UTF-8).
pub const MAX_USERNAME_LENGTH: usize = 1024;

/// The longest base64 credentials of an HTTP Basic header: `username:api_token` at the two
/// bounds above, encoded.
pub(crate) const MAX_BASIC_CREDENTIALS: usize = (MAX_USERNAME_LENGTH + 1 + MAX_TOKEN_LENGTH).div_ceil(3) * 4;

/// The largest discovery document read, bytes (Portcullis serves about 2 KiB).
pub(crate) const MAX_DISCOVERY_BODY: usize = 64 * 1024;

/// The largest JWKS read, bytes (a key is well under 1 KiB; a brand publishes a few).
pub(crate) const MAX_JWKS_BODY: usize = 256 * 1024;

/// The largest introspection answer read, bytes (Portcullis answers with a few hundred).
pub(crate) const MAX_INTROSPECTION_BODY: usize = 64 * 1024;

/// The largest page of the revocation feed read, bytes (a page holds at most 500 entries of a
/// few hundred bytes each).
pub(crate) const MAX_FEED_PAGE_BODY: usize = 1024 * 1024;

/// The largest token-endpoint answer read by the token source, bytes.
#[cfg(feature = "client")]
pub(crate) const MAX_TOKEN_RESPONSE_BODY: usize = 64 * 1024;
