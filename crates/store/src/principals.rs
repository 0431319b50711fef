//! [`PrincipalStore`] for [`SeaStore`].

use portcullis_tenancy::{BrandScope, NewPrincipal, Principal, PrincipalKind, PrincipalStore, StoreError, StoreResult};
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, Set};

use crate::convert::{self, to_json};
use crate::entity::principals;
use crate::error::map_err;
use crate::scoped::scoped;
use crate::{SeaStore, unix_now};

impl PrincipalStore for SeaStore {
    async fn find_principal(
        &self,
        scope: &BrandScope,
        kind: PrincipalKind,
        username: &str,
    ) -> StoreResult<Option<Principal>> {
        scoped::<principals::Entity>(scope)
            .filter(principals::Column::Kind.eq(kind.as_str()))
            .filter(principals::Column::Username.eq(username))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::principal)
            .transpose()
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
            password_hash: Set(principal.password_hash),
            permissions: Set(to_json(&principal.permissions)),
            enabled: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "{} '{}' already exists in this brand",
                principal.kind.as_str(),
                principal.username
            )),
            other => other,
        })?;
        convert::principal(row)
    }
}
