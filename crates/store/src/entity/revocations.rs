//! `revocations`: the revocation feed. The primary key is the feed cursor.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revocations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_id: i64,
    pub kind: String,
    pub value: String,
    pub revoked_at: i64,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
