//! The grant engine. Plain async functions over the storage traits of `portcullis-tenancy`:
//! no HTTP, no SQL. The token server parses requests into [`TokenRequest`]s and maps
//! [`GrantError`]s to RFC 6749 responses; tests drive the grants directly with an in-memory store.
//!
//! * [`client_auth`]: authenticating a client at its brand.
//! * [`client_credentials`]: the RFC 6749 §4.4 grant; `password` (users and operators) and
//!   `refresh` (rotation with reuse detection) issue refresh tokens through `tokens`.
//! * [`issue`]: minting an access token and recording it durably.
//! * [`verify`], [`introspect`] (RFC 7662), [`revoke`] (RFC 7009): accepting, describing and
//!   ending tokens issued here.
//! * [`lifecycle`]: administrative changes that end tokens (disable, delete, revoke all), and
//!   [`api_access`]: users' personal API tokens.
//! * [`rotation`]: signing-key rotation, on demand and on a schedule.
//! * [`feed`]: the change signal behind the revocation feed; [`maintenance`]: pruning.
//! * [`keyring`]: the brand's signing keys, unsealed and parsed once.
//! * [`provision`]: creating brands, clients and the platform administrator.
//! * [`throttle`]: brute-force defence for client authentication.

pub mod api_access;
pub mod client_auth;
pub mod client_credentials;
mod context;
mod error;
pub mod feed;
pub mod introspect;
pub mod issue;
pub mod keyring;
pub mod lifecycle;
pub mod maintenance;
pub mod password;
pub mod provision;
mod refresh;
mod request;
pub mod revoke;
pub mod rotation;
pub mod throttle;
mod token_endpoint;
mod tokens;
pub mod verify;

pub use context::{Clock, GrantContext, TokenDefaults};
pub use error::{GrantError, GrantResult};
pub use request::{ClientAuthMethod, ClientCredentials, TokenRequest};
pub use token_endpoint::{SUPPORTED_GRANTS, TokenResponse, exchange};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A random identifier of 128 bits in unpadded base64url (22 characters).
pub(crate) fn random_id() -> GrantResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(portcullis_credentials::random_bytes::<16>()?))
}

#[cfg(test)]
mod tests;
