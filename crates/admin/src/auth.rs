//! Who is calling, and the capability that lets a resolver reach a brand's data.
//!
//! A request carries a Bearer access token issued by this platform. It is verified like a
//! resource server would (signature by a published key of its brand, `typ`, issuer, expiry) and,
//! since the server knows more, its record must be live and no revocation may cover it. Its scope
//! decides the [`Authority`]: `platform:admin` of the `system` brand acts on every brand,
//! `brand:admin` only on its own. Its `aud` must be the management API's own,
//! [`ADMIN_AUDIENCE`], and nothing else: the only audience admin scopes are ever granted with.
//!
//! A failed authentication is audited in a brand's log only when a verified token proves the
//! brand: one that does not verify goes to the platform's `system` log, whatever brand its
//! unsigned payload names. Failures are folded per address ([`portcullis_grants::failure_audit`]),
//! so a flood of junk tokens writes few rows.
//!
//! Resolvers never resolve brands themselves: [`Caller::brand`] is the only way to a
//! [`BrandScope`] in this crate, and it checks the authority first, so a resolver cannot forget
//! the check. (A test greps the crate to keep it that way.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::{ADMIN_AUDIENCE, Audience, BRAND_ADMIN_SCOPE, BrandKey, PLATFORM_ADMIN_SCOPE, SYSTEM_BRAND};
use portcullis_grants::GrantContext;
use portcullis_grants::provision::{self, Actor};
use portcullis_grants::verify::live_access_token;
use portcullis_store::SeaStore;
use portcullis_tenancy::{AuditEvent, BrandScope, resolve_brand};

use crate::error::{AdminError, AdminResult};

/// What the caller may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// Every brand (a `system`-brand token with `platform:admin`).
    Platform,
    /// Only this brand (a token of it with `brand:admin`).
    Brand(BrandKey),
}

/// An authenticated administrator.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The client the token was issued to.
    pub client_id: String,
    /// The brand that issued the token.
    pub brand: BrandKey,
    /// What it may act on.
    pub authority: Authority,
    /// The peer address, for the audit log.
    pub source: Option<String>,
    /// The `jti` of the access token the caller presented (the console revokes it at sign-out).
    pub token_id: String,
    /// When that token expires, seconds since the epoch.
    pub expires_at: i64,
}

/// Access to one brand, granted by [`Caller::brand`].
#[derive(Debug, Clone)]
pub struct BrandAccess {
    scope: BrandScope,
}

impl BrandAccess {
    /// The scope to hand to storage and the grant engine.
    pub fn scope(&self) -> &BrandScope {
        &self.scope
    }
}

impl Caller {
    /// Who made a change, for the audit log: `client:{id}@{brand}`, with the peer address.
    pub fn actor(&self) -> Actor {
        Actor::new(format!("client:{}@{}", self.client_id, self.brand)).from_source(self.source.clone())
    }

    /// Whether `jti` at `scope` is the token the caller presented (its own session).
    pub fn presented(&self, scope: &BrandScope, jti: &str) -> bool {
        self.token_id == jti && scope.key() == &self.brand
    }

    /// Whether the caller may act on every brand.
    pub fn is_platform_admin(&self) -> bool {
        self.authority == Authority::Platform
    }

    /// Requires platform authority (creating and listing brands).
    pub fn require_platform(&self) -> AdminResult<()> {
        if self.is_platform_admin() {
            return Ok(());
        }
        Err(AdminError::Forbidden("this operation needs platform:admin of the system brand".into()))
    }

    /// The capability to act on brand `key`. A brand administrator asking for another brand is
    /// refused whether or not that brand exists, so nothing about it leaks.
    pub async fn brand(&self, grants: &GrantContext<SeaStore>, key: &str) -> AdminResult<BrandAccess> {
        let key = BrandKey::parse_existing(key).map_err(|e| AdminError::BadUserInput(format!("brandKey: {e}")))?;
        if let Authority::Brand(own) = &self.authority
            && own != &key
        {
            return Err(AdminError::Forbidden(format!("a brand:admin of '{own}' cannot act on another brand")));
        }
        let scope = resolve_brand(&grants.store, &key)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("no brand '{key}'")))?;
        Ok(BrandAccess { scope })
    }
}

