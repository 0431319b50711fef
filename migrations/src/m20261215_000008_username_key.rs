//! Usernames unique without regard to case, width or normalisation: the `username_key` column
//! of principals (`portcullis_core::username::key` of the username) under a unique index per
//! (brand, kind, key).
//!
//! Existing rows get their key in the order they were created (by `id`). When existing
//! usernames of one brand and kind clash, the first keeps the key and the later ones are left
//! NULL, which never clashes in a unique index: nothing is merged or refused here, each account
//! still signs in with its exact spelling, and `portcullis check` reports the clash for an
//! operator to resolve.

use std::collections::HashSet;

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Principals {
    Table,
    Id,
    BrandId,
    Kind,
    Username,
    UsernameKey,
}

/// The unique index on keys.
const INDEX: &str = "ux_principals_brand_kind_username_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Principals::Table).add_column(string_null(Principals::UsernameKey)).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let existing = Query::select()
            .columns([Principals::Id, Principals::BrandId, Principals::Kind, Principals::Username])
            .from(Principals::Table)
            .order_by(Principals::Id, Order::Asc)
            .to_owned();
        let mut taken = HashSet::new();
        for row in db.query_all(&existing).await? {
            let id: i64 = row.try_get("", "id")?;
            let brand: i64 = row.try_get("", "brand_id")?;
            let kind: String = row.try_get("", "kind")?;
            let username: String = row.try_get("", "username")?;
            let key = portcullis_core::username::key(&username);
            if !taken.insert((brand, kind, key.clone())) {
                // A later spelling of a name already keyed in this brand: left for `portcullis check`.
                continue;
            }
            let update = Query::update()
                .table(Principals::Table)
                .value(Principals::UsernameKey, key)
                .and_where(Expr::col(Principals::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Principals::Table)
                    .col(Principals::BrandId)
                    .col(Principals::Kind)
                    .col(Principals::UsernameKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Principals::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Principals::Table).drop_column(Principals::UsernameKey).to_owned())
            .await
    }
}
