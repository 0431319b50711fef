//! [`LoginThrottleStore`] for [`SeaStore`]: one counter row per (brand, username). A login
//! attempt is reserved in one write transaction (SQLite's `BEGIN IMMEDIATE`, Postgres's
//! `SELECT … FOR UPDATE`), before the password is checked, so concurrent attempts, from any
//! number of processes sharing the database, are counted one after the other.

use portcullis_tenancy::{
    BrandScope, FailureCounter, LockoutPolicy, LoginReservation, LoginThrottleStore, StoreError, StoreResult,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

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
    async fn try_reserve(
        &self,
        scope: &BrandScope,
        username: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> StoreResult<LoginReservation> {
        let txn = self.write_txn().await?;
        // Postgres locks the row until the commit, so the next reservation reads this one's
        // count; SQLite's immediate transaction already holds the database's write lock.
        let existing = scoped::<login_failures::Entity>(scope)
            .filter(login_failures::Column::Username.eq(username))
            .lock_exclusive()
            .one(&txn)
            .await
            .map_err(map_err)?;
        let reservation = FailureCounter::reserve(existing.as_ref().map(counter), now, policy);
        let LoginReservation::Admitted(next) = reservation else {
            return Ok(reservation);
        };
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
        Ok(reservation)
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

    async fn reserve_login_attempt(
        &self,
        scope: &BrandScope,
        username: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> StoreResult<LoginReservation> {
        // Concurrent first attempts may each find no row and insert one: the unique index lets
        // one through, and the others retry, now reading (and locking) the row it made.
        let mut tries = 0;
        loop {
            match self.try_reserve(scope, username, now, policy).await {
                Err(StoreError::Conflict(_)) if tries < 3 => tries += 1,
                other => return other,
            }
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
