//! [`LoginThrottleStore`] for [`SeaStore`]: one counter row per (brand, username), updated in a
//! transaction so that every process sees the same lock-out.

use portcullis_tenancy::{BrandScope, FailureCounter, LockoutPolicy, LoginThrottleStore, StoreError, StoreResult};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::SeaStore;
use crate::entity::login_failures;
use crate::error::map_err;
use crate::scoped::{scoped, scoped_delete};

fn counter(row: &login_failures::Model) -> FailureCounter {
    FailureCounter {
        window_start: row.window_start,
        failures: u32::try_from(row.failures).unwrap_or(0),
        locked_until: row.locked_until,
    }
}

impl SeaStore {
    async fn try_record_failure(
        &self,
        scope: &BrandScope,
        username: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> StoreResult<FailureCounter> {
        let txn = self.write_txn().await?;
        let existing = scoped::<login_failures::Entity>(scope)
            .filter(login_failures::Column::Username.eq(username))
            .one(&txn)
            .await
            .map_err(map_err)?;
        let next = FailureCounter::after_failure(existing.as_ref().map(counter), now, policy);
        let failures = i32::try_from(next.failures).unwrap_or(i32::MAX);
        match existing {
            Some(row) => {
                let mut active: login_failures::ActiveModel = row.into();
                active.window_start = Set(next.window_start);
                active.failures = Set(failures);
                active.locked_until = Set(next.locked_until);
                active.update(&txn).await.map_err(map_err)?;
            }
            None => {
                let row = login_failures::ActiveModel {
                    brand_id: Set(scope.brand_id().0),
                    username: Set(username.to_owned()),
                    window_start: Set(next.window_start),
                    failures: Set(failures),
                    locked_until: Set(next.locked_until),
                    ..Default::default()
                };
                login_failures::Entity::insert(row).exec_without_returning(&txn).await.map_err(map_err)?;
            }
        }
        txn.commit().await.map_err(map_err)?;
        Ok(next)
    }
}

impl LoginThrottleStore for SeaStore {
    async fn login_locked_until(&self, scope: &BrandScope, username: &str) -> StoreResult<i64> {
        Ok(scoped::<login_failures::Entity>(scope)
            .filter(login_failures::Column::Username.eq(username))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map_or(0, |row| row.locked_until))
    }

    async fn record_login_failure(
        &self,
        scope: &BrandScope,
        username: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> StoreResult<FailureCounter> {
        // Two processes may insert the first row at once; the loser retries as an update.
        match self.try_record_failure(scope, username, now, policy).await {
            Err(StoreError::Conflict(_)) => self.try_record_failure(scope, username, now, policy).await,
            other => other,
        }
    }

    async fn clear_login_failures(&self, scope: &BrandScope, username: &str) -> StoreResult<()> {
        scoped_delete::<login_failures::Entity>(scope)
            .filter(login_failures::Column::Username.eq(username))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
