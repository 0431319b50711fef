//! [`MaintenanceStore`] for [`SeaStore`]: pruning in small batches.
//!
//! Each statement deletes at most `batch` rows, chosen by a subquery on an indexed expiry
//! column, so that a prune never holds the write lock (SQLite) or many row locks (Postgres)
//! for long, and issuance goes on between batches.

use portcullis_tenancy::{MaintenanceStore, RefreshStatus, StoreResult, TokenStatus};
use sea_orm::sea_query::{Condition, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::SeaStore;
use crate::entity::{authorization_codes, issued_tokens, login_sessions, refresh_tokens, revocations};
use crate::error::map_err;

impl MaintenanceStore for SeaStore {
    async fn prune(&self, cutoff: i64, batch: u64) -> StoreResult<u64> {
        // Deliberately unscoped (see the trait): only rows no brand can use any more.
        let tokens = Query::select()
            .column(issued_tokens::Column::Jti)
            .from(issued_tokens::Entity)
            .cond_where(
                Condition::any().add(issued_tokens::Column::ExpiresAt.lt(cutoff)).add(
                    Condition::all()
                        .add(issued_tokens::Column::Status.eq(TokenStatus::Revoked.as_str()))
                        .add(issued_tokens::Column::RevokedAt.lt(cutoff)),
                ),
            )
            .limit(batch)
            .to_owned();
        let tokens = issued_tokens::Entity::delete_many()
            .filter(issued_tokens::Column::Jti.in_subquery(tokens))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        // A rotated refresh token is kept until its family would have expired: presenting it
        // again must still be recognised as reuse.
        let refresh = Query::select()
            .column(refresh_tokens::Column::Id)
            .from(refresh_tokens::Entity)
            .cond_where(
                Condition::any().add(refresh_tokens::Column::ExpiresAt.lt(cutoff)).add(
                    Condition::all()
                        .add(refresh_tokens::Column::Status.eq(RefreshStatus::Revoked.as_str()))
                        .add(refresh_tokens::Column::RevokedAt.lt(cutoff)),
                ),
            )
            .limit(batch)
            .to_owned();
        let refresh = refresh_tokens::Entity::delete_many()
            .filter(refresh_tokens::Column::Id.in_subquery(refresh))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        let feed = Query::select()
            .column(revocations::Column::Id)
            .from(revocations::Entity)
            .and_where(revocations::Column::ExpiresAt.lt(cutoff))
            .limit(batch)
            .to_owned();
        let feed = revocations::Entity::delete_many()
            .filter(revocations::Column::Id.in_subquery(feed))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        // A spent code is kept until its expiry plus the retention, so a replay in that time is
        // still recognised (and revokes what the code issued).
        let codes = Query::select()
            .column(authorization_codes::Column::Id)
            .from(authorization_codes::Entity)
            .and_where(authorization_codes::Column::ExpiresAt.lt(cutoff))
            .limit(batch)
            .to_owned();
        let codes = authorization_codes::Entity::delete_many()
            .filter(authorization_codes::Column::Id.in_subquery(codes))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        let sessions = Query::select()
            .column(login_sessions::Column::Id)
            .from(login_sessions::Entity)
            .and_where(login_sessions::Column::ExpiresAt.lt(cutoff))
            .limit(batch)
            .to_owned();
        let sessions = login_sessions::Entity::delete_many()
            .filter(login_sessions::Column::Id.in_subquery(sessions))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        Ok(tokens.rows_affected
            + refresh.rows_affected
            + feed.rows_affected
            + codes.rows_affected
            + sessions.rows_affected)
    }
}
