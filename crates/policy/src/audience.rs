//! Audience selection for access tokens (the `audience` parameter and RFC 8707 `resource`).
//!
//! Tokens that carry an admin scope are addressed to the management API alone
//! ([`ADMIN_AUDIENCE`]); every other token to resource servers only.

use portcullis_core::ADMIN_AUDIENCE;

/// Why an audience request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    /// The brand requires an audience and none was given.
    #[error("an audience is required by this brand")]
    Required,
    /// The client may not address this audience.
    #[error("audience not allowed for this client")]
    NotAllowed,
    /// Admin scopes were asked for together with a resource server's audience.
    #[error("admin scopes are granted only in tokens for the management API ({ADMIN_AUDIENCE}) and no other audience")]
    AdminElsewhere,
    /// The management API's audience was asked for without an admin scope.
    #[error("tokens for the management API ({ADMIN_AUDIENCE}) need an admin scope")]
    AdminWithoutScope,
}

/// Everything audience selection looks at.
#[derive(Debug, Clone, Copy)]
pub struct AudienceRequest<'a> {
    /// The requested audiences (from `audience` and `resource`), possibly empty.
    pub requested: &'a [String],
    /// The audiences the client may address.
    pub client_allowed: &'a [String],
    /// Whether the brand makes an explicit audience mandatory.
    pub required: bool,
    /// The audience used when none is requested and the client has none configured: the
    /// client's own id, so the token is addressed to nobody else.
    pub fallback: &'a str,
    /// Whether the granted scopes include an admin scope: then the token is for the management
    /// API only, whatever the client's audiences and the brand's requirement.
    pub admin: bool,
}

/// Selects the token's `aud`: [`ADMIN_AUDIENCE`] alone for a token with an admin scope;
/// otherwise the requested audiences when every one is allowed; otherwise the client's configured
/// audiences; otherwise the fallback.
pub fn resolve_audience(request: AudienceRequest<'_>) -> Result<Vec<String>, AudienceError> {
    let names_admin_api = |a: &String| a == ADMIN_AUDIENCE;
    if request.admin {
        // Asking for nothing or for the management API alone both mean the management API.
        return match request.requested.iter().all(names_admin_api) {
            true => Ok(vec![ADMIN_AUDIENCE.to_owned()]),
            false => Err(AudienceError::AdminElsewhere),
        };
    }
    if request.requested.iter().any(names_admin_api) {
        return Err(AudienceError::AdminWithoutScope);
    }
    if request.requested.is_empty() {
        if request.required {
            return Err(AudienceError::Required);
        }
        if request.client_allowed.is_empty() {
            return Ok(vec![request.fallback.to_owned()]);
        }
        return Ok(request.client_allowed.to_vec());
    }
    if !request.requested.iter().all(|a| request.client_allowed.contains(a)) {
        return Err(AudienceError::NotAllowed);
    }
    let mut out: Vec<String> = Vec::with_capacity(request.requested.len());
    for aud in request.requested {
        if !out.contains(aud) {
            out.push(aud.clone());
        }
    }
    Ok(out)
}

/// The audiences a refreshed token keeps, by today's policy and never wider than `issued`:
/// [`ADMIN_AUDIENCE`] alone while an admin scope is still granted (`admin`); otherwise those of
/// `issued` that the client may still address (its `client_allowed` audiences, or `fallback` when
/// it has none, as at issue), never the management API's. Empty when none is left.
pub fn retained_audience(issued: &[String], client_allowed: &[String], fallback: &str, admin: bool) -> Vec<String> {
    if admin {
        return vec![ADMIN_AUDIENCE.to_owned()];
    }
    let allowed = |a: &String| match client_allowed {
        _ if a == ADMIN_AUDIENCE => false,
        [] => a == fallback,
        configured => configured.contains(a),
    };
    issued.iter().filter(|a| allowed(a)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(requested: &'a [String], allowed: &'a [String], required: bool) -> AudienceRequest<'a> {
        AudienceRequest { requested, client_allowed: allowed, required, fallback: "client-1", admin: false }
    }

    #[test]
    fn selection_rules() {
        let allowed = vec!["https://a".to_owned(), "https://b".to_owned()];
        assert_eq!(resolve_audience(req(&[], &allowed, false)).expect("ok"), allowed);
        assert_eq!(resolve_audience(req(&[], &[], false)).expect("ok"), vec!["client-1"]);
        assert_eq!(resolve_audience(req(&[], &allowed, true)), Err(AudienceError::Required));
        let asked = vec!["https://b".to_owned(), "https://b".to_owned()];
        assert_eq!(resolve_audience(req(&asked, &allowed, true)).expect("ok"), vec!["https://b"]);
        let bad = vec!["https://c".to_owned()];
        assert_eq!(resolve_audience(req(&bad, &allowed, false)), Err(AudienceError::NotAllowed));
    }

    #[test]
    fn admin_tokens_are_for_the_management_api_alone() {
        fn admin<'a>(requested: &'a [String], allowed: &'a [String], required: bool) -> AudienceRequest<'a> {
            AudienceRequest { admin: true, ..req(requested, allowed, required) }
        }
        let allowed = vec!["https://a".to_owned()];
        // Neither the client's audiences nor the brand's requirement apply to an admin token.
        assert_eq!(resolve_audience(admin(&[], &allowed, true)).expect("ok"), vec![ADMIN_AUDIENCE]);
        let named = vec![ADMIN_AUDIENCE.to_owned(), ADMIN_AUDIENCE.to_owned()];
        assert_eq!(resolve_audience(admin(&named, &allowed, false)).expect("ok"), vec![ADMIN_AUDIENCE]);
        let mixed = vec![ADMIN_AUDIENCE.to_owned(), "https://a".to_owned()];
        assert_eq!(resolve_audience(admin(&mixed, &allowed, false)), Err(AudienceError::AdminElsewhere));
        assert_eq!(resolve_audience(admin(&allowed, &allowed, false)), Err(AudienceError::AdminElsewhere));
        // Without an admin scope the management API can't be addressed, even if a client lists it.
        let listed = vec![ADMIN_AUDIENCE.to_owned()];
        assert_eq!(resolve_audience(req(&listed, &listed, false)), Err(AudienceError::AdminWithoutScope));
    }

    #[test]
    fn refreshes_keep_what_is_still_allowed() {
        let issued = vec!["https://a".to_owned(), "https://b".to_owned(), ADMIN_AUDIENCE.to_owned()];
        let allowed = vec!["https://b".to_owned(), ADMIN_AUDIENCE.to_owned()];
        assert_eq!(retained_audience(&issued, &allowed, "client-1", false), vec!["https://b"]);
        assert_eq!(retained_audience(&issued, &allowed, "client-1", true), vec![ADMIN_AUDIENCE]);
        let fallback = vec!["client-1".to_owned()];
        assert_eq!(retained_audience(&fallback, &[], "client-1", false), fallback);
        assert!(retained_audience(&fallback, &allowed, "client-1", false).is_empty(), "audiences configured since");
    }
}
