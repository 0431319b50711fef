//! An in-memory implementation of the storage traits, for testing grants without a database.
//! It honours brand scoping the same way the real store does: by `BrandScope::brand_id`.

use std::sync::{Arc, Mutex, MutexGuard};

use portcullis_core::{BrandKey, ClientId};
use portcullis_tenancy::{
    AuditEvent, AuditStore, Brand, BrandId, BrandScope, BrandStore, Client, ClientStore, FailureCounter, IssuedToken,
    KeyStatus, KeyStore, LockoutPolicy, LoginThrottleStore, MetaStore, NewBrand, NewClient, NewPrincipal,
    NewSigningKey, Principal, PrincipalKind, PrincipalStore, RefreshStatus, RefreshStore, RefreshToken, StoreError,
    StoreResult, StoredKey, TokenStatus, TokenStore,
};

#[derive(Debug, Default)]
struct Tables {
    brands: Vec<Brand>,
    clients: Vec<(BrandId, Client)>,
    principals: Vec<(BrandId, Principal)>,
    keys: Vec<(BrandId, StoredKey)>,
    tokens: Vec<(BrandId, IssuedToken)>,
    refresh: Vec<(BrandId, RefreshToken)>,
    login_failures: Vec<(BrandId, String, FailureCounter)>,
    audit: Vec<(BrandId, AuditEvent)>,
    meta: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryStore(Arc<Mutex<Tables>>);

impl MemoryStore {
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn tokens(&self, scope: &BrandScope) -> Vec<IssuedToken> {
        self.tables().tokens.iter().filter(|(b, _)| *b == scope.brand_id()).map(|(_, t)| t.clone()).collect()
    }

    pub(crate) fn set_principal_enabled(&self, id: &str, enabled: bool) {
        for (_, p) in self.tables().principals.iter_mut().filter(|(_, p)| p.id == id) {
            p.enabled = enabled;
        }
    }

    pub(crate) fn events(&self, scope: &BrandScope) -> Vec<AuditEvent> {
        self.tables().audit.iter().filter(|(b, _)| *b == scope.brand_id()).map(|(_, e)| e.clone()).collect()
    }
}

impl BrandStore for MemoryStore {
    async fn find_brand(&self, key: &BrandKey) -> StoreResult<Option<Brand>> {
        Ok(self.tables().brands.iter().find(|b| &b.key == key).cloned())
    }

    async fn create_brand(&self, brand: NewBrand, first_key: NewSigningKey) -> StoreResult<Brand> {
        let mut t = self.tables();
        if t.brands.iter().any(|b| b.key == brand.key) {
            return Err(StoreError::Conflict(format!("brand '{}' already exists", brand.key)));
        }
        let id = BrandId(i64::try_from(t.brands.len()).unwrap_or(0) + 1);
        let created = Brand { id, key: brand.key, name: brand.name, settings: brand.settings, created_at: 0 };
        t.brands.push(created.clone());
        t.keys.push((
            id,
            StoredKey {
                kid: first_key.kid,
                algorithm: first_key.algorithm,
                status: first_key.status,
                sealed_private_key: first_key.sealed_private_key,
                public_jwk: first_key.public_jwk,
                created_at: 0,
                publish_until: None,
            },
        ));
        Ok(created)
    }
}

impl ClientStore for MemoryStore {
    async fn find_client(&self, scope: &BrandScope, id: &ClientId) -> StoreResult<Option<Client>> {
        Ok(self
            .tables()
            .clients
            .iter()
            .find(|(b, c)| *b == scope.brand_id() && &c.client_id == id)
            .map(|(_, c)| c.clone()))
    }

    async fn list_clients(&self, scope: &BrandScope) -> StoreResult<Vec<Client>> {
        Ok(self.tables().clients.iter().filter(|(b, _)| *b == scope.brand_id()).map(|(_, c)| c.clone()).collect())
    }

    async fn create_client(&self, scope: &BrandScope, c: NewClient) -> StoreResult<Client> {
        let client = Client {
            client_id: c.client_id,
            profile: c.profile,
            secret_hash: c.secret_hash,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            enabled: true,
            created_at: 0,
        };
        self.tables().clients.push((scope.brand_id(), client.clone()));
        Ok(client)
    }
}

impl PrincipalStore for MemoryStore {
    async fn find_principal(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        username: &str,
    ) -> StoreResult<Option<Principal>> {
        Ok(self
            .tables()
            .principals
            .iter()
            .find(|(b, p)| *b == scope.brand_id() && p.kind == kind && p.username == username)
            .map(|(_, p)| p.clone()))
    }

    async fn find_principal_by_id(&self, scope: &BrandScope, id: &str) -> StoreResult<Option<Principal>> {
        Ok(self.tables().principals.iter().find(|(b, p)| *b == scope.brand_id() && p.id == id).map(|(_, p)| p.clone()))
    }

