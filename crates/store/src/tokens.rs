//! [`TokenStore`] for [`SeaStore`]. Records are written through the group-commit writer
//! ([`crate::writer`]).

use portcullis_tenancy::{BrandScope, IssuedToken, StoreResult, TokenFilter, TokenStore};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::SeaStore;
use crate::convert::{self, act_type_str, to_json};
use crate::entity::issued_tokens;
use crate::error::map_err;
use crate::scoped::scoped;

impl TokenStore for SeaStore {
    async fn record_token(&self, scope: &BrandScope, token: IssuedToken) -> StoreResult<()> {
        let row = issued_tokens::ActiveModel {
            jti: Set(token.jti.to_string()),
            brand_id: Set(scope.brand_id().0),
            client_id: Set(token.client_id.to_string()),
            subject: Set(token.subject),
            act_type: Set(act_type_str(token.act_type).to_owned()),
            grant_type: Set(token.grant_type.to_string()),
            scopes: Set(to_json(&token.scopes)),
            audience: Set(to_json(&token.audience)),
            issued_at: Set(token.issued_at),
            expires_at: Set(token.expires_at),
            status: Set(token.status.as_str().to_owned()),
            revoked_at: Set(None),
            attributes: Set("[]".to_owned()),
            family_id: Set(token.family_id),
        };
        self.writer.write(row).await
    }

    async fn find_token(&self, scope: &BrandScope, jti: &str) -> StoreResult<Option<IssuedToken>> {
        scoped::<issued_tokens::Entity>(scope)
            .filter(issued_tokens::Column::Jti.eq(jti))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(convert::token)
            .transpose()
    }

    async fn list_tokens(&self, scope: &BrandScope, filter: &TokenFilter, limit: u64) -> StoreResult<Vec<IssuedToken>> {
        let mut query = scoped::<issued_tokens::Entity>(scope);
        if let Some(client_id) = &filter.client_id {
            query = query.filter(issued_tokens::Column::ClientId.eq(client_id.as_str()));
        }
        if let Some(subject) = &filter.subject {
            query = query.filter(issued_tokens::Column::Subject.eq(subject.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter(issued_tokens::Column::Status.eq(status.as_str()));
        }
        query
            .order_by_desc(issued_tokens::Column::IssuedAt)
            .order_by_desc(issued_tokens::Column::Jti)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(convert::token)
            .collect()
    }
}
