//! `login_sessions`: browsers signed in at a brand, by the hash of their session cookie.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_id: i64,
    pub session_hash: String,
    pub subject: String,
    pub auth_time: i64,
    pub sid: String,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
