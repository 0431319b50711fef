//! [`RevocationStore`] for [`SeaStore`]: revoking records and appending to the feed in one
//! transaction, and reading the feed in cursor order.
//!
//! Cursor order is commit order. SQLite has one writer at a time, so that holds by itself. On
//! Postgres two transactions may draw ids from the sequence and commit in the opposite order,
//! and a follower reading between the two commits would skip the earlier id for good; every
//! transaction that appends to the feed therefore first takes one transaction-scoped advisory
//! lock, which serialises feed writers (revocations are rare next to issuance).

use portcullis_core::ClientId;
use portcullis_tenancy::{
    BrandScope, RefreshStatus, Revocation, RevocationKind, RevocationStore, RevokeAt, StoreResult, TokenStatus,
};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::SeaStore;
use crate::entity::{issued_tokens, refresh_tokens, revocations};
use crate::error::{corrupt, map_err};
use crate::liveness::Lookup;
use crate::scoped::{scoped, scoped_update};

/// Key of the Postgres advisory lock that orders feed writers ("PCFEED" in ASCII).
const FEED_LOCK: i64 = 0x5043_4645_4544;

/// Serialises feed writers on Postgres until the surrounding transaction ends. Call it first in
/// every transaction that appends to the feed.
pub(crate) async fn lock_feed(txn: &impl ConnectionTrait) -> StoreResult<()> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FEED_LOCK})")).await.map_err(map_err)?;
    }
    Ok(())
}

/// One feed entry to append.
pub(crate) struct Entry {
    pub(crate) kind: RevocationKind,
    pub(crate) value: String,
    pub(crate) revoked_at: i64,
    pub(crate) expires_at: i64,
}

/// Appends entries to the scoped brand's feed (inside a transaction holding [`lock_feed`]).
pub(crate) async fn append(txn: &impl ConnectionTrait, scope: &BrandScope, entries: Vec<Entry>) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows = entries.into_iter().map(|e| revocations::ActiveModel {
        brand_id: Set(scope.brand_id().0),
        kind: Set(e.kind.as_str().to_owned()),
        value: Set(e.value),
        revoked_at: Set(e.revoked_at),
        expires_at: Set(e.expires_at),
        ..Default::default()
    });
    revocations::Entity::insert_many(rows).exec_without_returning(txn).await.map_err(map_err)?;
    Ok(())
}

/// Whose tokens a blanket revocation covers.
#[derive(Clone, Copy)]
pub(crate) enum Holder<'a> {
    /// Tokens whose subject is this.
    Subject(&'a str),
    /// Tokens of this client.
    Client(&'a str),
}

impl Holder<'_> {
    fn kind(self) -> RevocationKind {
        match self {
            Self::Subject(_) => RevocationKind::Subject,
            Self::Client(_) => RevocationKind::Client,
        }
    }

    fn value(self) -> String {
        match self {
            Self::Subject(v) | Self::Client(v) => v.to_owned(),
        }
    }

    fn access_filter(self) -> Condition {
        match self {
            Self::Subject(v) => Condition::all().add(issued_tokens::Column::Subject.eq(v)),
            Self::Client(v) => Condition::all().add(issued_tokens::Column::ClientId.eq(v)),
        }
    }

    fn refresh_filter(self) -> Condition {
        match self {
            Self::Subject(v) => Condition::all().add(refresh_tokens::Column::Subject.eq(v)),
            Self::Client(v) => Condition::all().add(refresh_tokens::Column::ClientId.eq(v)),
        }
    }
}

/// Revokes every live token of `holder` and appends its feed entry, inside `txn` (which must
/// hold [`lock_feed`]). Returns how many records changed.
pub(crate) async fn revoke_holder(
    txn: &impl ConnectionTrait,
    scope: &BrandScope,
    holder: Holder<'_>,
    at: RevokeAt,
) -> StoreResult<u64> {
    let latest_expiry: Option<i64> = scoped::<issued_tokens::Entity>(scope)
        .select_only()
        .column_as(issued_tokens::Column::ExpiresAt.max(), "latest")
        .filter(holder.access_filter())
        .filter(issued_tokens::Column::Status.eq(TokenStatus::Active.as_str()))
        .into_tuple::<Option<i64>>()
        .one(txn)
        .await
        .map_err(map_err)?
        .flatten();
    let access = scoped_update::<issued_tokens::Entity>(scope)
        .col_expr(issued_tokens::Column::Status, Expr::val(TokenStatus::Revoked.as_str()))
        .col_expr(issued_tokens::Column::RevokedAt, Expr::val(at.at))
        .filter(holder.access_filter())
        .filter(issued_tokens::Column::Status.eq(TokenStatus::Active.as_str()))
        .exec(txn)
        .await
        .map_err(map_err)?;
    let refresh = scoped_update::<refresh_tokens::Entity>(scope)
        .col_expr(refresh_tokens::Column::Status, Expr::val(RefreshStatus::Revoked.as_str()))
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::val(at.at))
        .filter(holder.refresh_filter())
        .filter(refresh_tokens::Column::Status.eq(RefreshStatus::Active.as_str()))
        .exec(txn)
        .await
        .map_err(map_err)?;
    let entry = Entry {
        kind: holder.kind(),
        value: holder.value(),
        revoked_at: at.at,
        expires_at: at.keep_until.max(latest_expiry.unwrap_or(at.at)),
    };
    append(txn, scope, vec![entry]).await?;
    Ok(access.rows_affected + refresh.rows_affected)
}

