//! Scope resolution: granted = requested ∩ client's allowed ∩ subject's permissions.

use portcullis_core::{Scope, ScopeSet};

/// Why a scope request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Requested scopes that the client (or the subject) may not have.
    #[error("scope not allowed: {0}")]
    NotAllowed(ScopeSet),
}

/// Everything scope resolution looks at.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRequest<'a> {
    /// The `scope` parameter; `None` or empty means "the client's defaults".
    pub requested: Option<&'a ScopeSet>,
    /// The scopes the client may ever receive.
    pub client_allowed: &'a ScopeSet,
    /// The scopes the client receives when it asks for none (least privilege).
    pub client_default: &'a ScopeSet,
    /// The user's or operator's permissions; `None` for grants without a subject.
    pub subject_permissions: Option<&'a ScopeSet>,
    /// The brand's scope catalog; when given, the result follows its order.
    pub catalog: Option<&'a [Scope]>,
}

/// Resolves the scopes a token is granted.
///
/// * An explicit request must lie entirely within what the client (and the subject) may have,
///   otherwise the whole request is refused: nothing is silently dropped.
/// * No request yields the client's default scopes, narrowed to the subject's permissions and
///   to the client's allowed scopes (so a stale default can never widen a grant).
/// * The result never contains a scope outside `client_allowed ∩ subject_permissions`.
pub fn resolve_scopes(request: ScopeRequest<'_>) -> Result<ScopeSet, ScopeError> {
    let ceiling = match request.subject_permissions {
        Some(permissions) => request.client_allowed.intersection(permissions),
        None => request.client_allowed.clone(),
    };
    let granted = match request.requested {
        Some(requested) if !requested.is_empty() => {
            let refused = requested.difference(&ceiling);
            if !refused.is_empty() {
                return Err(ScopeError::NotAllowed(refused));
            }
            requested.clone()
        }
        _ => request.client_default.intersection(&ceiling),
    };
    Ok(order(granted, request.client_allowed, request.catalog))
}

/// Orders `granted` by the catalog when there is one, else by the client's allowed list; scopes
/// missing from the reference keep their relative order at the end.
fn order(granted: ScopeSet, allowed: &ScopeSet, catalog: Option<&[Scope]>) -> ScopeSet {
    let position = |scope: &Scope| match catalog {
        Some(catalog) => catalog.iter().position(|s| s == scope),
        None => allowed.iter().position(|s| s == scope),
    };
    let mut members: Vec<Scope> = granted.iter().cloned().collect();
    members.sort_by_key(|s| position(s).unwrap_or(usize::MAX));
    members.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn set(text: &str) -> ScopeSet {
        ScopeSet::parse_delimited(text).expect("valid")
    }

    fn request<'a>(
        requested: Option<&'a ScopeSet>,
        allowed: &'a ScopeSet,
        default: &'a ScopeSet,
        permissions: Option<&'a ScopeSet>,
    ) -> ScopeRequest<'a> {
        ScopeRequest {
            requested,
            client_allowed: allowed,
            client_default: default,
            subject_permissions: permissions,
            catalog: None,
        }
    }

    #[test]
    fn no_request_gives_defaults() {
        let (allowed, default) = (set("read write admin"), set("read"));
        let got = resolve_scopes(request(None, &allowed, &default, None)).expect("ok");
        assert_eq!(got.to_string(), "read");
        let empty = ScopeSet::new();
        let got = resolve_scopes(request(Some(&empty), &allowed, &default, None)).expect("ok");
        assert_eq!(got.to_string(), "read");
    }

    #[test]
    fn request_outside_allowed_is_refused_whole() {
        let (allowed, default, asked) = (set("read write"), set("read"), set("read delete"));
        let err = resolve_scopes(request(Some(&asked), &allowed, &default, None)).expect_err("refused");
        assert_eq!(err, ScopeError::NotAllowed(set("delete")));
    }

    #[test]
    fn subject_permissions_narrow_defaults_and_refuse_requests() {
        let (allowed, default, perms) = (set("read write"), set("read write"), set("read"));
        let got = resolve_scopes(request(None, &allowed, &default, Some(&perms))).expect("ok");
        assert_eq!(got.to_string(), "read");
        let asked = set("write");
        assert!(resolve_scopes(request(Some(&asked), &allowed, &default, Some(&perms))).is_err());
    }

    #[test]
    fn result_follows_catalog_order() {
        let (allowed, default, asked) = (set("c b a"), ScopeSet::new(), set("a c b"));
        let catalog: Vec<Scope> = set("b a c").iter().cloned().collect();
        let mut req = request(Some(&asked), &allowed, &default, None);
        assert_eq!(resolve_scopes(req).expect("ok").to_string(), "c b a");
        req.catalog = Some(&catalog);
        assert_eq!(resolve_scopes(req).expect("ok").to_string(), "b a c");
    }

    fn scope_set() -> impl Strategy<Value = ScopeSet> {
        proptest::collection::vec(prop_oneof!["a", "b", "c", "d", "e", "f"], 0..6)
            .prop_map(|v| v.into_iter().map(|s| Scope::parse(s).expect("valid")).collect())
    }

    proptest! {
        #[test]
        fn never_grants_more_than_client_and_subject_allow(
            requested in proptest::option::of(scope_set()),
            allowed in scope_set(),
            default in scope_set(),
            permissions in proptest::option::of(scope_set()),
        ) {
            let req = request(requested.as_ref(), &allowed, &default, permissions.as_ref());
            if let Ok(granted) = resolve_scopes(req) {
                prop_assert!(granted.is_subset(&allowed));
                if let Some(p) = &permissions { prop_assert!(granted.is_subset(p)); }
                if let Some(r) = requested.as_ref().filter(|r| !r.is_empty()) {
                    prop_assert_eq!(granted.len(), r.len());
                }
            }
        }
    }
}
