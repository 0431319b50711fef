//! [`PrincipalStore`] for [`SeaStore`].

use portcullis_core::username;
use portcullis_tenancy::{
    BrandScope, NewPrincipal, Principal, PrincipalKind, PrincipalStore, PrincipalUpdate, RevocationKind, RevokeAt,
    StoreError, StoreResult,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::convert::{self, to_json};
use crate::entity::principals;
use crate::error::map_err;
use crate::revocations::{self, Holder, change_holder};
use crate::scoped::{scoped, scoped_delete, scoped_update};
use crate::{SeaStore, unix_now};

impl PrincipalStore for SeaStore {
    async fn find_principal(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        username: &str,
    ) -> StoreResult<Option<Principal>> {
        // The exact spelling (in NFC) first, then any spelling with the same key: a row left
        // without a key (a clash found when keys were introduced) is still found by its own
        // spelling, and never by another one.
        let username = username::normalise(username);
        let key = username::key(&username);
        let rows = scoped::<principals::Entity>(scope)
            .filter(principals::Column::Kind.eq(kind.as_str()))
            .filter(
                Condition::any()
                    .add(principals::Column::Username.eq(username.as_ref()))
                    .add(principals::Column::UsernameKey.eq(key)),
            )
            .limit(2)
            .all(&self.db)
            .await
            .map_err(map_err)?;
        let exact = rows.iter().position(|row| row.username == username);
        let found = match exact {
            Some(index) => rows.into_iter().nth(index),
            None => rows.into_iter().next(),
        };
        found.map(convert::principal).transpose()
    }

    async fn find_principal_by_id(&self, scope: &BrandScope, id: &str) -> StoreResult<Option<Principal>> {
        scoped::<principals::Entity>(scope)
            .filter(principals::Column::PrincipalId.eq(id))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::principal)
            .transpose()
    }

    async fn create_principal(&self, scope: &BrandScope, principal: NewPrincipal) -> StoreResult<Principal> {
        let now = unix_now();
        let row = principals::ActiveModel {
            brand_id: Set(scope.brand_id().0),
            principal_id: Set(principal.id),
            kind: Set(principal.kind.as_str().to_owned()),
            username: Set(principal.username.clone()),
            username_key: Set(Some(username::key(&principal.username))),
            password_hash: Set(principal.password_hash),
            permissions: Set(to_json(&principal.permissions)),
            enabled: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            api_token_hash: Set(None),
            api_token_issued_at: Set(None),
            email: Set(principal.email),
            name: Set(principal.name),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "{} '{}' already exists in this brand (usernames are unique regardless of case, width \
                 and accents' encoding)",
                principal.kind.as_str(),
                principal.username
            )),
            other => other,
        })?;
        convert::principal(row)
    }

    async fn set_principal_enabled(
        &self,
        scope: &BrandScope,
        id: &str,
        enabled: bool,
        at: RevokeAt,
    ) -> StoreResult<bool> {
        change_holder(self, scope, Holder::Subject(id), at, !enabled, async |txn| {
            let updated = scoped_update::<principals::Entity>(scope)
                .col_expr(principals::Column::Enabled, Expr::val(enabled))
                .col_expr(principals::Column::UpdatedAt, Expr::val(at.at))
                .filter(principals::Column::PrincipalId.eq(id))
                .exec(txn)
                .await
                .map_err(map_err)?;
            Ok(updated.rows_affected)
        })
        .await
    }

    async fn delete_principal(&self, scope: &BrandScope, id: &str, at: RevokeAt) -> StoreResult<bool> {
        change_holder(self, scope, Holder::Subject(id), at, true, async |txn| {
            let deleted = scoped_delete::<principals::Entity>(scope)
                .filter(principals::Column::PrincipalId.eq(id))
                .exec(txn)
                .await
                .map_err(map_err)?;
            Ok(deleted.rows_affected)
        })
        .await
    }

    async fn list_principals(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        search: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> StoreResult<Vec<Principal>> {
        let mut query = of_kind(scope, kind, search).order_by_asc(principals::Column::Username).limit(limit);
        if let Some(after) = after {
            query = query.filter(principals::Column::Username.gt(after));
        }
        query.all(&self.db).await.map_err(map_err)?.into_iter().map(convert::principal).collect()
    }

    async fn count_principals(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        search: Option<&str>,
    ) -> StoreResult<u64> {
        of_kind(scope, kind, search).count(&self.db).await.map_err(map_err)
    }

    async fn update_principal(
        &self,
        scope: &BrandScope,
        id: &str,
        changes: PrincipalUpdate,
        now: i64,
    ) -> StoreResult<bool> {
        let mut update = scoped_update::<principals::Entity>(scope)
            .col_expr(principals::Column::UpdatedAt, Expr::val(now))
            .filter(principals::Column::PrincipalId.eq(id));
        if let Some(hash) = changes.password_hash {
            update = update.col_expr(principals::Column::PasswordHash, Expr::val(hash));
        }
        if let Some(permissions) = changes.permissions {
            update = update.col_expr(principals::Column::Permissions, Expr::val(to_json(&permissions)));
        }
        if let Some(email) = changes.email {
            update = update.col_expr(principals::Column::Email, Expr::val(email));
        }
        if let Some(name) = changes.name {
            update = update.col_expr(principals::Column::Name, Expr::val(name));
        }
        Ok(update.exec(&self.db).await.map_err(map_err)?.rows_affected == 1)
    }

    async fn set_api_token(
        &self,
        scope: &BrandScope,
        id: &str,
        token_hash: Option<String>,
        now: i64,
    ) -> StoreResult<bool> {
        let issued_at = token_hash.as_ref().map(|_| now);
        // The change and its feed entry commit together, so that verifiers caching answers for
        // the previous token forget them.
        let txn = self.write_txn().await?;
        revocations::lock_feed(&txn).await?;
        let updated = scoped_update::<principals::Entity>(scope)
            .col_expr(principals::Column::ApiTokenHash, Expr::val(token_hash))
            .col_expr(principals::Column::ApiTokenIssuedAt, Expr::val(issued_at))
            .col_expr(principals::Column::UpdatedAt, Expr::val(now))
            .filter(principals::Column::PrincipalId.eq(id))
            .exec(&txn)
            .await
            .map_err(map_err)?;
        if updated.rows_affected != 1 {
            return Ok(false);
        }
        let entry = revocations::Entry {
            kind: RevocationKind::ApiToken,
            value: id.to_owned(),
            revoked_at: now,
            expires_at: now,
        };
        revocations::append(&txn, scope, vec![entry]).await?;
        txn.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn find_principal_by_api_token(
        &self,
        scope: &BrandScope,
        token_hash: &str,
    ) -> StoreResult<Option<Principal>> {
        scoped::<principals::Entity>(scope)
            .filter(principals::Column::ApiTokenHash.eq(token_hash))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::principal)
            .transpose()
    }
}

/// The scoped brand's principals of `kind`, whose username starts with `search` (ASCII case
/// ignored, the same on SQLite and Postgres; `%`, `_` and `\\` match themselves).
fn of_kind(scope: &BrandScope, kind: PrincipalKind, search: Option<&str>) -> sea_orm::Select<principals::Entity> {
    let query = scoped::<principals::Entity>(scope).filter(principals::Column::Kind.eq(kind.as_str()));
    match search.filter(|s| !s.is_empty()) {
        Some(prefix) => {
            let escaped: String = prefix
                .to_ascii_lowercase()
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            let pattern = LikeExpr::new(format!("{escaped}%")).escape('\\');
            query.filter(Expr::expr(Func::lower(Expr::col(principals::Column::Username))).like(pattern))
        }
        None => query,
    }
}
