//! Liveness lookups on SQLite, on the request's own thread.
//!
//! The lookup runs on a read-only connection taken from a small free list. A reader in WAL mode
//! never waits for the writer, so it does not block the runtime behind a commit. If SQLite
//! refuses it all the same (the log being reset, a file error), the same statement goes
//! through the pool, which waits and reports errors the usual way.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, PoisonError};

use portcullis_tenancy::{RevocationKind, StoreResult, TokenStatus};
use rusqlite::{Connection, OptionalExtension, params};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use super::Lookup;
use crate::direct::{self, Role};
use crate::error::map_err;

/// Connections kept for reuse; more may be open at once under load, and are closed when done.
const KEEP: usize = 8;

/// The brand's (?1) active record of `jti` (?2), with no `subject` (?3) or `client` (?4) entry
/// of the brand's feed at or after the token's `iat` (?5). `value IN (…)` lets the
/// `(brand_id, value)` index find the two values.
static LIVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT 1 FROM issued_tokens WHERE brand_id = ?1 AND jti = ?2 AND status = '{active}' \
         AND NOT EXISTS (SELECT 1 FROM revocations WHERE brand_id = ?1 AND value IN (?3, ?4) \
         AND ((kind = '{subject}' AND value = ?3) OR (kind = '{client}' AND value = ?4)) AND revoked_at >= ?5)",
        active = TokenStatus::Active.as_str(),
        subject = RevocationKind::Subject.as_str(),
        client = RevocationKind::Client.as_str(),
    )
});

/// Read-only connections to the store's SQLite file, and the pool behind them.
pub(crate) struct Readers {
    file: PathBuf,
    idle: Mutex<Vec<Connection>>,
    db: DatabaseConnection,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("file", &self.file).finish_non_exhaustive()
    }
}

impl Readers {
    pub(crate) fn new(file: PathBuf, db: DatabaseConnection) -> Self {
        Self { file, idle: Mutex::new(Vec::new()), db }
    }

    /// Whether the token is live: here if SQLite answers at once, else through the pool.
    pub(crate) async fn access_token_live(&self, lookup: &Lookup<'_>) -> StoreResult<bool> {
        if let Some(live) = self.here(lookup) {
            return Ok(live);
        }
        let Lookup { scope, jti, subject, client_id, issued_at } = *lookup;
        let values = [scope.brand_id().0.into(), jti.into(), subject.into(), client_id.into(), issued_at.into()];
        let statement = Statement::from_sql_and_values(DatabaseBackend::Sqlite, LIVE.as_str(), values);
        Ok(self.db.query_one_raw(statement).await.map_err(map_err)?.is_some())
    }

    /// The answer on this thread, or `None` when SQLite could not give it here and now.
    fn here(&self, lookup: &Lookup<'_>) -> Option<bool> {
        let Lookup { scope, jti, subject, client_id, issued_at } = *lookup;
        let taken = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let connection = match taken {
            Some(connection) => connection,
            None => direct::open(&self.file, Role::Reader)
                .inspect_err(|e| tracing::debug!(error = %e, "opening a liveness reader failed"))
                .ok()?,
        };
        let answer = connection
            .prepare_cached(&LIVE)
            .and_then(|mut statement| {
                statement
                    .query_row(params![scope.brand_id().0, jti, subject, client_id, issued_at], |_| Ok(()))
                    .optional()
            })
            .map(|row| row.is_some())
            .inspect_err(|e| tracing::debug!(error = %e, "liveness lookup fell back to the pool"))
            .ok();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEEP {
            idle.push(connection);
        }
        answer
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use portcullis_core::{ActType, BrandKey, ClientId, GrantType, Jti, KeyId, ScopeSet, SigningAlgorithm};
    use portcullis_tenancy::{
        BrandScope, BrandSettings, BrandStore, IssuedToken, KeyStatus, NewBrand, NewSigningKey, RevocationStore,
        TokenStore,
    };

    use super::*;

    async fn brand(store: &crate::SeaStore, key: &str) -> BrandScope {
        let new = NewBrand { key: BrandKey::parse(key).unwrap(), name: key.into(), settings: BrandSettings::default() };
        let signing = NewSigningKey {
            kid: KeyId::parse(format!("{key}-k1")).unwrap(),
            algorithm: SigningAlgorithm::EdDSA,
            status: KeyStatus::Active,
            sealed_private_key: vec![1],
            public_jwk: "{}".into(),
        };
        BrandScope::new(store.create_brand(new, signing).await.unwrap())
    }

    fn token(jti: &str) -> IssuedToken {
        IssuedToken {
            jti: Jti::parse(jti).unwrap(),
            client_id: ClientId::parse("c1").unwrap(),
            subject: "s1".into(),
            act_type: ActType::Client,
            grant_type: GrantType::ClientCredentials,
            scopes: ScopeSet::parse_delimited("read").unwrap(),
            audience: Vec::new(),
            issued_at: 100,
            expires_at: 1000,
            status: TokenStatus::Active,
            family_id: None,
            attributes: Vec::new(),
        }
    }

    /// The answers come from this path itself, not from the pool behind it (the store's
    /// integration tests check the same answers through the trait on SQLite and Postgres).
    #[tokio::test]
    async fn the_lookup_answers_on_the_calling_thread_and_stays_in_its_brand() {
        let db = crate::testing::sqlite();
        let store = db.store().await;
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        store.record_token(&acme, token("t1")).await.unwrap();
        store.record_token(&acme, token("t2")).await.unwrap();
        let crate::liveness::Liveness::Sqlite(readers) = &*store.liveness else { panic!("SQLite's readers") };
        let live = |scope, jti| readers.here(&Lookup { scope, jti, subject: "s1", client_id: "c1", issued_at: 100 });
        assert_eq!(live(&acme, "t1"), Some(true));
        assert_eq!(live(&globex, "t1"), Some(false), "another brand's");
        assert_eq!(live(&acme, "nope"), Some(false));
        store.revoke_token(&acme, "t1", 200).await.unwrap();
        assert_eq!(live(&acme, "t1"), Some(false), "revoked at once");
        assert_eq!(live(&acme, "t2"), Some(true));
    }
}