    async fn create_principal(&self, scope: &BrandScope, new: NewPrincipal) -> StoreResult<Principal> {
        let mut t = self.tables();
        let taken = t
            .principals
            .iter()
            .any(|(b, p)| *b == scope.brand_id() && p.kind == new.kind && p.username == new.username);
        if taken {
            return Err(StoreError::Conflict(format!("{} '{}' already exists", new.kind.as_str(), new.username)));
        }
        let principal = Principal {
            id: new.id,
            kind: new.kind,
            username: new.username,
            password_hash: new.password_hash,
            permissions: new.permissions,
            enabled: true,
            created_at: 0,
        };
        t.principals.push((scope.brand_id(), principal.clone()));
        Ok(principal)
    }
}

impl KeyStore for MemoryStore {
    async fn active_key(&self, scope: &BrandScope) -> StoreResult<Option<StoredKey>> {
        Ok(self
            .tables()
            .keys
            .iter()
            .rev()
            .find(|(b, k)| *b == scope.brand_id() && k.status == KeyStatus::Active)
            .map(|(_, k)| k.clone()))
    }

    async fn published_keys(&self, scope: &BrandScope, now: i64) -> StoreResult<Vec<StoredKey>> {
        Ok(self
            .tables()
            .keys
            .iter()
            .filter(|(b, k)| *b == scope.brand_id() && (k.status != KeyStatus::Retired || k.publish_until > Some(now)))
            .map(|(_, k)| k.clone())
            .collect())
    }
}

impl TokenStore for MemoryStore {
    async fn record_token(&self, scope: &BrandScope, token: IssuedToken) -> StoreResult<()> {
        self.tables().tokens.push((scope.brand_id(), token));
        Ok(())
    }

    async fn find_token(&self, scope: &BrandScope, jti: &str) -> StoreResult<Option<IssuedToken>> {
        Ok(self
            .tables()
            .tokens
            .iter()
            .find(|(b, t)| *b == scope.brand_id() && t.jti.as_str() == jti)
            .map(|(_, t)| t.clone()))
    }
}

impl RefreshStore for MemoryStore {
    async fn record_refresh(&self, scope: &BrandScope, token: RefreshToken) -> StoreResult<()> {
        self.tables().refresh.push((scope.brand_id(), token));
        Ok(())
    }

    async fn find_refresh(&self, scope: &BrandScope, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        Ok(self
            .tables()
            .refresh
            .iter()
            .find(|(b, t)| *b == scope.brand_id() && t.token_hash == token_hash)
            .map(|(_, t)| t.clone()))
    }

    async fn rotate_refresh(
        &self,
        scope: &BrandScope,
        old_hash: &str,
        replacement: RefreshToken,
        now: i64,
    ) -> StoreResult<bool> {
        let mut t = self.tables();
        let Some((_, old)) = t
            .refresh
            .iter_mut()
            .find(|(b, r)| *b == scope.brand_id() && r.token_hash == old_hash && r.status == RefreshStatus::Active)
        else {
            return Ok(false);
        };
        old.status = RefreshStatus::Rotated;
        old.rotated_at = Some(now);
        t.refresh.push((scope.brand_id(), replacement));
        Ok(true)
    }

    async fn revoke_family(&self, scope: &BrandScope, family_id: &str, _now: i64) -> StoreResult<u64> {
        let mut t = self.tables();
        let mut changed = 0;
        for (_, r) in t.refresh.iter_mut().filter(|(b, r)| *b == scope.brand_id() && r.family_id == family_id) {
            if r.status != RefreshStatus::Revoked {
                r.status = RefreshStatus::Revoked;
                changed += 1;
            }
        }
        for (_, a) in
            t.tokens.iter_mut().filter(|(b, a)| *b == scope.brand_id() && a.family_id.as_deref() == Some(family_id))
        {
            if a.status == TokenStatus::Active {
                a.status = TokenStatus::Revoked;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

impl LoginThrottleStore for MemoryStore {
    async fn login_locked_until(&self, scope: &BrandScope, username: &str) -> StoreResult<i64> {
        Ok(self
            .tables()
            .login_failures
            .iter()
            .find(|(b, u, _)| *b == scope.brand_id() && u == username)
            .map_or(0, |(_, _, c)| c.locked_until))
    }

    async fn record_login_failure(
        &self,
        scope: &BrandScope,
        username: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> StoreResult<FailureCounter> {
        let mut t = self.tables();
        let position = t.login_failures.iter().position(|(b, u, _)| *b == scope.brand_id() && u == username);
        let previous = position.map(|i| t.login_failures[i].2);
        let next = FailureCounter::after_failure(previous, now, policy);
        match position {
            Some(i) => t.login_failures[i].2 = next,
            None => t.login_failures.push((scope.brand_id(), username.to_owned(), next)),
        }
        Ok(next)
    }

    async fn clear_login_failures(&self, scope: &BrandScope, username: &str) -> StoreResult<()> {
        self.tables().login_failures.retain(|(b, u, _)| !(*b == scope.brand_id() && u == username));
        Ok(())
    }
}

impl AuditStore for MemoryStore {
    async fn record_event(&self, scope: &BrandScope, event: AuditEvent) -> StoreResult<()> {
        self.tables().audit.push((scope.brand_id(), event));
        Ok(())
    }

    async fn recent_events(&self, scope: &BrandScope, limit: u64) -> StoreResult<Vec<AuditEvent>> {
        let mut events = self.events(scope);
        events.reverse();
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }
}

impl MetaStore for MemoryStore {
    async fn meta(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.tables().meta.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
    }

    async fn init_meta(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        let mut t = self.tables();
        if let Some((_, v)) = t.meta.iter().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        t.meta.push((name.to_owned(), value.clone()));
        Ok(value)
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
