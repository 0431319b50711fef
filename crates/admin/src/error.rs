//! Errors of the management API, each with a stable `extensions.code`.

use async_graphql::ErrorExtensions;
use portcullis_grants::GrantError;
use portcullis_grants::provision::ProvisionError;
use portcullis_tenancy::StoreError;

/// Why an operation failed. Messages are safe to show: they never carry a secret, and internal
/// causes are logged, not returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No usable credentials: missing, malformed, expired or revoked token.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this (or to this brand).
    #[error("{0}")]
    Forbidden(String),
    /// The named brand, client, user, token… does not exist (within what the caller may see).
    #[error("{0}")]
    NotFound(String),
    /// An argument is invalid; the message names it.
    #[error("{0}")]
    BadUserInput(String),
    /// The thing exists already.
    #[error("{0}")]
    Conflict(String),
    /// The database is unreachable; retry later.
    #[error("the service is temporarily unavailable; retry later")]
    Unavailable,
    /// The server failed; details are in its log.
    #[error("internal server error")]
    Internal,
}

impl AdminError {
    /// The `extensions.code` of this error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<AdminError> for async_graphql::Error {
    fn from(e: AdminError) -> Self {
        let code = e.code();
        async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::Unavailable
            }
            other => {
                tracing::error!(error = %other, "admin operation failed in storage");
                Self::Internal
            }
        }
    }
}

impl From<ProvisionError> for AdminError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Invalid(message) => Self::BadUserInput(message),
            ProvisionError::Conflict(message) => Self::Conflict(message),
            ProvisionError::UnknownBrand(key) => Self::NotFound(format!("no brand '{key}'")),
            ProvisionError::NotFound(message) => Self::NotFound(message),
            ProvisionError::AdminExists => Self::Conflict(e.to_string()),
            ProvisionError::Store(store) => store.into(),
            ProvisionError::Credential(c) => {
                tracing::error!(error = %c, "admin operation failed in cryptography");
                Self::Internal
            }
        }
    }
}

impl From<GrantError> for AdminError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Store(store) => store.into(),
            other => {
                tracing::error!(error = %other, "admin operation failed");
                Self::Internal
            }
        }
    }
}

/// The result type of resolvers.
pub type AdminResult<T> = Result<T, AdminError>;
