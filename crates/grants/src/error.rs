//! Grant errors and their RFC 6749 §5.2 codes.

use portcullis_core::OAuthErrorCode;
use portcullis_credentials::CredentialError;
use portcullis_tenancy::StoreError;

/// Why a token request failed. Descriptions are safe to return to the client: they never
/// contain a secret, and failed client authentication never says which part was wrong.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Malformed request.
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed. `challenge` asks for a `WWW-Authenticate: Basic` header:
    /// set when the client used HTTP Basic or presented no credentials at all.
    #[error("client authentication failed")]
    InvalidClient {
        /// Whether to challenge for HTTP Basic.
        challenge: bool,
    },
    /// Too many failed authentications: refused for `retry_after` seconds.
    #[error("too many failed attempts; retry after {retry_after} seconds")]
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The presented grant (credentials of a user, a refresh token) is invalid, expired or revoked.
    #[error("{0}")]
    InvalidGrant(String),
    /// The client may not use this grant type.
    #[error("the client is not allowed to use the grant type '{0}'")]
    UnauthorizedClient(String),
    /// The grant type is not supported.
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// The requested scope is not allowed.
    #[error("{0}")]
    InvalidScope(String),
    /// The requested audience is not allowed.
    #[error("{0}")]
    InvalidTarget(String),
    /// A client asked to revoke a token issued to another client.
    #[error("the token was not issued to this client")]
    ForeignToken,
    /// The revocation endpoint does not revoke this kind of token.
    #[error("{0}")]
    UnsupportedTokenType(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// A cryptographic operation failed.
    #[error("credentials: {0}")]
    Credential(#[from] CredentialError),
    /// The brand is misconfigured (e.g. no active signing key).
    #[error("{0}")]
    Misconfigured(String),
}

/// Result alias of this crate.
pub type GrantResult<T> = Result<T, GrantError>;

impl GrantError {
    /// The RFC 6749 `error` code.
    pub fn code(&self) -> OAuthErrorCode {
        match self {
            Self::InvalidRequest(_) => OAuthErrorCode::InvalidRequest,
            Self::InvalidClient { .. } => OAuthErrorCode::InvalidClient,
            Self::Throttled { .. } => OAuthErrorCode::SlowDown,
            Self::InvalidGrant(_) => OAuthErrorCode::InvalidGrant,
            Self::UnauthorizedClient(_) => OAuthErrorCode::UnauthorizedClient,
            Self::UnsupportedGrantType(_) => OAuthErrorCode::UnsupportedGrantType,
            Self::InvalidScope(_) => OAuthErrorCode::InvalidScope,
            Self::InvalidTarget(_) => OAuthErrorCode::InvalidTarget,
            Self::ForeignToken => OAuthErrorCode::UnauthorizedClient,
            Self::UnsupportedTokenType(_) => OAuthErrorCode::UnsupportedTokenType,
            Self::Store(StoreError::Unavailable(_)) => OAuthErrorCode::TemporarilyUnavailable,
            Self::Store(_) | Self::Credential(_) | Self::Misconfigured(_) => OAuthErrorCode::ServerError,
        }
    }

    /// The `error_description` to send. Internal failures get a generic text; their detail is
    /// for the server log only.
    pub fn description(&self) -> String {
        match self {
            Self::Store(StoreError::Unavailable(_)) => "the service is temporarily unavailable; retry later".into(),
            Self::Store(_) | Self::Credential(_) | Self::Misconfigured(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }

    /// Whether this is the server's fault (to be logged at error level).
    pub fn is_internal(&self) -> bool {
        matches!(self.code(), OAuthErrorCode::ServerError | OAuthErrorCode::TemporarilyUnavailable)
    }
}
