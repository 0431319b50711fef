//! Issued tokens: search (`tokens`), details (`token`), attributes, revoke, approve, revoke all
//! of a user or client.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, InputObject, Object, SimpleObject};
use portcullis_core::ClientId;
use portcullis_grants::GrantContext;
use portcullis_grants::lifecycle::{self, TokenHolder};
use portcullis_store::SeaStore;
use portcullis_tenancy::{IssuedToken, TokenAttribute, TokenCursor, TokenFilter, TokenStatus, TokenStore};

use crate::auth::BrandAccess;
use crate::context;
use crate::error::{AdminError, AdminResult};
use crate::paging::{TotalCount, decode_cursor, encode_cursor, page_size};

/// A name/value pair on a token.
#[derive(Debug, Clone, SimpleObject, InputObject)]
#[graphql(input_name = "TokenAttributeInput", name = "TokenAttribute")]
pub struct AttributeNode {
    /// Name, unique per token.
    pub name: String,
    /// Value.
    pub value: String,
}

/// The record of an issued access token (never the token itself).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Token")]
pub struct TokenNode {
    /// Token id (`jti`).
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Its subject: a user's or operator's id, or the client id.
    pub subject: String,
    /// `client`, `user` or `operator`.
    pub act_type: String,
    /// The grant that issued it.
    pub grant_type: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Audiences.
    pub audience: Vec<String>,
    /// `active`, `revoked` (an administrator may approve it again) or `ended` (by its holder: a
    /// console sign-out, its client's own revocation; never approved again).
    pub status: String,
    /// Issue time, seconds since the epoch.
    pub issued_at: i64,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// Attributes an administrator attached.
    pub attributes: Vec<AttributeNode>,
}

impl From<IssuedToken> for TokenNode {
    fn from(t: IssuedToken) -> Self {
        Self {
            jti: t.jti.to_string(),
            client_id: t.client_id.to_string(),
            subject: t.subject,
            act_type: t.act_type.as_str().to_owned(),
            grant_type: t.grant_type.as_str().to_owned(),
            scopes: t.scopes.to_strings(),
            audience: t.audience,
            status: t.status.as_str().to_owned(),
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            attributes: t.attributes.into_iter().map(|a| AttributeNode { name: a.name, value: a.value }).collect(),
        }
    }
}

/// What `revokeTokens` returns.
#[derive(Debug, SimpleObject)]
pub struct RevokeTokensPayload {
    /// How many token records (access and refresh) were revoked.
    pub revoked: u64,
}

fn status(value: Option<&str>) -> AdminResult<Option<TokenStatus>> {
    value
        .map(|s| {
            TokenStatus::parse(&s.to_ascii_lowercase())
                .ok_or_else(|| AdminError::BadUserInput("status must be `active`, `revoked` or `ended`".into()))
        })
        .transpose()
}

fn client_id(value: Option<String>) -> AdminResult<Option<ClientId>> {
    value.map(|v| ClientId::parse(v).map_err(|e| AdminError::BadUserInput(format!("clientId: {e}")))).transpose()
}

fn cursor_of(t: &IssuedToken) -> String {
    encode_cursor("token", &format!("{}:{}", t.issued_at, t.jti))
}

fn parse_cursor(cursor: &str) -> AdminResult<TokenCursor> {
    let position = decode_cursor("token", cursor)?;
    let (issued_at, jti) = position
        .split_once(':')
        .and_then(|(at, jti)| Some((at.parse().ok()?, jti.to_owned())))
        .ok_or_else(|| AdminError::BadUserInput("after is not a cursor of this list".into()))?;
    Ok(TokenCursor { issued_at, jti })
}

async fn load(grants: &GrantContext<SeaStore>, access: &BrandAccess, jti: &str) -> AdminResult<TokenNode> {
    let record = grants.store.find_token(access.scope(), jti).await?;
    record.map(TokenNode::from).ok_or_else(|| AdminError::NotFound(format!("no token '{jti}' in this brand")))
}

