//! `clients`: API credentials of a brand.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_id: i64,
    pub client_id: String,
    pub name: String,
    pub grant_types: String,
    pub scopes: String,
    pub default_scopes: String,
    pub audiences: String,
    pub access_ttl: Option<i32>,
    pub refresh_ttl: Option<i32>,
    pub secret_hash: String,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub public: bool,
}

impl ActiveModelBehavior for ActiveModel {}
