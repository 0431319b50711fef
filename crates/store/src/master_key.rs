//! Re-sealing every brand's signing keys under a new master key: a platform-wide maintenance
//! operation (like pruning), used by `portcullis master-key rotate`, never by a request.

use std::collections::HashMap;

use portcullis_tenancy::{StoreError, StoreResult};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

use crate::SeaStore;
use crate::entity::{brands, platform_meta, signing_keys};
use crate::error::map_err;

/// One sealed signing key, as the re-sealing function sees it.
#[derive(Debug)]
pub struct SealedKey<'a> {
    /// The brand key (part of the sealing context).
    pub brand: &'a str,
    /// The key id (part of the sealing context).
    pub kid: &'a str,
    /// The sealed private key.
    pub sealed: &'a [u8],
}

impl SeaStore {
    /// Replaces every signing key's sealed private key with `reseal(key)` and the metadata
    /// value `check_name` with `new_check`, in one transaction: either every key is under the
    /// new master key and the check value names it, or nothing changed. Returns how many keys
    /// were re-sealed. A failing `reseal` (a key the current master key cannot open) aborts.
    pub async fn reseal_signing_keys<F>(&self, reseal: F, check_name: &str, new_check: Vec<u8>) -> StoreResult<u64>
    where
        F: Fn(&SealedKey<'_>) -> Result<Vec<u8>, String>,
    {
        let txn = self.write_txn().await?;
        let brand_keys: HashMap<i64, String> =
            brands::Entity::find().all(&txn).await.map_err(map_err)?.into_iter().map(|b| (b.id, b.key)).collect();
        let rows =
            signing_keys::Entity::find().order_by_asc(signing_keys::Column::Id).all(&txn).await.map_err(map_err)?;
        let mut count = 0;
        for key in rows {
            let brand = brand_keys
                .get(&key.brand_id)
                .ok_or_else(|| StoreError::Backend(format!("signing key {} has no brand", key.kid)))?;
            let sealed = reseal(&SealedKey { brand, kid: &key.kid, sealed: &key.sealed_private_key })
                .map_err(|e| StoreError::Backend(format!("re-sealing key {} of brand {brand}: {e}", key.kid)))?;
            let mut row: signing_keys::ActiveModel = key.into();
            row.sealed_private_key = Set(sealed);
            row.update(&txn).await.map_err(map_err)?;
            count += 1;
        }
        let check = platform_meta::ActiveModel { name: Set(check_name.to_owned()), value: Set(new_check) };
        check.update(&txn).await.map_err(map_err)?;
        self.changed(async { txn.commit().await.map_err(map_err) }).await?;
        Ok(count)
    }
}
