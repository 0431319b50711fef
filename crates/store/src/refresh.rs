//! [`RefreshStore`] for [`SeaStore`]: rotation as a compare-and-set, family revocation in one
//! transaction.

use portcullis_tenancy::{BrandScope, RefreshStatus, RefreshStore, RefreshToken, StoreResult};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::SeaStore;
use crate::convert::{self, act_type_str, to_json};
use crate::entity::{issued_tokens, refresh_tokens};
use crate::error::map_err;
use crate::revocations::{end_access_tokens, lock_feed, revoke_access_tokens};
use crate::scoped::{scoped, scoped_update};

fn row(scope: &BrandScope, token: RefreshToken) -> refresh_tokens::ActiveModel {
    refresh_tokens::ActiveModel {
        brand_id: Set(scope.brand_id().0),
        token_hash: Set(token.token_hash),
        family_id: Set(token.family_id),
        client_id: Set(token.client_id.to_string()),
        subject: Set(token.subject),
        act_type: Set(act_type_str(token.act_type).to_owned()),
        scopes: Set(to_json(&token.scopes)),
        audience: Set(to_json(&token.audience)),
        issued_at: Set(token.issued_at),
        expires_at: Set(token.expires_at),
        status: Set(token.status.as_str().to_owned()),
        rotated_at: Set(token.rotated_at),
        revoked_at: Set(None),
        ..Default::default()
    }
}

async fn insert(db: &impl ConnectionTrait, scope: &BrandScope, token: RefreshToken) -> StoreResult<()> {
    refresh_tokens::Entity::insert(row(scope, token)).exec_without_returning(db).await.map_err(map_err)?;
    Ok(())
}

/// A compare-and-set of a refresh token's status that hands it a successor.
struct Step {
    from: RefreshStatus,
    to: RefreshStatus,
    /// The rotation time to record, if this step rotates.
    rotated_at: Option<i64>,
}

impl SeaStore {
    /// Moves `old_hash` from `step.from` to `step.to` and records `replacement`, in one
    /// transaction; `false`, changing nothing, when `old_hash` was not in `step.from`.
    async fn succeed(
        &self,
        scope: &BrandScope,
        old_hash: &str,
        step: Step,
        replacement: RefreshToken,
    ) -> StoreResult<bool> {
        let txn = self.write_txn().await?;
        let mut update = scoped_update::<refresh_tokens::Entity>(scope)
            .col_expr(refresh_tokens::Column::Status, Expr::val(step.to.as_str()));
        if let Some(at) = step.rotated_at {
            update = update.col_expr(refresh_tokens::Column::RotatedAt, Expr::val(at));
        }
        let claimed = update
            .filter(refresh_tokens::Column::TokenHash.eq(old_hash))
            .filter(refresh_tokens::Column::Status.eq(step.from.as_str()))
            .exec(&txn)
            .await
            .map_err(map_err)?;
        if claimed.rows_affected != 1 {
            txn.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        insert(&txn, scope, replacement).await?;
        txn.commit().await.map_err(map_err)?;
        Ok(true)
    }
}

impl RefreshStore for SeaStore {
    async fn record_refresh(&self, scope: &BrandScope, token: RefreshToken) -> StoreResult<()> {
        insert(&self.db, scope, token).await
    }

    async fn find_refresh(&self, scope: &BrandScope, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        scoped::<refresh_tokens::Entity>(scope)
            .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::refresh)
            .transpose()
    }

    async fn rotate_refresh(
        &self,
        scope: &BrandScope,
        old_hash: &str,
        replacement: RefreshToken,
        now: i64,
    ) -> StoreResult<bool> {
        let step = Step { from: RefreshStatus::Active, to: RefreshStatus::Rotated, rotated_at: Some(now) };
        self.succeed(scope, old_hash, step, replacement).await
    }

    async fn retry_refresh(&self, scope: &BrandScope, old_hash: &str, replacement: RefreshToken) -> StoreResult<bool> {
        let step = Step { from: RefreshStatus::Rotated, to: RefreshStatus::Retried, rotated_at: None };
        self.succeed(scope, old_hash, step, replacement).await
    }

    async fn revoke_family(&self, scope: &BrandScope, family_id: &str, now: i64) -> StoreResult<u64> {
        self.stop_family(scope, family_id, now, false).await
    }

    async fn end_family(&self, scope: &BrandScope, family_id: &str, now: i64) -> StoreResult<u64> {
        self.stop_family(scope, family_id, now, true).await
    }
}

impl SeaStore {
    /// Revokes every refresh token of the family and stops its access tokens: `ended` for good
    /// when `ended` (its holder ended the login), else `revoked`.
    async fn stop_family(&self, scope: &BrandScope, family_id: &str, now: i64, ended: bool) -> StoreResult<u64> {
        let txn = self.write_txn().await?;
        lock_feed(&txn).await?;
        let refresh = scoped_update::<refresh_tokens::Entity>(scope)
            .col_expr(refresh_tokens::Column::Status, Expr::val(RefreshStatus::Revoked.as_str()))
            .col_expr(refresh_tokens::Column::RevokedAt, Expr::val(now))
            .filter(refresh_tokens::Column::FamilyId.eq(family_id))
            .filter(refresh_tokens::Column::Status.ne(RefreshStatus::Revoked.as_str()))
            .exec(&txn)
            .await
            .map_err(map_err)?;
        let family = Condition::all().add(issued_tokens::Column::FamilyId.eq(family_id));
        let access = if ended {
            end_access_tokens(&txn, scope, family, now).await?
        } else {
            revoke_access_tokens(&txn, scope, family, now).await?
        };
        txn.commit().await.map_err(map_err)?;
        Ok(refresh.rows_affected + access)
    }
}