/// Changes one holder's own row — `change` runs the update or delete and returns how many rows
/// it touched — and, with `cascade`, revokes the holder's tokens and appends its feed entry, all
/// in one write transaction. Returns whether the row existed (nothing changes when it did not).
pub(crate) async fn change_holder(
    store: &SeaStore,
    scope: &BrandScope,
    holder: Holder<'_>,
    at: RevokeAt,
    cascade: bool,
    change: impl AsyncFnOnce(&DatabaseTransaction) -> StoreResult<u64>,
) -> StoreResult<bool> {
    let txn = store.write_txn().await?;
    if cascade {
        lock_feed(&txn).await?;
    }
    if change(&txn).await? == 0 {
        txn.rollback().await.map_err(map_err)?;
        return Ok(false);
    }
    if cascade {
        revoke_holder(&txn, scope, holder, at).await?;
    }
    txn.commit().await.map_err(map_err)?;
    Ok(true)
}

/// Revokes the active access tokens matching `filter` and appends one `token` entry for each,
/// inside `txn` (which must hold [`lock_feed`]). Returns how many changed.
/// Ends the access tokens of `scope` matching `filter` for good: active ones become `ended`
/// (with their feed entries, as [`revoke_access_tokens`]), and revoked ones too, so that nobody
/// can approve them again (verifiers refuse them already: no feed entry). Returns how many were
/// active.
pub(crate) async fn end_access_tokens(
    txn: &impl ConnectionTrait,
    scope: &BrandScope,
    filter: Condition,
    now: i64,
) -> StoreResult<u64> {
    let was_active = stop_access_tokens(txn, scope, filter.clone(), now, TokenStatus::Ended).await?;
    scoped_update::<issued_tokens::Entity>(scope)
        .col_expr(issued_tokens::Column::Status, Expr::val(TokenStatus::Ended.as_str()))
        .filter(filter)
        .filter(issued_tokens::Column::Status.eq(TokenStatus::Revoked.as_str()))
        .exec(txn)
        .await
        .map_err(map_err)?;
    Ok(was_active)
}

pub(crate) async fn revoke_access_tokens(
    txn: &impl ConnectionTrait,
    scope: &BrandScope,
    filter: Condition,
    now: i64,
) -> StoreResult<u64> {
    stop_access_tokens(txn, scope, filter, now, TokenStatus::Revoked).await
}

/// Gives the active access tokens matching `filter` the status `to` (revoked or ended) and
/// appends one `token` entry for each, inside `txn` (which must hold [`lock_feed`]). Returns
/// how many changed.
async fn stop_access_tokens(
    txn: &impl ConnectionTrait,
    scope: &BrandScope,
    filter: Condition,
    now: i64,
    to: TokenStatus,
) -> StoreResult<u64> {
    let live: Vec<(String, i64)> = scoped::<issued_tokens::Entity>(scope)
        .select_only()
        .column(issued_tokens::Column::Jti)
        .column(issued_tokens::Column::ExpiresAt)
        .filter(filter.clone())
        .filter(issued_tokens::Column::Status.eq(TokenStatus::Active.as_str()))
        .into_tuple()
        .all(txn)
        .await
        .map_err(map_err)?;
    if live.is_empty() {
        return Ok(0);
    }
    let changed = scoped_update::<issued_tokens::Entity>(scope)
        .col_expr(issued_tokens::Column::Status, Expr::val(to.as_str()))
        .col_expr(issued_tokens::Column::RevokedAt, Expr::val(now))
        .filter(filter)
        .filter(issued_tokens::Column::Status.eq(TokenStatus::Active.as_str()))
        .exec(txn)
        .await
        .map_err(map_err)?;
    let entries = live
        .into_iter()
        .map(|(jti, expires_at)| Entry { kind: RevocationKind::Token, value: jti, revoked_at: now, expires_at })
        .collect();
    append(txn, scope, entries).await?;
    Ok(changed.rows_affected)
}

impl RevocationStore for SeaStore {
    async fn revoke_token(&self, scope: &BrandScope, jti: &str, now: i64) -> StoreResult<bool> {
        let txn = self.write_txn().await?;
        lock_feed(&txn).await?;
        let changed =
            revoke_access_tokens(&txn, scope, Condition::all().add(issued_tokens::Column::Jti.eq(jti)), now).await?;
        txn.commit().await.map_err(map_err)?;
        Ok(changed > 0)
    }

    async fn end_token(&self, scope: &BrandScope, jti: &str, now: i64) -> StoreResult<bool> {
        let txn = self.write_txn().await?;
        lock_feed(&txn).await?;
        let this = Condition::all().add(issued_tokens::Column::Jti.eq(jti));
        let was_active = end_access_tokens(&txn, scope, this, now).await? > 0;
        txn.commit().await.map_err(map_err)?;
        Ok(was_active)
    }

