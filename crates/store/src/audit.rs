//! [`AuditStore`] for [`SeaStore`].

use portcullis_tenancy::{AuditEvent, AuditStore, BrandScope, StoreResult};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::SeaStore;
use crate::convert;
use crate::entity::audit_events;
use crate::error::map_err;
use crate::scoped::scoped;

impl AuditStore for SeaStore {
    async fn record_event(&self, scope: &BrandScope, event: AuditEvent) -> StoreResult<()> {
        let row = audit_events::ActiveModel {
            brand_id: Set(scope.brand_id().0),
            at: Set(event.at),
            actor: Set(event.actor),
            action: Set(event.action),
            target: Set(event.target),
            source: Set(event.source),
            detail: Set(event.detail),
            ..Default::default()
        };
        audit_events::Entity::insert(row).exec_without_returning(&self.db).await.map_err(map_err)?;
        Ok(())
    }

    async fn recent_events(&self, scope: &BrandScope, limit: u64) -> StoreResult<Vec<AuditEvent>> {
        Ok(scoped::<audit_events::Entity>(scope)
            .order_by_desc(audit_events::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(convert::audit)
            .collect())
    }

    async fn list_events(
        &self,
        scope: &BrandScope,
        before: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<(i64, AuditEvent)>> {
        let mut query = scoped::<audit_events::Entity>(scope).order_by_desc(audit_events::Column::Id).limit(limit);
        if let Some(before) = before {
            query = query.filter(audit_events::Column::Id.lt(before));
        }
        Ok(query.all(&self.db).await.map_err(map_err)?.into_iter().map(|row| (row.id, convert::audit(row))).collect())
    }

    async fn count_events(&self, scope: &BrandScope) -> StoreResult<u64> {
        scoped::<audit_events::Entity>(scope).count(&self.db).await.map_err(map_err)
    }
}
