//! [`TokenStore`] for [`SeaStore`]. Records are written through the group-commit writer
//! ([`crate::writer`]).

use portcullis_tenancy::{BrandScope, IssuedToken, StoreResult, TokenAttribute, TokenCursor, TokenFilter, TokenStore};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use crate::SeaStore;
use crate::convert::{self, act_type_str, to_json};
use crate::entity::issued_tokens;
use crate::error::map_err;
use crate::scoped::{scoped, scoped_update};

impl TokenStore for SeaStore {
    async fn record_token(&self, scope: &BrandScope, token: IssuedToken) -> StoreResult<()> {
        let row = issued_tokens::Model {
            jti: token.jti.to_string(),
            brand_id: scope.brand_id().0,
            client_id: token.client_id.to_string(),
            subject: token.subject,
            act_type: act_type_str(token.act_type).to_owned(),
            grant_type: token.grant_type.to_string(),
            scopes: to_json(&token.scopes),
            audience: to_json(&token.audience),
            issued_at: token.issued_at,
            expires_at: token.expires_at,
            status: token.status.as_str().to_owned(),
            revoked_at: None,
            attributes: convert::attributes_json(&token.attributes),
            family_id: token.family_id,
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

    async fn list_tokens(
        &self,
        scope: &BrandScope,
        filter: &TokenFilter,
        after: Option<&TokenCursor>,
        limit: u64,
    ) -> StoreResult<Vec<IssuedToken>> {
        let mut query = filtered(scope, filter);
        if let Some(after) = after {
            query = query.filter(
                Condition::any().add(issued_tokens::Column::IssuedAt.lt(after.issued_at)).add(
                    Condition::all()
                        .add(issued_tokens::Column::IssuedAt.eq(after.issued_at))
                        .add(issued_tokens::Column::Jti.lt(after.jti.as_str())),
                ),
            );
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

    async fn count_tokens(&self, scope: &BrandScope, filter: &TokenFilter) -> StoreResult<u64> {
        filtered(scope, filter).count(&self.db).await.map_err(map_err)
    }

    async fn set_token_attributes(
        &self,
        scope: &BrandScope,
        jti: &str,
        attributes: Vec<TokenAttribute>,
    ) -> StoreResult<bool> {
        let updated = scoped_update::<issued_tokens::Entity>(scope)
            .col_expr(issued_tokens::Column::Attributes, Expr::val(convert::attributes_json(&attributes)))
            .filter(issued_tokens::Column::Jti.eq(jti))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        Ok(updated.rows_affected == 1)
    }
}

/// The scoped brand's token records matching `filter`.
fn filtered(scope: &BrandScope, filter: &TokenFilter) -> Select<issued_tokens::Entity> {
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
}
