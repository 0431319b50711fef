//! Tenancy: brands, the [`BrandScope`] capability, and the storage traits that take it.
//!
//! Every query that touches a brand's rows takes a `&BrandScope`. The only way to get one is to
//! resolve a brand through [`BrandStore`], so a handler cannot reach a tenant's data without
//! first naming the brand, and the storage implementation applies the brand filter itself (one
//! place, not one per query site). Records here are plain data; policy and crypto live elsewhere.

mod login;
mod records;
mod scope;
mod storage;

pub use login::{AuthorizationCode, CodeRedemption, LoginSession};
pub use records::{
    Activation, AuditEvent, Brand, BrandId, BrandSettings, Branding, Client, ClientProfile, FailureCounter,
    IssuedToken, KeyRotation, KeyStatus, LockoutPolicy, LoginReservation, NewBrand, NewClient, NewPrincipal,
    NewSigningKey, Principal, PrincipalKind, PrincipalUpdate, RefreshStatus, RefreshToken, Revocation, RevocationKind,
    RevokeAt, StoredKey, TokenAttribute, TokenCursor, TokenFilter, TokenStatus,
};
pub use scope::BrandScope;
pub use storage::{
    AuditStore, BrandStore, ClientStore, KeyStore, LoginStore, LoginThrottleStore, MaintenanceStore, MetaStore,
    PoolStatus, PrincipalStore, RefreshStore, RevocationStore, Storage, StoreError, StoreResult, TokenStore,
};

use portcullis_core::BrandKey;

/// Resolves `key` to a [`BrandScope`], or `None` when no such brand exists.
pub async fn resolve_brand<S: BrandStore>(store: &S, key: &BrandKey) -> StoreResult<Option<BrandScope>> {
    Ok(store.find_brand(key).await?.map(BrandScope::new))
}
