//! The client-credentials grant (RFC 6749 §4.4) with audience selection (RFC 8707).

use portcullis_core::{ActType, GrantType, Scope, ScopeSet, has_admin_scope};
use portcullis_policy::{AudienceError, AudienceRequest, ScopeRequest, resolve_audience, resolve_scopes};
use portcullis_tenancy::{BrandScope, Client, KeyStore, TokenStore};

use crate::issue::{AccessGrant, IssuedAccessToken, issue_access_token};
use crate::{GrantContext, GrantError, GrantResult, TokenRequest};

/// Issues a token for the client itself: `sub` = client id, `act_type` = `client`.
pub async fn grant<S: KeyStore + TokenStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client: &Client,
    request: &TokenRequest,
) -> GrantResult<IssuedAccessToken> {
    let scopes = requested_scopes(scope, client, request.scope.as_deref(), None)?;
    let audience = requested_audience(scope, client, request, &scopes)?;
    issue_access_token(
        ctx,
        scope,
        AccessGrant {
            client,
            subject: client.client_id.to_string(),
            act_type: ActType::Client,
            grant_type: GrantType::ClientCredentials,
            scopes,
            audience,
            family_id: None,
        },
    )
    .await
}

/// Parses and resolves the `scope` parameter against the client, the subject and the catalog.
pub(crate) fn requested_scopes(
    scope: &BrandScope,
    client: &Client,
    requested: Option<&str>,
    permissions: Option<&ScopeSet>,
) -> GrantResult<ScopeSet> {
    let requested =
        requested.map(ScopeSet::parse_delimited).transpose().map_err(|e| GrantError::InvalidScope(e.to_string()))?;
    let catalog: &[Scope] = &scope.brand().settings.scope_catalog;
    resolve_scopes(ScopeRequest {
        requested: requested.as_ref(),
        client_allowed: &client.profile.scopes,
        client_default: &client.profile.default_scopes,
        subject_permissions: permissions,
        catalog: (!catalog.is_empty()).then_some(catalog),
    })
    .map_err(|e| GrantError::InvalidScope(e.to_string()))
}

/// Selects `aud` from `audience` and `resource` for a token granting `scopes`.
pub(crate) fn requested_audience(
    scope: &BrandScope,
    client: &Client,
    request: &TokenRequest,
    scopes: &ScopeSet,
) -> GrantResult<Vec<String>> {
    if let Some(bad) = request.resource.iter().find(|r| !is_absolute_uri_without_fragment(r)) {
        let shown: String = bad.chars().take(100).collect();
        return Err(GrantError::InvalidTarget(format!(
            "resource must be an absolute URI without a fragment: '{}'",
            shown.escape_default()
        )));
    }
    if request.audience.as_deref().is_some_and(str::is_empty) {
        return Err(GrantError::InvalidRequest("audience must not be empty".into()));
    }
    let requested: Vec<String> = request.audience.iter().chain(&request.resource).cloned().collect();
    let fallback = client.client_id.to_string();
    resolve_audience(AudienceRequest {
        requested: &requested,
        client_allowed: &client.profile.audiences,
        required: scope.brand().settings.require_audience,
        fallback: &fallback,
        admin: has_admin_scope(scopes),
    })
    .map_err(|e| match e {
        AudienceError::Required => GrantError::InvalidRequest(
            "this brand requires an audience: pass the 'audience' or 'resource' parameter".into(),
        ),
        AudienceError::NotAllowed => {
            GrantError::InvalidTarget("the requested audience is not allowed for this client".into())
        }
        AudienceError::AdminElsewhere | AudienceError::AdminWithoutScope => GrantError::InvalidTarget(e.to_string()),
    })
}

/// RFC 8707 §2: `resource` is an absolute URI (RFC 3986 §4.3) and has no fragment.
fn is_absolute_uri_without_fragment(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok && !rest.is_empty() && !value.contains('#') && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::is_absolute_uri_without_fragment as ok;

    #[test]
    fn resource_uris() {
        assert!(ok("https://api.example.com/v1"));
        assert!(ok("urn:example:api"));
        assert!(!ok("api.example.com"));
        assert!(!ok("https://api#frag"));
        assert!(!ok("1http://x"));
        assert!(!ok("https:"));
        assert!(!ok("https://a b"));
    }
}
