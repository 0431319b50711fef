//! [`ClientStore`] for [`SeaStore`].

use portcullis_core::ClientId;
use portcullis_tenancy::{
    BrandScope, Client, ClientProfile, ClientStore, NewClient, RevokeAt, StoreError, StoreResult,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, Set};

use crate::convert::{self, to_json, ttl_to_db};
use crate::entity::clients;
use crate::error::map_err;
use crate::revocations::{Holder, change_holder};
use crate::scoped::{scoped, scoped_delete, scoped_update};
use crate::{SeaStore, unix_now};

impl ClientStore for SeaStore {
    async fn find_client(&self, scope: &BrandScope, id: &ClientId) -> StoreResult<Option<Client>> {
        let brand_id = scope.brand_id().0;
        if let Some(client) = self.cache.client(brand_id, id.as_str()) {
            return Ok(Some(client));
        }
        let ticket = self.cache.ticket();
        let client = scoped::<clients::Entity>(scope)
            .filter(clients::Column::ClientId.eq(id.as_str()))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::client)
            .transpose()?;
        if let Some(client) = &client {
            self.cache.put_client(ticket, brand_id, client);
        }
        Ok(client)
    }

    async fn list_clients(&self, scope: &BrandScope) -> StoreResult<Vec<Client>> {
        scoped::<clients::Entity>(scope)
            .order_by_asc(clients::Column::Id)
            .all(&self.db)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(convert::client)
            .collect()
    }

    async fn create_client(&self, scope: &BrandScope, client: NewClient) -> StoreResult<Client> {
        self.changed(async {
            let now = unix_now();
            let row = clients::ActiveModel {
                brand_id: Set(scope.brand_id().0),
                client_id: Set(client.client_id.to_string()),
                name: Set(client.profile.name),
                grant_types: Set(to_json(&client.profile.grant_types)),
                scopes: Set(to_json(&client.profile.scopes)),
                default_scopes: Set(to_json(&client.profile.default_scopes)),
                audiences: Set(to_json(&client.profile.audiences)),
                access_ttl: Set(ttl_to_db(client.profile.access_ttl)),
                refresh_ttl: Set(ttl_to_db(client.profile.refresh_ttl)),
                redirect_uris: Set(to_json(&client.profile.redirect_uris)),
                post_logout_redirect_uris: Set(to_json(&client.profile.post_logout_redirect_uris)),
                public: Set(client.profile.public),
                secret_hash: Set(client.secret_hash),
                previous_secret_hash: Set(None),
                previous_secret_expires_at: Set(None),
                enabled: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&self.db)
            .await
            .map_err(|e| match map_err(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("client '{}' already exists", client.client_id))
                }
                other => other,
            })?;
            convert::client(row)
        })
        .await
    }

    async fn set_client_enabled(
        &self,
        scope: &BrandScope,
        id: &ClientId,
        enabled: bool,
        at: RevokeAt,
    ) -> StoreResult<bool> {
        self.changed(change_holder(self, scope, Holder::Client(id.as_str()), at, !enabled, async |txn| {
            let updated = scoped_update::<clients::Entity>(scope)
                .col_expr(clients::Column::Enabled, Expr::val(enabled))
                .col_expr(clients::Column::UpdatedAt, Expr::val(at.at))
                .filter(clients::Column::ClientId.eq(id.as_str()))
                .exec(txn)
                .await
                .map_err(map_err)?;
            Ok(updated.rows_affected)
        }))
        .await
    }

    async fn update_client(
        &self,
        scope: &BrandScope,
        id: &ClientId,
        profile: ClientProfile,
        now: i64,
    ) -> StoreResult<bool> {
        self.changed(async {
            let updated = scoped_update::<clients::Entity>(scope)
                .col_expr(clients::Column::Name, Expr::val(profile.name))
                .col_expr(clients::Column::GrantTypes, Expr::val(to_json(&profile.grant_types)))
                .col_expr(clients::Column::Scopes, Expr::val(to_json(&profile.scopes)))
                .col_expr(clients::Column::DefaultScopes, Expr::val(to_json(&profile.default_scopes)))
                .col_expr(clients::Column::Audiences, Expr::val(to_json(&profile.audiences)))
                .col_expr(clients::Column::AccessTtl, Expr::val(ttl_to_db(profile.access_ttl)))
                .col_expr(clients::Column::RefreshTtl, Expr::val(ttl_to_db(profile.refresh_ttl)))
                .col_expr(clients::Column::RedirectUris, Expr::val(to_json(&profile.redirect_uris)))
                .col_expr(
                    clients::Column::PostLogoutRedirectUris,
                    Expr::val(to_json(&profile.post_logout_redirect_uris)),
                )
                .col_expr(clients::Column::Public, Expr::val(profile.public))
                .col_expr(clients::Column::UpdatedAt, Expr::val(now))
                .filter(clients::Column::ClientId.eq(id.as_str()))
                .exec(&self.db)
                .await
                .map_err(map_err)?;
            Ok(updated.rows_affected == 1)
        })
        .await
    }

    async fn replace_client_secret(
        &self,
        scope: &BrandScope,
        id: &ClientId,
        secret_hash: String,
        previous_until: Option<i64>,
        now: i64,
    ) -> StoreResult<bool> {
        self.changed(async {
            let txn = self.write_txn().await?;
            let Some(current) = scoped::<clients::Entity>(scope)
                .filter(clients::Column::ClientId.eq(id.as_str()))
                .one(&txn)
                .await
                .map_err(map_err)?
            else {
                txn.rollback().await.map_err(map_err)?;
                return Ok(false);
            };
            let previous = previous_until.map(|_| current.secret_hash);
            scoped_update::<clients::Entity>(scope)
                .col_expr(clients::Column::SecretHash, Expr::val(secret_hash))
                .col_expr(clients::Column::PreviousSecretHash, Expr::val(previous))
                .col_expr(clients::Column::PreviousSecretExpiresAt, Expr::val(previous_until))
                .col_expr(clients::Column::UpdatedAt, Expr::val(now))
                .filter(clients::Column::ClientId.eq(id.as_str()))
                .exec(&txn)
                .await
                .map_err(map_err)?;
            txn.commit().await.map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn delete_client(&self, scope: &BrandScope, id: &ClientId, at: RevokeAt) -> StoreResult<bool> {
        self.changed(change_holder(self, scope, Holder::Client(id.as_str()), at, true, async |txn| {
            let deleted = scoped_delete::<clients::Entity>(scope)
                .filter(clients::Column::ClientId.eq(id.as_str()))
                .exec(txn)
                .await
                .map_err(map_err)?;
            Ok(deleted.rows_affected)
        }))
        .await
    }
}