/// The token of an `Authorization: Bearer <token>` header value; `None` for another scheme or
/// an empty token.
pub fn bearer_token(header: &[u8]) -> Option<&str> {
    std::str::from_utf8(header)
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

/// Authenticates the `Authorization` header of a request.
pub async fn authenticate(
    grants: &GrantContext<SeaStore>,
    authorization: Option<&[u8]>,
    source: Option<String>,
) -> AdminResult<Caller> {
    let unauthenticated = |m: &str| AdminError::Unauthenticated(m.to_owned());
    let Some(header) = authorization else {
        return Err(unauthenticated("a Bearer access token of this platform is required"));
    };
    let token = bearer_token(header)
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <access token>`"))?;
    let invalid = "the access token is invalid, expired or revoked";
    // The brand claim says which brand's keys to verify with; it is trusted only once verified.
    let Some(scope) = claimed_brand(grants, token).await? else {
        record_unverified(grants, source.as_deref(), None).await?;
        return Err(unauthenticated(invalid));
    };
    let Some(claims) = live_access_token(grants, &scope, token).await? else {
        // Anyone can write a payload naming a brand: until the token verifies, the brand it
        // names is not told of it, and cannot have its log filled by strangers.
        record_unverified(grants, source.as_deref(), Some(&scope)).await?;
        return Err(unauthenticated(invalid));
    };
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    let authority = if scope.key().as_str() == SYSTEM_BRAND && scopes.contains(&PLATFORM_ADMIN_SCOPE) {
        Authority::Platform
    } else if scopes.contains(&BRAND_ADMIN_SCOPE) && scope.key().as_str() != SYSTEM_BRAND {
        // The system brand holds the platform administrators' clients: administering it is
        // administering the platform, so `brand:admin` alone does not reach it.
        Authority::Brand(scope.key().clone())
    } else {
        record_failure(grants, &scope, source.as_deref(), "token without an admin scope").await;
        return Err(AdminError::Forbidden(format!(
            "the token carries neither {PLATFORM_ADMIN_SCOPE} (system brand) nor {BRAND_ADMIN_SCOPE} (other brands)"
        )));
    };
    // Admin scopes are granted only in tokens addressed to this API alone; one addressed elsewhere
    // (issued before that rule, or to a resource server) is not accepted here.
    if !matches!(&claims.aud, Audience::One(aud) if aud == ADMIN_AUDIENCE) {
        record_failure(grants, &scope, source.as_deref(), "admin token for another audience").await;
        return Err(unauthenticated(&format!(
            "the access token is not addressed to the management API (its aud must be {ADMIN_AUDIENCE} alone)"
        )));
    }
    Ok(Caller {
        client_id: claims.client_id,
        brand: scope.key().clone(),
        authority,
        source,
        token_id: claims.jti,
        expires_at: claims.exp,
    })
}

/// The brand named by an unverified token's `brand` claim, if it exists.
async fn claimed_brand(grants: &GrantContext<SeaStore>, token: &str) -> AdminResult<Option<BrandScope>> {
    #[derive(serde::Deserialize)]
    struct Claimed {
        brand: String,
    }
    let claimed = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|json| serde_json::from_slice::<Claimed>(&json).ok())
        .and_then(|c| BrandKey::parse_existing(c.brand).ok());
    match claimed {
        Some(key) => Ok(resolve_brand(&grants.store, &key).await?),
        None => Ok(None),
    }
}

/// Audits, in the platform's `system` log, a presented value that is not a valid, live access
/// token of this platform. `claimed` is the existing brand its unverified payload names, which
/// only the tracing log mentions.
async fn record_unverified(
    grants: &GrantContext<SeaStore>,
    source: Option<&str>,
    claimed: Option<&BrandScope>,
) -> AdminResult<()> {
    tracing::debug!(
        claimed_brand = claimed.map(|s| s.key().as_str()),
        "admin authentication with a token that did not verify"
    );
    if let Some(system) = resolve_brand(&grants.store, &provision::system_brand_key()).await? {
        record_failure(grants, &system, source, "not a valid, live access token of this platform").await;
    }
    Ok(())
}

/// Audits a failed admin authentication in `scope`'s log, folded with the other failures from
/// its address. `scope` is the `system` brand or the brand of a verified token.
async fn record_failure(grants: &GrantContext<SeaStore>, scope: &BrandScope, source: Option<&str>, detail: &str) {
    let event = AuditEvent {
        at: grants.clock.now(),
        actor: "admin-api".into(),
        action: "admin.auth_failed".into(),
        target: None,
        source: source.map(str::to_owned),
        detail: Some(detail.into()),
    };
    grants.failure_audit.record(&grants.store, scope, event).await;
}
