//! [`BrandStore`] for [`SeaStore`].

use portcullis_core::BrandKey;
use portcullis_tenancy::{
    Brand, BrandId, BrandScope, BrandSettings, BrandStore, NewBrand, NewSigningKey, StoreError, StoreResult,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::convert::{self, to_json, ttl_to_db};
use crate::entity::{brands, signing_keys};
use crate::error::map_err;
use crate::{SeaStore, keys, unix_now};

impl BrandStore for SeaStore {
    async fn find_brand(&self, key: &BrandKey) -> StoreResult<Option<Brand>> {
        if let Some(brand) = self.cache.brand(key.as_str()) {
            return Ok(Some(brand));
        }
        let ticket = self.cache.ticket();
        let brand = brands::Entity::find()
            .filter(brands::Column::Key.eq(key.as_str()))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::brand)
            .transpose()?;
        if let Some(brand) = &brand {
            self.cache.put_brand(ticket, brand);
        }
        Ok(brand)
    }

    async fn create_brand(&self, brand: NewBrand, first_key: NewSigningKey) -> StoreResult<Brand> {
        self.changed(async {
            let now = unix_now();
            let settings = &brand.settings;
            let txn = self.write_txn().await?;
            let row = brands::ActiveModel {
                key: Set(brand.key.to_string()),
                name: Set(brand.name.clone()),
                signing_algorithm: Set(settings.signing_algorithm.to_string()),
                require_audience: Set(settings.require_audience),
                access_ttl: Set(ttl_to_db(settings.access_ttl)),
                refresh_ttl: Set(ttl_to_db(settings.refresh_ttl)),
                allowed_grants: Set(settings.allowed_grants.as_ref().map(to_json)),
                scope_catalog: Set(to_json(&settings.scope_catalog)),
                display_name: Set(settings.branding.display_name.clone()),
                logo_url: Set(settings.branding.logo_url.clone()),
                primary_color: Set(settings.branding.primary_color.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(|e| match map_err(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("brand '{}' already exists", brand.key)),
                other => other,
            })?;
            signing_keys::Entity::insert(keys::active_model(row.id, first_key, now))
                .exec_without_returning(&txn)
                .await
                .map_err(map_err)?;
            txn.commit().await.map_err(map_err)?;
            convert::brand(row)
        })
        .await
    }

    async fn list_brands(&self, after: Option<BrandId>, limit: u64) -> StoreResult<Vec<Brand>> {
        let mut query = brands::Entity::find().order_by_asc(brands::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(brands::Column::Id.gt(after.0));
        }
        query.all(&self.db).await.map_err(map_err)?.into_iter().map(convert::brand).collect()
    }

    async fn count_brands(&self) -> StoreResult<u64> {
        brands::Entity::find().count(&self.db).await.map_err(map_err)
    }

    async fn update_brand(
        &self,
        scope: &BrandScope,
        name: String,
        settings: BrandSettings,
        now: i64,
    ) -> StoreResult<Brand> {
        self.changed(async {
            // The brand row itself: filtered by the scope's own id.
            let id = scope.brand_id().0;
            brands::Entity::update_many()
                .col_expr(brands::Column::Name, Expr::val(name))
                .col_expr(brands::Column::SigningAlgorithm, Expr::val(settings.signing_algorithm.to_string()))
                .col_expr(brands::Column::RequireAudience, Expr::val(settings.require_audience))
                .col_expr(brands::Column::AccessTtl, Expr::val(ttl_to_db(settings.access_ttl)))
                .col_expr(brands::Column::RefreshTtl, Expr::val(ttl_to_db(settings.refresh_ttl)))
                .col_expr(brands::Column::AllowedGrants, Expr::val(settings.allowed_grants.as_ref().map(to_json)))
                .col_expr(brands::Column::ScopeCatalog, Expr::val(to_json(&settings.scope_catalog)))
                .col_expr(brands::Column::DisplayName, Expr::val(settings.branding.display_name))
                .col_expr(brands::Column::LogoUrl, Expr::val(settings.branding.logo_url))
                .col_expr(brands::Column::PrimaryColor, Expr::val(settings.branding.primary_color))
                .col_expr(brands::Column::UpdatedAt, Expr::val(now))
                .filter(brands::Column::Id.eq(id))
                .exec(&self.db)
                .await
                .map_err(map_err)?;
            let row = brands::Entity::find_by_id(id).one(&self.db).await.map_err(map_err)?;
            convert::brand(row.ok_or_else(|| StoreError::Backend(format!("brand {id} vanished during an update")))?)
        })
        .await
    }
}
