//! The revocation feed (what verifiers follow to refuse revoked tokens early), users' API
//! tokens (stored as hashes), and the indexes that cascades and background pruning need.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Revocations {
    Table,
    Id,
    BrandId,
    Kind,
    Value,
    RevokedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Principals {
    Table,
    ApiTokenHash,
    ApiTokenIssuedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    BrandId,
    ClientId,
    Subject,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum IssuedTokens {
    Table,
    ExpiresAt,
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
                    .table(Revocations::Table)
                    .col(big_pk_auto(Revocations::Id))
                    .col(big_integer(Revocations::BrandId))
                    .col(string(Revocations::Kind))
                    .col(string(Revocations::Value))
                    .col(big_integer(Revocations::RevokedAt))
                    .col(big_integer(Revocations::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_revocations_brand")
                            .from(Revocations::Table, Revocations::BrandId)
                            .to(Brands::Table, Brands::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes = [
            (
                "ix_revocations_brand_id",
                Revocations::Table.into_iden(),
                vec![Revocations::BrandId.into_iden(), Revocations::Id.into_iden()],
            ),
            (
                "ix_revocations_brand_value",
                Revocations::Table.into_iden(),
                vec![Revocations::BrandId.into_iden(), Revocations::Value.into_iden()],
            ),
            ("ix_revocations_expires", Revocations::Table.into_iden(), vec![Revocations::ExpiresAt.into_iden()]),
            (
                "ix_refresh_tokens_brand_subject",
                RefreshTokens::Table.into_iden(),
                vec![RefreshTokens::BrandId.into_iden(), RefreshTokens::Subject.into_iden()],
            ),
            (
                "ix_refresh_tokens_brand_client",
                RefreshTokens::Table.into_iden(),
                vec![RefreshTokens::BrandId.into_iden(), RefreshTokens::ClientId.into_iden()],
            ),
            ("ix_refresh_tokens_expires", RefreshTokens::Table.into_iden(), vec![RefreshTokens::ExpiresAt.into_iden()]),
            ("ix_issued_tokens_expires", IssuedTokens::Table.into_iden(), vec![IssuedTokens::ExpiresAt.into_iden()]),
        ];
        for (name, table, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter().table(Principals::Table).add_column(string_null(Principals::ApiTokenHash)).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Principals::Table)
                    .add_column(big_integer_null(Principals::ApiTokenIssuedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_principals_api_token_hash")
                    .table(Principals::Table)
                    .col(Principals::ApiTokenHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ux_principals_api_token_hash").table(Principals::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Principals::Table).drop_column(Principals::ApiTokenIssuedAt).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Principals::Table).drop_column(Principals::ApiTokenHash).to_owned())
            .await?;
        for (name, table) in [
            ("ix_issued_tokens_expires", IssuedTokens::Table.into_iden()),
            ("ix_refresh_tokens_expires", RefreshTokens::Table.into_iden()),
            ("ix_refresh_tokens_brand_client", RefreshTokens::Table.into_iden()),
            ("ix_refresh_tokens_brand_subject", RefreshTokens::Table.into_iden()),
        ] {
            manager.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(Revocations::Table).to_owned()).await
    }
}
