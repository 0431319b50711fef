//! Records of browser sign-in (OpenID Connect): authorization codes and login sessions. Both
//! are stored by hash only; the values themselves exist only in the browser and the client.

use portcullis_core::{ClientId, ScopeSet};

/// An authorization code as stored: bound to the client, the redirect URI and the PKCE
/// challenge it was issued for, single use, short-lived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 hash of the code (see `portcullis_credentials::secret`).
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user who signed in.
    pub subject: String,
    /// The exact `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// The PKCE `S256` challenge (base64url of the SHA-256 of the verifier).
    pub code_challenge: String,
    /// The OpenID Connect `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// The granted scopes.
    pub scopes: ScopeSet,
    /// When the user authenticated (the `auth_time` claim).
    pub auth_time: i64,
    /// The login session it came from (the `sid` claim).
    pub sid: String,
    /// The token family the code's tokens belong to: a replayed code revokes it.
    pub family_id: String,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now spent.
    First(AuthorizationCode),
    /// The code had been redeemed before: a replay.
    Replayed(AuthorizationCode),
}

/// A browser's login session at a brand, behind its session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// SHA-256 hash of the cookie's value.
    pub session_hash: String,
    /// The signed-in user's id.
    pub subject: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The session's public id: the `sid` claim of the ID tokens it yields (OpenID Connect
    /// Front-Channel Logout §3), which lets a logout request name exactly this login.
    pub sid: String,
    /// When the session ends.
    pub expires_at: i64,
}
