//! Storage traits. One real implementation lives in `portcullis-store` (sea-orm, SQLite and
//! Postgres); tests may add in-memory ones.
//!
//! Every method that touches a brand's rows takes a [`BrandScope`]; implementations must filter
//! by [`BrandScope::brand_id`] and nothing else.

use std::future::Future;

use portcullis_core::{BrandKey, ClientId};

use crate::{
    AuditEvent, Brand, BrandScope, Client, FailureCounter, IssuedToken, LockoutPolicy, NewBrand, NewClient,
    NewPrincipal, NewSigningKey, Principal, PrincipalKind, RefreshToken, StoredKey,
};

/// Storage failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (e.g. the brand key exists).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database could not be reached or timed out; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be read back (corruption or a newer schema).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Backend(String),
}

/// Result alias for storage.
pub type StoreResult<T> = Result<T, StoreError>;

/// Brands: the only unscoped lookups, since they produce scopes.
pub trait BrandStore: Send + Sync {
    /// Finds a brand by key.
    fn find_brand(&self, key: &BrandKey) -> impl Future<Output = StoreResult<Option<Brand>>> + Send;

    /// Creates a brand together with its first active signing key, atomically.
    fn create_brand(
        &self,
        brand: NewBrand,
        first_key: NewSigningKey,
    ) -> impl Future<Output = StoreResult<Brand>> + Send;
}

/// Clients of a brand.
pub trait ClientStore: Send + Sync {
    /// Finds a client of the scoped brand.
    fn find_client(
        &self,
        scope: &BrandScope,
        id: &ClientId,
    ) -> impl Future<Output = StoreResult<Option<Client>>> + Send;

    /// Lists the scoped brand's clients, oldest first.
    fn list_clients(&self, scope: &BrandScope) -> impl Future<Output = StoreResult<Vec<Client>>> + Send;

    /// Creates a client in the scoped brand.
    fn create_client(&self, scope: &BrandScope, client: NewClient) -> impl Future<Output = StoreResult<Client>> + Send;
}

/// Users and operators of a brand.
pub trait PrincipalStore: Send + Sync {
    /// Finds a principal of the scoped brand by kind and username.
    fn find_principal(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        username: &str,
    ) -> impl Future<Output = StoreResult<Option<Principal>>> + Send;

    /// Finds a principal of the scoped brand by its public id.
    fn find_principal_by_id(
        &self,
        scope: &BrandScope,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<Principal>>> + Send;

    /// Creates a principal in the scoped brand; a taken username is a [`StoreError::Conflict`].
    fn create_principal(
        &self,
        scope: &BrandScope,
        principal: NewPrincipal,
    ) -> impl Future<Output = StoreResult<Principal>> + Send;
}

/// Signing keys of a brand.
pub trait KeyStore: Send + Sync {
    /// The key that signs new tokens.
    fn active_key(&self, scope: &BrandScope) -> impl Future<Output = StoreResult<Option<StoredKey>>> + Send;

    /// Keys to publish in JWKS at `now`: next, active, and retired ones still within their window.
    fn published_keys(&self, scope: &BrandScope, now: i64) -> impl Future<Output = StoreResult<Vec<StoredKey>>> + Send;
}

/// Records of issued tokens.
pub trait TokenStore: Send + Sync {
    /// Durably records an issued token; returns once committed.
    fn record_token(&self, scope: &BrandScope, token: IssuedToken) -> impl Future<Output = StoreResult<()>> + Send;

    /// Finds a token record of the scoped brand.
    fn find_token(
        &self,
        scope: &BrandScope,
        jti: &str,
    ) -> impl Future<Output = StoreResult<Option<IssuedToken>>> + Send;
}

/// Refresh tokens and their families.
pub trait RefreshStore: Send + Sync {
    /// Durably records a new refresh token (the first of a family, at login).
    fn record_refresh(&self, scope: &BrandScope, token: RefreshToken) -> impl Future<Output = StoreResult<()>> + Send;

    /// Finds a refresh token of the scoped brand by the hash of its value.
    fn find_refresh(
        &self,
        scope: &BrandScope,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<RefreshToken>>> + Send;

    /// Atomically marks the active token `old_hash` as rotated at `now` and records
    /// `replacement`. Returns `false`, changing nothing, when `old_hash` was no longer active
    /// (a concurrent rotation won, or it was revoked).
    fn rotate_refresh(
        &self,
        scope: &BrandScope,
        old_hash: &str,
        replacement: RefreshToken,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Revokes every refresh token of `family_id` and every access-token record descending from
    /// it, in one transaction. Returns how many records changed.
    fn revoke_family(
        &self,
        scope: &BrandScope,
        family_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Failed-login counters, shared by every process using the database.
pub trait LoginThrottleStore: Send + Sync {
    /// Until when logins as `username` are refused (0 when they are not).
    fn login_locked_until(&self, scope: &BrandScope, username: &str) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Counts a failed login at `now` under `policy`; returns the updated counter.
    fn record_login_failure(
        &self,
        scope: &BrandScope,
        username: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> impl Future<Output = StoreResult<FailureCounter>> + Send;

    /// Forgets the failures of `username` after a successful login.
    fn clear_login_failures(&self, scope: &BrandScope, username: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The audit log.
pub trait AuditStore: Send + Sync {
    /// Appends an event to the scoped brand's log.
    fn record_event(&self, scope: &BrandScope, event: AuditEvent) -> impl Future<Output = StoreResult<()>> + Send;

    /// The scoped brand's most recent events, newest first.
    fn recent_events(
        &self,
        scope: &BrandScope,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Vec<AuditEvent>>> + Send;
}

/// Platform-wide metadata that is not tenant data.
pub trait MetaStore: Send + Sync {
    /// Reads a metadata value.
    fn meta(&self, name: &str) -> impl Future<Output = StoreResult<Option<Vec<u8>>>> + Send;

    /// Writes a metadata value if it is not set yet; returns the value now stored.
    fn init_meta(&self, name: &str, value: Vec<u8>) -> impl Future<Output = StoreResult<Vec<u8>>> + Send;

    /// Whether the database answers.
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Everything the token server needs from storage.
pub trait Storage:
    BrandStore
    + ClientStore
    + PrincipalStore
    + KeyStore
    + TokenStore
    + RefreshStore
    + LoginThrottleStore
    + AuditStore
    + MetaStore
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Storage for T where
    T: BrandStore
        + ClientStore
        + PrincipalStore
        + KeyStore
        + TokenStore
        + RefreshStore
        + LoginThrottleStore
        + AuditStore
        + MetaStore
        + Clone
        + Send
        + Sync
        + 'static
{
}
