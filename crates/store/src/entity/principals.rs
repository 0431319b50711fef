//! `principals`: users and operators of a brand.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "principals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_id: i64,
    pub principal_id: String,
    pub kind: String,
    /// The username as first spelt (NFC), shown and used for exact-spelling logins.
    pub username: String,
    /// `portcullis_core::username::key(username)`, unique per (brand, kind); NULL only for a
    /// row that clashed with an earlier one when the column was added (`portcullis check`).
    pub username_key: Option<String>,
    pub password_hash: String,
    pub permissions: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    #[sea_orm(unique)]
    pub api_token_hash: Option<String>,
    pub api_token_issued_at: Option<i64>,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
