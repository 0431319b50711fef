//! OpenID Connect login: brands' branding, clients' redirect URIs and public flag, users'
//! email and name, and the tables of authorization codes and browser login sessions (both
//! keyed by the hash of their value, never the value).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Brands {
    Table,
    Id,
    DisplayName,
    LogoUrl,
    PrimaryColor,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    RedirectUris,
    PostLogoutRedirectUris,
    Public,
}

#[derive(DeriveIden)]
enum Principals {
    Table,
    Email,
    Name,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    Id,
    BrandId,
    CodeHash,
    ClientId,
    Subject,
    RedirectUri,
    CodeChallenge,
    Nonce,
    Scopes,
    AuthTime,
    Sid,
    FamilyId,
    IssuedAt,
    ExpiresAt,
    RedeemedAt,
    ReplayedAt,
}

#[derive(DeriveIden)]
enum LoginSessions {
    Table,
    Id,
    BrandId,
    SessionHash,
    Subject,
    AuthTime,
    Sid,
    ExpiresAt,
}

fn brand_fk(name: &str, table: impl IntoIden + 'static, column: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
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
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            (Brands::Table.into_iden(), string_null(Brands::DisplayName)),
            (Brands::Table.into_iden(), string_null(Brands::LogoUrl)),
            (Brands::Table.into_iden(), string_null(Brands::PrimaryColor)),
            (Clients::Table.into_iden(), text(Clients::RedirectUris).default("[]").to_owned()),
            (Clients::Table.into_iden(), text(Clients::PostLogoutRedirectUris).default("[]").to_owned()),
            (Clients::Table.into_iden(), boolean(Clients::Public).default(false).to_owned()),
            (Principals::Table.into_iden(), string_null(Principals::Email)),
            (Principals::Table.into_iden(), string_null(Principals::Name)),
        ];
        for (table, mut column) in columns {
            manager.alter_table(Table::alter().table(table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuthorizationCodes::Table)
                    .col(big_pk_auto(AuthorizationCodes::Id))
                    .col(big_integer(AuthorizationCodes::BrandId))
                    .col(string(AuthorizationCodes::CodeHash))
                    .col(string(AuthorizationCodes::ClientId))
                    .col(string(AuthorizationCodes::Subject))
                    .col(text(AuthorizationCodes::RedirectUri))
                    .col(string(AuthorizationCodes::CodeChallenge))
                    .col(text_null(AuthorizationCodes::Nonce))
                    .col(text(AuthorizationCodes::Scopes))
                    .col(big_integer(AuthorizationCodes::AuthTime))
                    .col(string(AuthorizationCodes::Sid))
                    .col(string(AuthorizationCodes::FamilyId))
                    .col(big_integer(AuthorizationCodes::IssuedAt))
                    .col(big_integer(AuthorizationCodes::ExpiresAt))
                    .col(big_integer_null(AuthorizationCodes::RedeemedAt))
                    .col(big_integer_null(AuthorizationCodes::ReplayedAt))
                    .foreign_key(&mut brand_fk(
                        "fk_authorization_codes_brand",
                        AuthorizationCodes::Table,
                        AuthorizationCodes::BrandId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginSessions::Table)
                    .col(big_pk_auto(LoginSessions::Id))
                    .col(big_integer(LoginSessions::BrandId))
                    .col(string(LoginSessions::SessionHash))
                    .col(string(LoginSessions::Subject))
                    .col(big_integer(LoginSessions::AuthTime))
                    .col(string(LoginSessions::Sid))
                    .col(big_integer(LoginSessions::ExpiresAt))
                    .foreign_key(&mut brand_fk("fk_login_sessions_brand", LoginSessions::Table, LoginSessions::BrandId))
                    .to_owned(),
            )
            .await?;
        let indexes = [
            (
                "ux_authorization_codes_brand_hash",
                AuthorizationCodes::Table.into_iden(),
                vec![AuthorizationCodes::BrandId.into_iden(), AuthorizationCodes::CodeHash.into_iden()],
                true,
            ),
            (
                "ix_authorization_codes_expires",
                AuthorizationCodes::Table.into_iden(),
                vec![AuthorizationCodes::ExpiresAt.into_iden()],
                false,
            ),
            (
                "ux_login_sessions_brand_hash",
                LoginSessions::Table.into_iden(),
                vec![LoginSessions::BrandId.into_iden(), LoginSessions::SessionHash.into_iden()],
                true,
            ),
            (
                "ix_login_sessions_expires",
                LoginSessions::Table.into_iden(),
                vec![LoginSessions::ExpiresAt.into_iden()],
                false,
            ),
        ];
        for (name, table, columns, unique) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LoginSessions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuthorizationCodes::Table).to_owned()).await?;
        let columns = [
            (Principals::Table.into_iden(), Principals::Name.into_iden()),
            (Principals::Table.into_iden(), Principals::Email.into_iden()),
            (Clients::Table.into_iden(), Clients::Public.into_iden()),
            (Clients::Table.into_iden(), Clients::PostLogoutRedirectUris.into_iden()),
            (Clients::Table.into_iden(), Clients::RedirectUris.into_iden()),
            (Brands::Table.into_iden(), Brands::PrimaryColor.into_iden()),
            (Brands::Table.into_iden(), Brands::LogoUrl.into_iden()),
            (Brands::Table.into_iden(), Brands::DisplayName.into_iden()),
        ];
        for (table, column) in columns {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
