//! [`MaintenanceStore`] for [`SeaStore`]: pruning in small batches.
//!
//! Each statement deletes at most `batch` rows, chosen by a subquery on an indexed expiry
//! column, so that a prune never holds the write lock (SQLite) or many row locks (Postgres)
//! for long, and issuance goes on between batches. Audit events older than the audit retention
//! go the same way ([`MaintenanceStore::prune_audit`]).

use portcullis_tenancy::{MaintenanceStore, RefreshStatus, StoreResult, TokenStatus};
use sea_orm::sea_query::{Condition, IntoCondition, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::SeaStore;
use crate::entity::{
    audit_events, authorization_codes, issued_tokens, login_failures, login_sessions, refresh_tokens, revocations,
};
use crate::error::map_err;

impl SeaStore {
    /// Deletes up to `batch` rows of `E` matching `condition`, chosen by a subquery on `id`.
    async fn delete_batch<E: EntityTrait>(
        &self,
        id: E::Column,
        condition: impl IntoCondition,
        batch: u64,
    ) -> StoreResult<u64> {
        let chosen = Query::select().column(id).from(E::default()).cond_where(condition).limit(batch).to_owned();
        let deleted = E::delete_many().filter(id.in_subquery(chosen)).exec(&self.db).await.map_err(map_err)?;
        Ok(deleted.rows_affected)
    }
}

impl MaintenanceStore for SeaStore {
    async fn prune(&self, cutoff: i64, batch: u64) -> StoreResult<u64> {
        // Deliberately unscoped (see the trait): only rows no brand can use any more.
        let tokens = self
            .delete_batch::<issued_tokens::Entity>(
                issued_tokens::Column::Jti,
                Condition::any().add(issued_tokens::Column::ExpiresAt.lt(cutoff)).add(
                    Condition::all()
                        .add(
                            issued_tokens::Column::Status
                                .is_in([TokenStatus::Revoked.as_str(), TokenStatus::Ended.as_str()]),
                        )
                        .add(issued_tokens::Column::RevokedAt.lt(cutoff)),
                ),
                batch,
            )
            .await?;
        // A rotated refresh token is kept until its family would have expired: presenting it
        // again must still be recognised as reuse.
        let refresh = self
            .delete_batch::<refresh_tokens::Entity>(
                refresh_tokens::Column::Id,
                Condition::any().add(refresh_tokens::Column::ExpiresAt.lt(cutoff)).add(
                    Condition::all()
                        .add(refresh_tokens::Column::Status.eq(RefreshStatus::Revoked.as_str()))
                        .add(refresh_tokens::Column::RevokedAt.lt(cutoff)),
                ),
                batch,
            )
            .await?;
        let feed = self
            .delete_batch::<revocations::Entity>(
                revocations::Column::Id,
                revocations::Column::ExpiresAt.lt(cutoff),
                batch,
            )
            .await?;
        // A spent code is kept until its expiry plus the retention, so a replay in that time is
        // still recognised (and revokes what the code issued).
        let codes = self
            .delete_batch::<authorization_codes::Entity>(
                authorization_codes::Column::Id,
                authorization_codes::Column::ExpiresAt.lt(cutoff),
                batch,
            )
            .await?;
        let sessions = self
            .delete_batch::<login_sessions::Entity>(
                login_sessions::Column::Id,
                login_sessions::Column::ExpiresAt.lt(cutoff),
                batch,
            )
            .await?;
        // A failure counter whose window and lock-out both ended before the cutoff counts
        // nothing any more (failed logins with made-up usernames would otherwise pile up).
        let failures = self
            .delete_batch::<login_failures::Entity>(
                login_failures::Column::Id,
                Condition::all()
                    .add(login_failures::Column::WindowStart.lt(cutoff))
                    .add(login_failures::Column::LockedUntil.lt(cutoff)),
                batch,
            )
            .await?;
        Ok(tokens + refresh + feed + codes + sessions + failures)
    }

    async fn prune_audit(&self, cutoff: i64, batch: u64) -> StoreResult<u64> {
        // Unscoped like `prune`: every brand's log keeps the same retention. The oldest rows
        // are chosen through the index on `at`.
        self.delete_batch::<audit_events::Entity>(audit_events::Column::Id, audit_events::Column::At.lt(cutoff), batch)
            .await
    }
}