    /// Only a `revoked` token changes: an `ended` one (or an active one) is left as it is.
    async fn approve_token(&self, scope: &BrandScope, jti: &str, now: i64) -> StoreResult<bool> {
        let txn = self.write_txn().await?;
        lock_feed(&txn).await?;
        let Some(expires_at) = scoped::<issued_tokens::Entity>(scope)
            .select_only()
            .column(issued_tokens::Column::ExpiresAt)
            .filter(issued_tokens::Column::Jti.eq(jti))
            .filter(issued_tokens::Column::Status.eq(TokenStatus::Revoked.as_str()))
            .into_tuple::<i64>()
            .one(&txn)
            .await
            .map_err(map_err)?
        else {
            txn.rollback().await.map_err(map_err)?;
            return Ok(false);
        };
        scoped_update::<issued_tokens::Entity>(scope)
            .col_expr(issued_tokens::Column::Status, Expr::val(TokenStatus::Active.as_str()))
            .col_expr(issued_tokens::Column::RevokedAt, Expr::val(Option::<i64>::None))
            .filter(issued_tokens::Column::Jti.eq(jti))
            .exec(&txn)
            .await
            .map_err(map_err)?;
        let entry = Entry { kind: RevocationKind::Approved, value: jti.to_owned(), revoked_at: now, expires_at };
        append(&txn, scope, vec![entry]).await?;
        txn.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn revoke_subject(&self, scope: &BrandScope, subject: &str, at: RevokeAt) -> StoreResult<u64> {
        let txn = self.write_txn().await?;
        lock_feed(&txn).await?;
        let changed = revoke_holder(&txn, scope, Holder::Subject(subject), at).await?;
        txn.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn revoke_client_tokens(&self, scope: &BrandScope, client_id: &ClientId, at: RevokeAt) -> StoreResult<u64> {
        let txn = self.write_txn().await?;
        lock_feed(&txn).await?;
        let changed = revoke_holder(&txn, scope, Holder::Client(client_id.as_str()), at).await?;
        txn.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn revocations_after(&self, scope: &BrandScope, cursor: i64, limit: u64) -> StoreResult<Vec<Revocation>> {
        scoped::<revocations::Entity>(scope)
            .filter(revocations::Column::Id.gt(cursor))
            .order_by_asc(revocations::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(|row| {
                Ok(Revocation {
                    cursor: row.id,
                    kind: RevocationKind::parse(&row.kind).ok_or_else(|| corrupt("revocation kind", &row.kind))?,
                    value: row.value,
                    revoked_at: row.revoked_at,
                    expires_at: row.expires_at,
                })
            })
            .collect()
    }

    async fn blanket_revoked(
        &self,
        scope: &BrandScope,
        subject: &str,
        client_id: &str,
        issued_at: i64,
    ) -> StoreResult<bool> {
        let hit = blanket(scope, subject, client_id, issued_at)
            .select_only()
            .column(revocations::Column::Id)
            .into_tuple::<i64>()
            .one(&self.db)
            .await
            .map_err(map_err)?;
        Ok(hit.is_some())
    }

    async fn access_token_live(
        &self,
        scope: &BrandScope,
        jti: &str,
        subject: &str,
        client_id: &str,
        issued_at: i64,
    ) -> StoreResult<bool> {
        self.liveness.access_token_live(Lookup { scope, jti, subject, client_id, issued_at }).await
    }

    async fn latest_revocation(&self) -> StoreResult<i64> {
        // Deliberately unscoped: a number that says "something changed", no tenant data.
        let latest: Option<Option<i64>> = revocations::Entity::find()
            .select_only()
            .column_as(revocations::Column::Id.max(), "latest")
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(map_err)?;
        Ok(latest.flatten().unwrap_or(0))
    }
}

/// The scoped brand's `subject` entries for `subject` and `client` entries for `client_id` that
/// refuse a token issued at `issued_at`.
fn blanket(scope: &BrandScope, subject: &str, client_id: &str, issued_at: i64) -> sea_orm::Select<revocations::Entity> {
    let holders = Condition::any()
        .add(
            Condition::all()
                .add(revocations::Column::Kind.eq(RevocationKind::Subject.as_str()))
                .add(revocations::Column::Value.eq(subject)),
        )
        .add(
            Condition::all()
                .add(revocations::Column::Kind.eq(RevocationKind::Client.as_str()))
                .add(revocations::Column::Value.eq(client_id)),
        );
    // `value IN (…)` repeats what `holders` says so that the (brand_id, value) index is searched
    // for the two values: with only the OR, SQLite reads every feed entry of the brand, and a
    // busy brand's checks slow down as its feed grows (found by `cargo xtask soak`).
    scoped::<revocations::Entity>(scope)
        .filter(revocations::Column::Value.is_in([subject, client_id]))
        .filter(holders)
        .filter(revocations::Column::RevokedAt.gte(issued_at))
}
