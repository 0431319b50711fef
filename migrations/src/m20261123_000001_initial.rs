//! The initial schema: brands, clients, signing keys, issued tokens, audit events, metadata.
//!
//! Times are seconds since the Unix epoch (`BIGINT`), identical on SQLite and Postgres. Lists
//! (scopes, grant types, audiences) are JSON arrays in `TEXT` columns.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Brands {
    Table,
    Id,
    Key,
    Name,
    SigningAlgorithm,
    RequireAudience,
    AccessTtl,
    RefreshTtl,
    AllowedGrants,
    ScopeCatalog,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    BrandId,
    ClientId,
    Name,
    GrantTypes,
    Scopes,
    DefaultScopes,
    Audiences,
    AccessTtl,
    RefreshTtl,
    SecretHash,
    PreviousSecretHash,
    PreviousSecretExpiresAt,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Id,
    BrandId,
    Kid,
    Algorithm,
    Status,
    SealedPrivateKey,
    PublicJwk,
    CreatedAt,
    ActivatedAt,
    RetiredAt,
    PublishUntil,
}

#[derive(DeriveIden)]
enum IssuedTokens {
    Table,
    Jti,
    BrandId,
    ClientId,
    Subject,
    ActType,
    GrantType,
    Scopes,
    Audience,
    IssuedAt,
    ExpiresAt,
    Status,
    RevokedAt,
    Attributes,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    BrandId,
    At,
    Actor,
    Action,
    Target,
    Source,
    Detail,
}

#[derive(DeriveIden)]
enum PlatformMeta {
    Table,
    Name,
    Value,
}

fn brand_fk(table: impl IntoIden, column: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Brands::Table, Brands::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Brands::Table)
                    .col(big_pk_auto(Brands::Id))
                    .col(string_uniq(Brands::Key))
                    .col(string(Brands::Name))
                    .col(string(Brands::SigningAlgorithm))
                    .col(boolean(Brands::RequireAudience))
                    .col(integer_null(Brands::AccessTtl))
                    .col(integer_null(Brands::RefreshTtl))
                    .col(text_null(Brands::AllowedGrants))
                    .col(text(Brands::ScopeCatalog))
                    .col(big_integer(Brands::CreatedAt))
                    .col(big_integer(Brands::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(big_pk_auto(Clients::Id))
                    .col(big_integer(Clients::BrandId))
                    .col(string(Clients::ClientId))
                    .col(string(Clients::Name))
                    .col(text(Clients::GrantTypes))
                    .col(text(Clients::Scopes))
                    .col(text(Clients::DefaultScopes))
                    .col(text(Clients::Audiences))
                    .col(integer_null(Clients::AccessTtl))
                    .col(integer_null(Clients::RefreshTtl))
                    .col(string(Clients::SecretHash))
                    .col(string_null(Clients::PreviousSecretHash))
                    .col(big_integer_null(Clients::PreviousSecretExpiresAt))
                    .col(boolean(Clients::Enabled))
                    .col(big_integer(Clients::CreatedAt))
                    .col(big_integer(Clients::UpdatedAt))
                    .foreign_key(&mut brand_fk(Clients::Table, Clients::BrandId, "fk_clients_brand"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_clients_brand_client")
                    .table(Clients::Table)
                    .col(Clients::BrandId)
                    .col(Clients::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(big_pk_auto(SigningKeys::Id))
                    .col(big_integer(SigningKeys::BrandId))
                    .col(string(SigningKeys::Kid))
                    .col(string(SigningKeys::Algorithm))
                    .col(string(SigningKeys::Status))
                    .col(blob(SigningKeys::SealedPrivateKey))
                    .col(text(SigningKeys::PublicJwk))
                    .col(big_integer(SigningKeys::CreatedAt))
                    .col(big_integer_null(SigningKeys::ActivatedAt))
                    .col(big_integer_null(SigningKeys::RetiredAt))
                    .col(big_integer_null(SigningKeys::PublishUntil))
                    .foreign_key(&mut brand_fk(SigningKeys::Table, SigningKeys::BrandId, "fk_signing_keys_brand"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_signing_keys_brand_kid")
                    .table(SigningKeys::Table)
                    .col(SigningKeys::BrandId)
                    .col(SigningKeys::Kid)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_signing_keys_brand_status")
                    .table(SigningKeys::Table)
                    .col(SigningKeys::BrandId)
                    .col(SigningKeys::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IssuedTokens::Table)
                    .col(string(IssuedTokens::Jti).primary_key())
                    .col(big_integer(IssuedTokens::BrandId))
                    .col(string(IssuedTokens::ClientId))
                    .col(string(IssuedTokens::Subject))
                    .col(string(IssuedTokens::ActType))
                    .col(string(IssuedTokens::GrantType))
                    .col(text(IssuedTokens::Scopes))
                    .col(text(IssuedTokens::Audience))
                    .col(big_integer(IssuedTokens::IssuedAt))
                    .col(big_integer(IssuedTokens::ExpiresAt))
                    .col(string(IssuedTokens::Status))
                    .col(big_integer_null(IssuedTokens::RevokedAt))
                    .col(text(IssuedTokens::Attributes))
                    .foreign_key(&mut brand_fk(IssuedTokens::Table, IssuedTokens::BrandId, "fk_issued_tokens_brand"))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_issued_tokens_brand_client", IssuedTokens::ClientId),
            ("ix_issued_tokens_brand_subject", IssuedTokens::Subject),
            ("ix_issued_tokens_brand_expires", IssuedTokens::ExpiresAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(IssuedTokens::Table)
                        .col(IssuedTokens::BrandId)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(big_integer(AuditEvents::BrandId))
                    .col(big_integer(AuditEvents::At))
                    .col(string(AuditEvents::Actor))
                    .col(string(AuditEvents::Action))
                    .col(string_null(AuditEvents::Target))
                    .col(string_null(AuditEvents::Source))
                    .col(text_null(AuditEvents::Detail))
                    .foreign_key(&mut brand_fk(AuditEvents::Table, AuditEvents::BrandId, "fk_audit_events_brand"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_events_brand_id")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::BrandId)
                    .col(AuditEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlatformMeta::Table)
                    .col(string(PlatformMeta::Name).primary_key())
                    .col(blob(PlatformMeta::Value))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PlatformMeta::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            IssuedTokens::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            Clients::Table.into_iden(),
            Brands::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
