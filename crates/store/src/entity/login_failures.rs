//! `login_failures`: failed-login counters per (brand, username).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_id: i64,
    pub username: String,
    pub window_start: i64,
    pub failures: i32,
    pub locked_until: i64,
}

impl ActiveModelBehavior for ActiveModel {}
