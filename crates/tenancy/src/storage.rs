//! Storage traits. One real implementation lives in `portcullis-store` (sea-orm, SQLite and
//! Postgres); tests may add in-memory ones.
//!
//! Every method that touches a brand's rows takes a [`BrandScope`]; implementations must filter
//! by [`BrandScope::brand_id`] and nothing else.

use std::future::Future;

use portcullis_core::{BrandKey, ClientId};

use crate::BrandId;

use crate::{
    AuditEvent, AuthorizationCode, Brand, BrandScope, BrandSettings, Client, ClientProfile, CodeRedemption,
    IssuedToken, KeyRotation, LockoutPolicy, LoginReservation, LoginSession, NewBrand, NewClient, NewPrincipal,
    NewSigningKey, Principal, PrincipalKind, PrincipalUpdate, RefreshToken, Revocation, RevokeAt, StoredKey,
    TokenAttribute, TokenCursor, TokenFilter,
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

    /// Brands in creation order after `after` (an internal id; `None` from the start), at most
    /// `limit`. For platform administrators only: the caller authorises.
    fn list_brands(&self, after: Option<BrandId>, limit: u64) -> impl Future<Output = StoreResult<Vec<Brand>>> + Send;

    /// How many brands exist.
    fn count_brands(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Replaces the scoped brand's name and settings; returns the brand as stored.
    fn update_brand(
        &self,
        scope: &BrandScope,
        name: String,
        settings: BrandSettings,
        now: i64,
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

    /// Enables or disables a client. Disabling revokes its live access and refresh tokens and
    /// appends a `client` entry to the revocation feed, in the same transaction. Returns whether
    /// the client exists.
    fn set_client_enabled(
        &self,
        scope: &BrandScope,
        id: &ClientId,
        enabled: bool,
        at: RevokeAt,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Replaces a client's profile. Returns whether the client exists.
    fn update_client(
        &self,
        scope: &BrandScope,
        id: &ClientId,
        profile: ClientProfile,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Replaces a client's secret hash. With `previous_until`, the old secret keeps working
    /// until then (a rotation grace period); without, it stops at once. Returns whether the
    /// client exists.
    fn replace_client_secret(
        &self,
        scope: &BrandScope,
        id: &ClientId,
        secret_hash: String,
        previous_until: Option<i64>,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Deletes a client, revoking its tokens as disabling does, in one transaction. Its token
    /// records stay (revoked) for the audit trail. Returns whether it existed.
    fn delete_client(
        &self,
        scope: &BrandScope,
        id: &ClientId,
        at: RevokeAt,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
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

    /// Enables or disables a principal. Disabling revokes the live tokens whose subject it is
    /// and appends a `subject` entry to the revocation feed, in the same transaction. Returns
    /// whether the principal exists.
    fn set_principal_enabled(
        &self,
        scope: &BrandScope,
        id: &str,
        enabled: bool,
        at: RevokeAt,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Deletes a principal, revoking its tokens as disabling does, in one transaction. Returns
    /// whether it existed.
    fn delete_principal(
        &self,
        scope: &BrandScope,
        id: &str,
        at: RevokeAt,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Principals of one kind in the scoped brand, by username, after `after` (a username), at
    /// most `limit`; with `search`, only those whose username starts with it (ignoring ASCII
    /// case; `%` and `_` are literal).
    fn list_principals(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        search: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Vec<Principal>>> + Send;

    /// How many principals of one kind the scoped brand has (that match `search`, as in
    /// [`PrincipalStore::list_principals`]).
    fn count_principals(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        search: Option<&str>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Applies `update` to a principal (only the fields it sets). Returns whether the principal
    /// exists.
    fn update_principal(
        &self,
        scope: &BrandScope,
        id: &str,
        update: PrincipalUpdate,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Sets (`Some`) or clears (`None`) the hash of a principal's API token; a new hash replaces
    /// the previous token. Appends a [`crate::RevocationKind::ApiToken`] feed entry in the same
    /// transaction, so that verifiers forget cached answers for the previous token. Returns
    /// whether the principal exists.
    fn set_api_token(
        &self,
        scope: &BrandScope,
        id: &str,
        token_hash: Option<String>,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Finds the principal of the scoped brand whose API token has this hash.
    fn find_principal_by_api_token(
        &self,
        scope: &BrandScope,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<Principal>>> + Send;
}

/// Signing keys of a brand.
pub trait KeyStore: Send + Sync {
    /// The key that signs new tokens.
    fn active_key(&self, scope: &BrandScope) -> impl Future<Output = StoreResult<Option<StoredKey>>> + Send;

    /// Keys to publish in JWKS at `now`: next, active, and retired ones still within their window.
    fn published_keys(&self, scope: &BrandScope, now: i64) -> impl Future<Output = StoreResult<Vec<StoredKey>>> + Send;

    /// Every key of the brand, newest first, retired ones included.
    fn list_keys(&self, scope: &BrandScope) -> impl Future<Output = StoreResult<Vec<StoredKey>>> + Send;

    /// Adds a key (e.g. the first `next` key of a brand).
    fn add_key(&self, scope: &BrandScope, key: NewSigningKey, now: i64)
    -> impl Future<Output = StoreResult<()>> + Send;

    /// Applies a rotation in one transaction. Returns `false`, changing nothing, when the key to
    /// retire no longer signs or the key to promote is no longer `next` (another process rotated
    /// first).
    /// Stops publishing a key that is not active, at once (`publish_until = now`, status
    /// retired): for a key that must not be trusted any more. Returns `false`, changing nothing,
    /// when the brand has no such key or it is the active one.
    fn withdraw_key(&self, scope: &BrandScope, kid: &str, now: i64) -> impl Future<Output = StoreResult<bool>> + Send;

    fn rotate_keys(
        &self,
        scope: &BrandScope,
        rotation: KeyRotation,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
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

    /// The scoped brand's token records matching `filter`, newest first, after `after`, at
    /// most `limit`.
    fn list_tokens(
        &self,
        scope: &BrandScope,
        filter: &TokenFilter,
        after: Option<&TokenCursor>,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Vec<IssuedToken>>> + Send;

    /// How many of the scoped brand's token records match `filter`.
    fn count_tokens(&self, scope: &BrandScope, filter: &TokenFilter) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Replaces a token record's attributes. Returns whether the record exists.
    fn set_token_attributes(
        &self,
        scope: &BrandScope,
        jti: &str,
        attributes: Vec<TokenAttribute>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
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

    /// Atomically marks the rotated token `old_hash` as retried and records `replacement`: the
    /// one retry that the reuse grace tolerates. Returns `false`, changing nothing, when
    /// `old_hash` was not rotated (its retry was already spent, or it was revoked).
    fn retry_refresh(
        &self,
        scope: &BrandScope,
        old_hash: &str,
        replacement: RefreshToken,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Revokes every refresh token of `family_id` and every access-token record descending from
    /// it, appending a `token` feed entry for each access token, in one transaction. Returns how
    /// many records changed.
    fn revoke_family(
        &self,
        scope: &BrandScope,
        family_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// As [`Self::revoke_family`], but its holder ended the login (an RFC 7009 revocation by its
    /// own client): the family's access tokens, live or revoked, become `ended`, which nobody
    /// can approve again.
    fn end_family(
        &self,
        scope: &BrandScope,
        family_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Revocation of access tokens, and the revocation feed that verifiers follow.
///
/// Every revocation changes the token records and appends its feed entries in one transaction,
/// and feed entries become visible in cursor order: a follower that has read up to a cursor
/// never later finds an entry before it.
pub trait RevocationStore: Send + Sync {
    /// Revokes the access token `jti` if it is active and appends a `token` feed entry. Returns
    /// whether it changed.
    fn revoke_token(&self, scope: &BrandScope, jti: &str, now: i64) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Ends the access token `jti` for good: an active or revoked token becomes `ended`, and an
    /// active one gets a `token` feed entry. Returns whether it was active.
    fn end_token(&self, scope: &BrandScope, jti: &str, now: i64) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Makes a revoked access token active again and appends an `approved` feed entry. Returns
    /// whether it changed. An `ended` token is never approved: it stays ended.
    fn approve_token(&self, scope: &BrandScope, jti: &str, now: i64) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Revokes every live access and refresh token whose subject is `subject` and appends a
    /// `subject` feed entry. Returns how many records changed.
    fn revoke_subject(
        &self,
        scope: &BrandScope,
        subject: &str,
        at: RevokeAt,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Revokes every live access and refresh token of client `client_id` and appends a
    /// `client` feed entry. Returns how many records changed.
    fn revoke_client_tokens(
        &self,
        scope: &BrandScope,
        client_id: &ClientId,
        at: RevokeAt,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The scoped brand's feed entries after `cursor`, oldest first, at most `limit`.
    fn revocations_after(
        &self,
        scope: &BrandScope,
        cursor: i64,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Vec<Revocation>>> + Send;

    /// Whether a `subject` entry for `subject` or a `client` entry for `client_id` refuses a
    /// token issued at `issued_at`.
    fn blanket_revoked(
        &self,
        scope: &BrandScope,
        subject: &str,
        client_id: &str,
        issued_at: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Whether the access token `jti` is live, in one read: its record is active and no blanket
    /// revocation (see [`Self::blanket_revoked`]) of its `subject` or `client_id` refuses it.
    fn access_token_live(
        &self,
        scope: &BrandScope,
        jti: &str,
        subject: &str,
        client_id: &str,
        issued_at: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The highest cursor of any brand's feed (0 when empty): a change signal for followers,
    /// which then read their own brand's entries. Carries no tenant data.
    fn latest_revocation(&self) -> impl Future<Output = StoreResult<i64>> + Send;
}

/// Platform housekeeping that spans brands. It only deletes rows that no tenant can use any
/// more; it never reads tenant data out.
pub trait MaintenanceStore: Send + Sync {
    /// Deletes up to `batch` rows from each of the token, refresh-token and feed tables that
    /// expired (or, for tokens, were revoked) before `cutoff`. Returns how many went.
    fn prune(&self, cutoff: i64, batch: u64) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Deletes up to `batch` audit events, of any brand, recorded before `cutoff` (the audit
    /// retention). Returns how many went.
    fn prune_audit(&self, cutoff: i64, batch: u64) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Failed-login counters, shared by every process using the database.
pub trait LoginThrottleStore: Send + Sync {
    /// Until when logins as `username` are refused (0 when they are not).
    fn login_locked_until(&self, scope: &BrandScope, username: &str) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Reserves a login attempt as `username` at `now` under `policy`, atomically across every
    /// process sharing the database ([`FailureCounter::reserve`]): refused while a lock-out
    /// runs, otherwise counted as a failure before the password is checked.
    fn reserve_login_attempt(
        &self,
        scope: &BrandScope,
        username: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> impl Future<Output = StoreResult<LoginReservation>> + Send;

    /// Forgets the failures of `username` after a successful login (which releases its
    /// reservation).
    fn clear_login_failures(&self, scope: &BrandScope, username: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Browser sign-in: authorization codes and login sessions, stored by hash.
pub trait LoginStore: Send + Sync {
    /// Durably stores a new authorization code; returns once committed.
    fn create_code(&self, scope: &BrandScope, code: AuthorizationCode) -> impl Future<Output = StoreResult<()>> + Send;

    /// Redeems the code with this hash at `now`, atomically: the first redemption marks it
    /// spent and gets [`CodeRedemption::First`]; every later one gets
    /// [`CodeRedemption::Replayed`]. `None` when the brand has no such code.
    fn redeem_code(
        &self,
        scope: &BrandScope,
        code_hash: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<CodeRedemption>>> + Send;

    /// Whether the code with this hash has been presented again after its first redemption.
    /// The first redeemer asks after recording its tokens: a replay that raced its issuance
    /// (and so found nothing to revoke yet) is caught this way.
    fn code_replayed(&self, scope: &BrandScope, code_hash: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Durably stores a new login session.
    fn create_session(&self, scope: &BrandScope, session: LoginSession)
    -> impl Future<Output = StoreResult<()>> + Send;

    /// Finds a login session of the scoped brand by the hash of its cookie.
    fn find_session(
        &self,
        scope: &BrandScope,
        session_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<LoginSession>>> + Send;

    /// Ends a login session. Returns whether it existed.
    fn end_session(&self, scope: &BrandScope, session_hash: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Ends every login session of `subject` (a user or operator id). Returns how many there were.
    fn end_sessions_of(&self, scope: &BrandScope, subject: &str) -> impl Future<Output = StoreResult<u64>> + Send;
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

    /// A page of the scoped brand's events, newest first, older than position `before` (`None`:
    /// from the newest), each with its position.
    fn list_events(
        &self,
        scope: &BrandScope,
        before: Option<i64>,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Vec<(i64, AuditEvent)>>> + Send;

    /// How many events the scoped brand's log holds.
    fn count_events(&self, scope: &BrandScope) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Platform-wide metadata that is not tenant data.
pub trait MetaStore: Send + Sync {
    /// Reads a metadata value.
    fn meta(&self, name: &str) -> impl Future<Output = StoreResult<Option<Vec<u8>>>> + Send;

    /// Writes a metadata value if it is not set yet; returns the value now stored.
    fn init_meta(&self, name: &str, value: Vec<u8>) -> impl Future<Output = StoreResult<Vec<u8>>> + Send;

    /// Whether the database answers.
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// The connection pool's state, for metrics; `None` where there is no pool.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }
}

/// A connection pool's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open (in use or idle).
    pub open: u32,
    /// Connections open and idle.
    pub idle: u32,
}

/// Everything the token server needs from storage.
pub trait Storage:
    BrandStore
    + ClientStore
    + PrincipalStore
    + KeyStore
    + TokenStore
    + RefreshStore
    + RevocationStore
    + MaintenanceStore
    + LoginThrottleStore
    + LoginStore
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
        + RevocationStore
        + MaintenanceStore
        + LoginThrottleStore
        + LoginStore
        + AuditStore
        + MetaStore
        + Clone
        + Send
        + Sync
        + 'static
{
}
