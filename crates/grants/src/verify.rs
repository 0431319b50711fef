//! Verifying this platform's own access tokens: signature by a published key of the brand,
//! `typ`, issuer, brand, and (optionally) expiry. Used by introspection and revocation, and by
//! anything else that must accept a token issued here.

use jsonwebtoken::{Validation, decode, decode_header};
use portcullis_core::{AccessTokenClaims, IdTokenClaims};
use portcullis_credentials::jwt::ACCESS_TOKEN_TYP;
use portcullis_credentials::oidc::ID_TOKEN_TYP;
use portcullis_credentials::signing::jws_algorithm;
use portcullis_tenancy::{BrandScope, KeyStore, RevocationStore, TokenStore};
use serde::de::DeserializeOwned;

use crate::{GrantContext, GrantResult, verified};

/// Whether an expired token still verifies (revocation of an expired token is a no-op, not an
/// error; introspection of one is `active: false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `exp` must be in the future.
    Enforce,
    /// `exp` is not checked.
    Ignore,
}

impl Expiry {
    /// Whether a token expiring at `exp` passes at `now`.
    fn admits(self, exp: i64, now: i64) -> bool {
        self == Self::Ignore || exp > now
    }
}

/// Returns the claims of `token` if it is an access token of the scoped brand with a valid
/// signature; `None` for anything else (malformed, foreign, forged, wrong `typ`, expired when
/// `expiry` is enforced). Never an error for bad input: only storage failures are errors.
pub async fn access_token<S: KeyStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    token: &str,
    expiry: Expiry,
) -> GrantResult<Option<AccessTokenClaims>> {
    // A token whose signature was checked already (`crate::verified`): what may have changed
    // since, the key's publication, is checked again; the expiry is checked below either way.
    let memory = verified::key_of(scope.brand_id(), token);
    let known = match ctx.keys.verified().get(&memory) {
        Some(known) => {
            if ctx.keys.verifying(&ctx.store, scope, &known.kid, ctx.clock.now()).await?.is_none() {
                return Ok(None);
            }
            known
        }
        None => {
            let Some((kid, claims)) =
                signed::<S, AccessTokenClaims>(ctx, scope, token, ACCESS_TOKEN_TYP, Expiry::Ignore).await?
            else {
                return Ok(None);
            };
            let known = verified::Verified { kid, claims };
            ctx.keys.verified().insert(memory, known.clone());
            known
        }
    };
    Ok(expiry.admits(known.claims.exp, ctx.clock.now()).then_some(known.claims))
}

/// Returns the claims of `token` if it is an ID token of the scoped brand with a valid
/// signature, like [`access_token`] (e.g. an `id_token_hint`, which may have expired).
pub async fn id_token<S: KeyStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    token: &str,
    expiry: Expiry,
) -> GrantResult<Option<IdTokenClaims>> {
    Ok(signed(ctx, scope, token, ID_TOKEN_TYP, expiry).await?.map(|(_, claims)| claims))
}

/// The claims every token of this platform carries, whatever its kind.
trait PlatformClaims: DeserializeOwned {
    fn brand(&self) -> &str;
    fn exp(&self) -> i64;
}

impl PlatformClaims for AccessTokenClaims {
    fn brand(&self) -> &str {
        &self.brand
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl PlatformClaims for IdTokenClaims {
    fn brand(&self) -> &str {
        &self.brand
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// A JWT of type `typ` signed by a published key of the scoped brand, with its issuer and
/// brand, and unexpired when `expiry` says so; with the key id of its signature.
async fn signed<S: KeyStore, C: PlatformClaims>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    token: &str,
    typ: &str,
    expiry: Expiry,
) -> GrantResult<Option<(String, C)>> {
    let Ok(header) = decode_header(token) else {
        return Ok(None);
    };
    if header.typ.as_deref() != Some(typ) {
        return Ok(None);
    }
    let Some(kid) = header.kid else {
        return Ok(None);
    };
    let now = ctx.clock.now();
    let Some(key) = ctx.keys.verifying(&ctx.store, scope, &kid, now).await? else {
        return Ok(None);
    };
    let algorithm = jws_algorithm(key.algorithm);
    if header.alg != algorithm {
        return Ok(None);
    }
    let mut validation = Validation::new(algorithm);
    validation.leeway = 0;
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[ctx.issuer(scope)]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let Ok(data) = decode::<C>(token, &key.key, &validation) else {
        return Ok(None);
    };
    let claims = data.claims;
    // The clock is injectable, so expiry is checked here rather than by jsonwebtoken.
    if claims.brand() != scope.key().as_str() || !expiry.admits(claims.exp(), now) {
        return Ok(None);
    }
    Ok(Some((kid, claims)))
}

/// [`access_token`] with expiry enforced, plus what only the server knows: the token's record
/// is active and no subject or client revocation covers it. What introspection and the admin
/// API accept.
pub async fn live_access_token<S: KeyStore + TokenStore + RevocationStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    token: &str,
) -> GrantResult<Option<AccessTokenClaims>> {
    let Some(claims) = access_token(ctx, scope, token, Expiry::Enforce).await? else {
        return Ok(None);
    };
    let live = ctx.store.access_token_live(scope, &claims.jti, &claims.sub, &claims.client_id, claims.iat).await?;
    Ok(live.then_some(claims))
}