/// Token queries.
#[derive(Debug, Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// A brand's token records, newest first, optionally by user (or any subject), client and
    /// status.
    #[allow(clippy::too_many_arguments, reason = "the operation's search arguments, one each")]
    #[graphql(complexity = "crate::paging::page_complexity(child_complexity, first)")]
    async fn tokens(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: Option<String>,
        client_id: Option<String>,
        status: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, TokenNode, TotalCount, EmptyFields>> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let filter = TokenFilter {
            client_id: self::client_id(client_id)?,
            subject: user_id,
            status: self::status(status.as_deref())?,
        };
        let limit = page_size(first)?;
        let after = after.as_deref().map(parse_cursor).transpose()?;
        let store = &grants.store;
        let mut page =
            store.list_tokens(access.scope(), &filter, after.as_ref(), limit + 1).await.map_err(AdminError::from)?;
        let has_next = u64::try_from(page.len()).unwrap_or(u64::MAX) > limit;
        page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let total_count = store.count_tokens(access.scope(), &filter).await.map_err(AdminError::from)?;
        let mut connection = Connection::with_additional_fields(after.is_some(), has_next, TotalCount { total_count });
        connection.edges.extend(page.into_iter().map(|t| Edge::new(cursor_of(&t), TokenNode::from(t))));
        Ok(connection)
    }

    /// One token record.
    async fn token(&self, ctx: &Context<'_>, brand_key: String, jti: String) -> async_graphql::Result<TokenNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        Ok(load(grants, &access, &jti).await?)
    }
}

/// Token mutations.
#[derive(Debug, Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Replaces a token's name/value attributes.
    async fn set_token_attributes(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        jti: String,
        attributes: Vec<AttributeNode>,
    ) -> async_graphql::Result<TokenNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let attributes = attributes.into_iter().map(|a| TokenAttribute { name: a.name, value: a.value }).collect();
        lifecycle::set_token_attributes(grants, access.scope(), &jti, attributes, &caller.actor())
            .await
            .map_err(AdminError::from)?;
        Ok(load(grants, &access, &jti).await?)
    }

    /// Revokes one access token; verifiers following the feed refuse it within a second. The
    /// caller's own token (a console sign-out) is ended for good: it can never be approved again.
    async fn revoke_token(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        jti: String,
    ) -> async_graphql::Result<TokenNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        load(grants, &access, &jti).await?;
        let (scope, actor) = (access.scope(), caller.actor());
        if caller.presented(scope, &jti) {
            lifecycle::end_token(grants, scope, &jti, &actor).await.map_err(AdminError::from)?;
        } else {
            lifecycle::revoke_token(grants, scope, &jti, &actor).await.map_err(AdminError::from)?;
        }
        Ok(load(grants, &access, &jti).await?)
    }

    /// Accepts a revoked access token again. A token its holder ended (a console sign-out, its
    /// client's own revocation) is refused with `BAD_USER_INPUT`.
    async fn approve_token(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        jti: String,
    ) -> async_graphql::Result<TokenNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        lifecycle::approve_token(grants, access.scope(), &jti, &caller.actor()).await.map_err(AdminError::from)?;
        Ok(load(grants, &access, &jti).await?)
    }

    /// Revokes every live token of a user (any subject id) or of a client; with both, the
    /// user's tokens issued to that client.
    async fn revoke_tokens(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: Option<String>,
        client_id: Option<String>,
    ) -> async_graphql::Result<RevokeTokensPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let client = self::client_id(client_id)?;
        let actor = caller.actor();
        let revoked = match (user_id.as_deref(), client.as_ref()) {
            (None, None) => return Err(AdminError::BadUserInput("give userId, clientId or both".into()).into()),
            (Some(user), None) => {
                lifecycle::revoke_all(grants, access.scope(), TokenHolder::Subject(user), &actor).await
            }
            (None, Some(client)) => {
                lifecycle::revoke_all(grants, access.scope(), TokenHolder::Client(client), &actor).await
            }
            (Some(user), Some(client)) => revoke_matching(grants, &access, user, client, &caller.actor()).await,
        }
        .map_err(AdminError::from)?;
        Ok(RevokeTokensPayload { revoked })
    }
}

/// Revokes, one by one, the live tokens of `user` issued to `client`.
async fn revoke_matching(
    grants: &GrantContext<SeaStore>,
    access: &BrandAccess,
    user: &str,
    client: &ClientId,
    actor: &portcullis_grants::provision::Actor,
) -> Result<u64, portcullis_grants::provision::ProvisionError> {
    let filter = TokenFilter {
        client_id: Some(client.clone()),
        subject: Some(user.to_owned()),
        status: Some(TokenStatus::Active),
    };
    let mut revoked = 0;
    loop {
        let page = grants.store.list_tokens(access.scope(), &filter, None, 500).await?;
        if page.is_empty() {
            return Ok(revoked);
        }
        for token in page {
            revoked += u64::from(lifecycle::revoke_token(grants, access.scope(), token.jti.as_str(), actor).await?);
        }
    }
}
