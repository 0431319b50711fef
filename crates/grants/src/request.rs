//! A parsed token request, independent of HTTP.

use std::fmt;

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// HTTP Basic (RFC 6749 §2.3.1).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// A client's presented credentials. `Debug` hides the secret.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The presented client id (unvalidated).
    pub client_id: String,
    /// The presented secret.
    pub secret: String,
    /// How they were presented.
    pub method: ClientAuthMethod,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("secret", &"[redacted]")
            .field("method", &self.method)
            .finish()
    }
}

/// The parameters of a token request after HTTP-level validation (one value per parameter,
/// except `resource`, which RFC 8707 allows to repeat). `Debug` hides the password and the
/// refresh token.
#[derive(Clone, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `audience` (Auth0 style).
    pub audience: Option<String>,
    /// `resource` (RFC 8707), possibly several.
    pub resource: Vec<String>,
    /// Where the request came from, for the audit log.
    pub source: Option<String>,
    /// `username` (password grants).
    pub username: Option<String>,
    /// `password` (password grants).
    pub password: Option<String>,
    /// `refresh_token` (refresh grant).
    pub refresh_token: Option<String>,
    /// `code` (authorization-code grant).
    pub code: Option<String>,
    /// `redirect_uri` (authorization-code grant).
    pub redirect_uri: Option<String>,
    /// `code_verifier` (authorization-code grant, PKCE).
    pub code_verifier: Option<String>,
    /// `client_id` of a public client, which presents no credentials.
    pub public_client_id: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "[redacted]");
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .field("source", &self.source)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("refresh_token", &hidden(&self.refresh_token))
            .field("code", &hidden(&self.code))
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &hidden(&self.code_verifier))
            .field("public_client_id", &self.public_client_id)
            .finish()
    }
}
