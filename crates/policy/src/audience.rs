//! Audience selection for access tokens (the `audience` parameter and RFC 8707 `resource`).

/// Why an audience request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    /// The brand requires an audience and none was given.
    #[error("an audience is required by this brand")]
    Required,
    /// The client may not address this audience.
    #[error("audience not allowed for this client")]
    NotAllowed,
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
}

/// Selects the token's `aud`: the requested audiences when every one is allowed; otherwise the
/// client's configured audiences; otherwise the fallback.
pub fn resolve_audience(request: AudienceRequest<'_>) -> Result<Vec<String>, AudienceError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(requested: &'a [String], allowed: &'a [String], required: bool) -> AudienceRequest<'a> {
        AudienceRequest { requested, client_allowed: allowed, required, fallback: "client-1" }
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
}
