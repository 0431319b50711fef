//! `change_epoch`: one row whose counter database triggers increment on every change to
//! brands, clients and signing keys (see the `m20261201_000006_change_epoch` migration).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_epoch")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub epoch: i64,
}

impl ActiveModelBehavior for ActiveModel {}
