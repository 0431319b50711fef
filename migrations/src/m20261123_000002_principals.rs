//! Users and operators of a brand ("principals"): one table, told apart by `kind`, each kind with
//! its own username namespace per brand.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Principals {
    Table,
    Id,
    BrandId,
    PrincipalId,
    Kind,
    Username,
    PasswordHash,
    Permissions,
    Enabled,
    CreatedAt,
    UpdatedAt,
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
                    .table(Principals::Table)
                    .col(big_pk_auto(Principals::Id))
                    .col(big_integer(Principals::BrandId))
                    .col(string(Principals::PrincipalId))
                    .col(string(Principals::Kind))
                    .col(string(Principals::Username))
                    .col(string(Principals::PasswordHash))
                    .col(text(Principals::Permissions))
                    .col(boolean(Principals::Enabled))
                    .col(big_integer(Principals::CreatedAt))
                    .col(big_integer(Principals::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_principals_brand")
                            .from(Principals::Table, Principals::BrandId)
                            .to(Brands::Table, Brands::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_principals_brand_kind_username")
                    .table(Principals::Table)
                    .col(Principals::BrandId)
                    .col(Principals::Kind)
                    .col(Principals::Username)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_principals_brand_principal")
                    .table(Principals::Table)
                    .col(Principals::BrandId)
                    .col(Principals::PrincipalId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Principals::Table).to_owned()).await
    }
}
