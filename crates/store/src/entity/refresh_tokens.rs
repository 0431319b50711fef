//! `refresh_tokens`: hashes of opaque refresh tokens, grouped in families.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub subject: String,
    pub act_type: String,
    pub scopes: String,
    pub audience: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub status: String,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
