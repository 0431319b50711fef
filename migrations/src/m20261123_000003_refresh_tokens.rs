//! Refresh tokens (stored only as hashes) grouped in families, and the family of each access-token
//! record, so that a reused refresh token can revoke everything descending from one login.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    BrandId,
    TokenHash,
    FamilyId,
    ClientId,
    Subject,
    ActType,
    Scopes,
    Audience,
    IssuedAt,
    ExpiresAt,
    Status,
    RotatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum IssuedTokens {
    Table,
    BrandId,
    FamilyId,
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
                    .table(RefreshTokens::Table)
                    .col(big_pk_auto(RefreshTokens::Id))
                    .col(big_integer(RefreshTokens::BrandId))
                    .col(string_uniq(RefreshTokens::TokenHash))
                    .col(string(RefreshTokens::FamilyId))
                    .col(string(RefreshTokens::ClientId))
                    .col(string(RefreshTokens::Subject))
                    .col(string(RefreshTokens::ActType))
                    .col(text(RefreshTokens::Scopes))
                    .col(text(RefreshTokens::Audience))
                    .col(big_integer(RefreshTokens::IssuedAt))
                    .col(big_integer(RefreshTokens::ExpiresAt))
                    .col(string(RefreshTokens::Status))
                    .col(big_integer_null(RefreshTokens::RotatedAt))
                    .col(big_integer_null(RefreshTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_brand")
                            .from(RefreshTokens::Table, RefreshTokens::BrandId)
                            .to(Brands::Table, Brands::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_brand_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::BrandId)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(IssuedTokens::Table).add_column(string_null(IssuedTokens::FamilyId)).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_issued_tokens_brand_family")
                    .table(IssuedTokens::Table)
                    .col(IssuedTokens::BrandId)
                    .col(IssuedTokens::FamilyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_issued_tokens_brand_family").table(IssuedTokens::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(IssuedTokens::Table).drop_column(IssuedTokens::FamilyId).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(RefreshTokens::Table).to_owned()).await
    }
}
