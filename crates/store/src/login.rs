//! [`LoginStore`] for [`SeaStore`]: authorization codes and browser login sessions, both keyed
//! by the hash of their value.

use portcullis_core::ClientId;
use portcullis_tenancy::{AuthorizationCode, BrandScope, CodeRedemption, LoginSession, LoginStore, StoreResult};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::SeaStore;
use crate::convert::{from_json, to_json};
use crate::entity::{authorization_codes, login_sessions};
use crate::error::{corrupt, map_err};
use crate::scoped::{scoped, scoped_delete, scoped_update};

fn code(row: authorization_codes::Model) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: row.code_hash,
        client_id: ClientId::parse(row.client_id).map_err(|e| corrupt("authorization code", e))?,
        subject: row.subject,
        redirect_uri: row.redirect_uri,
        code_challenge: row.code_challenge,
        nonce: row.nonce,
        scopes: from_json("authorization code scopes", &row.scopes)?,
        auth_time: row.auth_time,
        sid: row.sid,
        family_id: row.family_id,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
    })
}

impl LoginStore for SeaStore {
    async fn create_code(&self, scope: &BrandScope, code: AuthorizationCode) -> StoreResult<()> {
        let row = authorization_codes::ActiveModel {
            brand_id: Set(scope.brand_id().0),
            code_hash: Set(code.code_hash),
            client_id: Set(code.client_id.to_string()),
            subject: Set(code.subject),
            redirect_uri: Set(code.redirect_uri),
            code_challenge: Set(code.code_challenge),
            nonce: Set(code.nonce),
            scopes: Set(to_json(&code.scopes)),
            auth_time: Set(code.auth_time),
            sid: Set(code.sid),
            family_id: Set(code.family_id),
            issued_at: Set(code.issued_at),
            expires_at: Set(code.expires_at),
            redeemed_at: Set(None),
            replayed_at: Set(None),
            ..Default::default()
        };
        authorization_codes::Entity::insert(row).exec_without_returning(&self.db).await.map_err(map_err)?;
        Ok(())
    }

    async fn redeem_code(&self, scope: &BrandScope, code_hash: &str, now: i64) -> StoreResult<Option<CodeRedemption>> {
        // The spend is a compare-and-set on `redeemed_at IS NULL`: of two concurrent
        // redemptions exactly one sees its update take effect. A losing redemption marks the
        // code replayed, in the same transaction, before its caller revokes the family.
        let txn = self.write_txn().await?;
        let Some(row) = scoped::<authorization_codes::Entity>(scope)
            .filter(authorization_codes::Column::CodeHash.eq(code_hash))
            .one(&txn)
            .await
            .map_err(map_err)?
        else {
            return Ok(None);
        };
        let spent = scoped_update::<authorization_codes::Entity>(scope)
            .col_expr(authorization_codes::Column::RedeemedAt, Expr::val(now))
            .filter(authorization_codes::Column::Id.eq(row.id))
            .filter(authorization_codes::Column::RedeemedAt.is_null())
            .exec(&txn)
            .await
            .map_err(map_err)?;
        if spent.rows_affected == 0 {
            scoped_update::<authorization_codes::Entity>(scope)
                .col_expr(authorization_codes::Column::ReplayedAt, Expr::val(now))
                .filter(authorization_codes::Column::Id.eq(row.id))
                .filter(authorization_codes::Column::ReplayedAt.is_null())
                .exec(&txn)
                .await
                .map_err(map_err)?;
        }
        txn.commit().await.map_err(map_err)?;
        let code = code(row)?;
        Ok(Some(if spent.rows_affected == 1 { CodeRedemption::First(code) } else { CodeRedemption::Replayed(code) }))
    }

    async fn code_replayed(&self, scope: &BrandScope, code_hash: &str) -> StoreResult<bool> {
        Ok(scoped::<authorization_codes::Entity>(scope)
            .filter(authorization_codes::Column::CodeHash.eq(code_hash))
            .filter(authorization_codes::Column::ReplayedAt.is_not_null())
            .one(&self.db)
            .await
            .map_err(map_err)?
            .is_some())
    }

    async fn create_session(&self, scope: &BrandScope, session: LoginSession) -> StoreResult<()> {
        let row = login_sessions::ActiveModel {
            brand_id: Set(scope.brand_id().0),
            session_hash: Set(session.session_hash),
            subject: Set(session.subject),
            auth_time: Set(session.auth_time),
            sid: Set(session.sid),
            expires_at: Set(session.expires_at),
            ..Default::default()
        };
        login_sessions::Entity::insert(row).exec_without_returning(&self.db).await.map_err(map_err)?;
        Ok(())
    }

    async fn find_session(&self, scope: &BrandScope, session_hash: &str) -> StoreResult<Option<LoginSession>> {
        Ok(scoped::<login_sessions::Entity>(scope)
            .filter(login_sessions::Column::SessionHash.eq(session_hash))
            .one(&self.db)
            .await
            .map_err(map_err)?
            .map(|row| LoginSession {
                session_hash: row.session_hash,
                subject: row.subject,
                auth_time: row.auth_time,
                sid: row.sid,
                expires_at: row.expires_at,
            }))
    }

    async fn end_session(&self, scope: &BrandScope, session_hash: &str) -> StoreResult<bool> {
        let deleted = scoped_delete::<login_sessions::Entity>(scope)
            .filter(login_sessions::Column::SessionHash.eq(session_hash))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn end_sessions_of(&self, scope: &BrandScope, subject: &str) -> StoreResult<u64> {
        let deleted = scoped_delete::<login_sessions::Entity>(scope)
            .filter(login_sessions::Column::Subject.eq(subject))
            .exec(&self.db)
            .await
            .map_err(map_err)?;
        Ok(deleted.rows_affected)
    }
}
