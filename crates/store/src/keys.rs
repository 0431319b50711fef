//! [`KeyStore`] for [`SeaStore`].

use std::sync::Arc;

use portcullis_tenancy::{
    Activation, BrandScope, KeyRotation, KeyStatus, KeyStore, NewSigningKey, StoreResult, StoredKey,
};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::SeaStore;
use crate::convert;
use crate::entity::signing_keys;
use crate::error::map_err;
use crate::scoped::{scoped, scoped_update};

/// The row for a new key of brand `brand_id`.
pub(crate) fn active_model(brand_id: i64, key: NewSigningKey, now: i64) -> signing_keys::ActiveModel {
    signing_keys::ActiveModel {
        brand_id: Set(brand_id),
        kid: Set(key.kid.to_string()),
        algorithm: Set(key.algorithm.to_string()),
        status: Set(key.status.as_str().to_owned()),
        sealed_private_key: Set(key.sealed_private_key),
        public_jwk: Set(key.public_jwk),
        created_at: Set(now),
        activated_at: Set((key.status == KeyStatus::Active).then_some(now)),
        retired_at: Set(None),
        publish_until: Set(None),
        ..Default::default()
    }
}

impl SeaStore {
    /// All of the brand's keys, newest first, through the cache.
    async fn all_keys(&self, scope: &BrandScope) -> StoreResult<Arc<[StoredKey]>> {
        let brand_id = scope.brand_id().0;
        if let Some(keys) = self.cache.keys(brand_id) {
            return Ok(keys);
        }
        let ticket = self.cache.ticket();
        let keys: Arc<[StoredKey]> = scoped::<signing_keys::Entity>(scope)
            .order_by_desc(signing_keys::Column::Id)
            .all(&self.db)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(convert::key)
            .collect::<StoreResult<_>>()?;
        self.cache.put_keys(ticket, brand_id, Arc::clone(&keys));
        Ok(keys)
    }
}

impl KeyStore for SeaStore {
    async fn active_key(&self, scope: &BrandScope) -> StoreResult<Option<StoredKey>> {
        Ok(self.all_keys(scope).await?.iter().find(|k| k.status == KeyStatus::Active).cloned())
    }

    async fn published_keys(&self, scope: &BrandScope, now: i64) -> StoreResult<Vec<StoredKey>> {
        let published = |k: &&StoredKey| k.status != KeyStatus::Retired || k.publish_until.is_some_and(|t| t > now);
        Ok(self.all_keys(scope).await?.iter().filter(published).cloned().collect())
    }

    async fn list_keys(&self, scope: &BrandScope) -> StoreResult<Vec<StoredKey>> {
        Ok(self.all_keys(scope).await?.to_vec())
    }

    async fn add_key(&self, scope: &BrandScope, key: NewSigningKey, now: i64) -> StoreResult<()> {
        self.changed(async {
            signing_keys::Entity::insert(active_model(scope.brand_id().0, key, now))
                .exec_without_returning(&self.db)
                .await
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn withdraw_key(&self, scope: &BrandScope, kid: &str, now: i64) -> StoreResult<bool> {
        self.changed(async {
            // A retired key keeps its retirement time; a next key is retired now.
            let retired_at = Func::coalesce([Expr::col(signing_keys::Column::RetiredAt), Expr::val(now)]);
            let withdrawn = scoped_update::<signing_keys::Entity>(scope)
                .col_expr(signing_keys::Column::Status, Expr::val(KeyStatus::Retired.as_str()))
                .col_expr(signing_keys::Column::RetiredAt, retired_at.into())
                .col_expr(signing_keys::Column::PublishUntil, Expr::val(now))
                .filter(signing_keys::Column::Kid.eq(kid))
                .filter(signing_keys::Column::Status.ne(KeyStatus::Active.as_str()))
                .exec(&self.db)
                .await
                .map_err(map_err)?;
            Ok(withdrawn.rows_affected == 1)
        })
        .await
    }

    async fn rotate_keys(&self, scope: &BrandScope, rotation: KeyRotation, now: i64) -> StoreResult<bool> {
        self.changed(async {
            let txn = self.write_txn().await?;
            let retired = scoped_update::<signing_keys::Entity>(scope)
                .col_expr(signing_keys::Column::Status, Expr::val(KeyStatus::Retired.as_str()))
                .col_expr(signing_keys::Column::RetiredAt, Expr::val(now))
                .col_expr(signing_keys::Column::PublishUntil, Expr::val(rotation.publish_until))
                .filter(signing_keys::Column::Kid.eq(rotation.retire.as_str()))
                .filter(signing_keys::Column::Status.eq(KeyStatus::Active.as_str()))
                .exec(&txn)
                .await
                .map_err(map_err)?;
            let activated = match rotation.activate {
                Activation::Promote(kid) => {
                    scoped_update::<signing_keys::Entity>(scope)
                        .col_expr(signing_keys::Column::Status, Expr::val(KeyStatus::Active.as_str()))
                        .col_expr(signing_keys::Column::ActivatedAt, Expr::val(now))
                        .filter(signing_keys::Column::Kid.eq(kid.as_str()))
                        .filter(signing_keys::Column::Status.eq(KeyStatus::Next.as_str()))
                        .exec(&txn)
                        .await
                        .map_err(map_err)?
                        .rows_affected
                }
                Activation::Insert(key) => {
                    let key = NewSigningKey { status: KeyStatus::Active, ..key };
                    signing_keys::Entity::insert(active_model(scope.brand_id().0, key, now))
                        .exec_without_returning(&txn)
                        .await
                        .map_err(map_err)?;
                    1
                }
            };
            if retired.rows_affected != 1 || activated != 1 {
                txn.rollback().await.map_err(map_err)?;
                return Ok(false);
            }
            let next = NewSigningKey { status: KeyStatus::Next, ..rotation.next };
            signing_keys::Entity::insert(active_model(scope.brand_id().0, next, now))
                .exec_without_returning(&txn)
                .await
                .map_err(map_err)?;
            txn.commit().await.map_err(map_err)?;
            Ok(true)
        })
        .await
    }
}
