//! `authorization_codes`: single-use codes of the authorization endpoint, by hash.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_id: i64,
    pub code_hash: String,
    pub client_id: String,
    pub subject: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scopes: String,
    pub auth_time: i64,
    pub sid: String,
    pub family_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
    pub replayed_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
