//! Signing keys: `signingKeys` and `rotateSigningKey`.

use async_graphql::{Context, Object, SimpleObject};
use portcullis_grants::rotation;
use portcullis_tenancy::{KeyStore, StoredKey};

use crate::context;
use crate::error::AdminError;

/// A brand's signing key: public parts only.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "SigningKey")]
pub struct KeyNode {
    /// Key id (`kid`), the RFC 7638 thumbprint.
    pub kid: String,
    /// `EdDSA`, `ES256` or `RS256`.
    pub algorithm: String,
    /// `next` (published, not signing yet), `active` (signing) or `retired`.
    pub status: String,
    /// The public key as a JWK (JSON text).
    pub public_jwk: String,
    /// Creation time.
    pub created_at: i64,
    /// When it started signing.
    pub activated_at: Option<i64>,
    /// When it stopped signing.
    pub retired_at: Option<i64>,
    /// A retired key stays in the JWKS until then.
    pub publish_until: Option<i64>,
}

impl From<StoredKey> for KeyNode {
    fn from(k: StoredKey) -> Self {
        Self {
            kid: k.kid.to_string(),
            algorithm: k.algorithm.to_string(),
            status: k.status.as_str().to_owned(),
            public_jwk: k.public_jwk,
            created_at: k.created_at,
            activated_at: k.activated_at,
            retired_at: k.retired_at,
            publish_until: k.publish_until,
        }
    }
}

/// Key queries.
#[derive(Debug, Default)]
pub struct KeyQuery;

#[Object]
impl KeyQuery {
    /// Every signing key of a brand, newest first.
    #[graphql(complexity = "crate::paging::list_complexity(child_complexity)")]
    async fn signing_keys(&self, ctx: &Context<'_>, brand_key: String) -> async_graphql::Result<Vec<KeyNode>> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let keys = grants.store.list_keys(access.scope()).await.map_err(AdminError::from)?;
        Ok(keys.into_iter().map(KeyNode::from).collect())
    }
}

/// Key mutations.
#[derive(Debug, Default)]
pub struct KeyMutation;

#[Object]
impl KeyMutation {
    /// Rotates the brand's signing key now: the published next key starts signing, the old one
    /// retires (still published until its tokens expire), a new next key is published. Returns
    /// the key that now signs.
    async fn rotate_signing_key(&self, ctx: &Context<'_>, brand_key: String) -> async_graphql::Result<KeyNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let key =
            rotation::rotate_signing_key(grants, access.scope(), &caller.actor()).await.map_err(AdminError::from)?;
        Ok(KeyNode::from(key))
    }

    /// Withdraws a signing key at once, after a compromise: it leaves the brand's JWKS now, so
    /// the tokens it signed stop verifying at this server at once and at verifiers at their next
    /// JWKS refresh (5 minutes by default). The active key is rotated out first; a withdrawn
    /// next key is replaced. Returns the key that signs afterwards.
    async fn withdraw_signing_key(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        kid: String,
    ) -> async_graphql::Result<KeyNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let key = rotation::withdraw_signing_key(grants, access.scope(), &kid, &caller.actor())
            .await
            .map_err(AdminError::from)?;
        Ok(KeyNode::from(key))
    }
}
