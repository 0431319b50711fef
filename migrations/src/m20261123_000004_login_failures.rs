//! Failed-login counters per (brand, username), shared by every server process so that a
//! password-guessing run meets the same lock-out whichever process it reaches.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    BrandId,
    Username,
    WindowStart,
    Failures,
    LockedUntil,
}

#[derive(DeriveIden)]
enum Brands {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(big_pk_auto(LoginFailures::Id))
                    .col(big_integer(LoginFailures::BrandId))
                    .col(string(LoginFailures::Username))
                    .col(big_integer(LoginFailures::WindowStart))
                    .col(integer(LoginFailures::Failures))
                    .col(big_integer(LoginFailures::LockedUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_login_failures_brand")
                            .from(LoginFailures::Table, LoginFailures::BrandId)
                            .to(Brands::Table, Brands::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_login_failures_brand_username")
                    .table(LoginFailures::Table)
                    .col(LoginFailures::BrandId)
                    .col(LoginFailures::Username)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LoginFailures::Table).to_owned()).await
    }
}
