//! `issued_tokens`: one durable record per issued access token.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "issued_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    pub brand_id: i64,
    pub client_id: String,
    pub subject: String,
    pub act_type: String,
    pub grant_type: String,
    pub scopes: String,
    pub audience: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub status: String,
    pub revoked_at: Option<i64>,
    pub attributes: String,
    pub family_id: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
