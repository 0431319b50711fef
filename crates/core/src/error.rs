//! Error vocabulary: RFC 6749 §5.2 error codes and the parse error of this crate.

use std::fmt;

/// A value that failed validation: which kind of value, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidValue {
    /// The kind of value, e.g. `brand key`.
    pub what: &'static str,
    /// Why it was refused, safe to show to the caller (never echoes a secret).
    pub reason: String,
}

impl InvalidValue {
    pub(crate) fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self { what, reason: reason.into() }
    }
}

/// The `error` codes of RFC 6749 §5.2, RFC 8707 and RFC 6750 that Portcullis answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The server does not support this grant type.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown or exceeds what is allowed.
    InvalidScope,
    /// RFC 8707: the requested audience/resource is not allowed for this client.
    InvalidTarget,
    /// RFC 7009: this kind of token cannot be revoked at the revocation endpoint.
    UnsupportedTokenType,
    /// Too many failed attempts; try again later.
    SlowDown,
    /// An unexpected condition on the server side.
    ServerError,
    /// The server is temporarily unable to handle the request.
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    /// The code as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::SlowDown => "slow_down",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
