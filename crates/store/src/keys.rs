//! [`KeyStore`] for [`SeaStore`].

use portcullis_tenancy::{BrandScope, KeyStatus, KeyStore, NewSigningKey, StoreResult, StoredKey};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, Set};

use crate::SeaStore;
use crate::convert;
use crate::entity::signing_keys;
use crate::error::map_err;
use crate::scoped::scoped;

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

impl KeyStore for SeaStore {
    async fn active_key(&self, scope: &BrandScope) -> StoreResult<Option<StoredKey>> {
        scoped::<signing_keys::Entity>(scope)
            .filter(signing_keys::Column::Status.eq(KeyStatus::Active.as_str()))
            .order_by_desc(signing_keys::Column::Id)
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::key)
            .transpose()
    }

    async fn published_keys(&self, scope: &BrandScope, now: i64) -> StoreResult<Vec<StoredKey>> {
        let still_published = Condition::any()
            .add(signing_keys::Column::Status.ne(KeyStatus::Retired.as_str()))
            .add(signing_keys::Column::PublishUntil.gt(now));
        scoped::<signing_keys::Entity>(scope)
            .filter(still_published)
            .order_by_desc(signing_keys::Column::Id)
            .all(&self.db)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(convert::key)
            .collect()
    }
}
