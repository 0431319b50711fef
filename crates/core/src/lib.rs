//! The vocabulary every Portcullis crate shares: validated identifiers, scopes, grant types,
//! signing algorithms, RFC 9068 access-token claims and RFC 6749 error codes.
//!
//! Nothing here performs IO; the types only parse, validate and print. Parsing is the one place
//! where untrusted text becomes a typed value, so each `parse` names what was wrong.

mod claims;
mod error;
mod grant;
mod ids;
mod scope;
pub mod username;

pub use claims::{AccessTokenClaims, ActType, Audience, IdTokenClaims};
pub use error::{InvalidValue, OAuthErrorCode};
pub use grant::{GrantType, SigningAlgorithm};
pub use ids::{BrandKey, ClientId, Jti, KeyId};
pub use scope::{Scope, ScopeSet};

/// The reserved brand that holds platform administrators.
pub const SYSTEM_BRAND: &str = "system";

/// The scope that lets a `system`-brand token administer every brand.
pub const PLATFORM_ADMIN_SCOPE: &str = "platform:admin";

/// The scope that lets a brand token administer its own brand.
pub const BRAND_ADMIN_SCOPE: &str = "brand:admin";

/// The audience of tokens for the management API (the admin listener).
///
/// A token that carries an admin scope is addressed to the management API alone, and the
/// management API accepts no other token: an access token issued for a resource server can't be
/// replayed against it, and an admin token means nothing to a resource server that checks `aud`
/// (RFC 9700 §2.3, RFC 8725 §3.9).
pub const ADMIN_AUDIENCE: &str = "urn:portcullis:admin";

/// Whether `scopes` include one that administers the platform or a brand.
pub fn has_admin_scope(scopes: &ScopeSet) -> bool {
    scopes.iter().any(|s| s.as_str() == PLATFORM_ADMIN_SCOPE || s.as_str() == BRAND_ADMIN_SCOPE)
}
