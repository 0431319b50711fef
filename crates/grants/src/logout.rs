//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): where the browser may be sent
//! after signing out, and whether the request proves it comes from the user's relying party.

use portcullis_core::ClientId;
use portcullis_tenancy::{BrandScope, ClientStore, KeyStore};

use crate::authorize::with_query;
use crate::verify::{Expiry, id_token};
use crate::{GrantContext, GrantError};

/// The parameters of a logout request, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutParams {
    /// `id_token_hint`: an ID token this brand issued to the relying party (it may have expired).
    pub id_token_hint: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `post_logout_redirect_uri`: must be registered for the client.
    pub post_logout_redirect_uri: Option<String>,
    /// `state`, echoed to the post-logout redirect URI.
    pub state: Option<String>,
}

/// What to do for a valid logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutPlan {
    /// Where to send the browser afterwards (with `state`); `None`: show a signed-out page.
    pub redirect: Option<String>,
    /// Whom a valid `id_token_hint` names. Unless it names the signed-in login, the user confirms
    /// the logout first (a cross-site link alone must not sign anyone out).
    pub hint: Option<Hint>,
}

/// What a valid `id_token_hint` says about the login it was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The user.
    pub subject: String,
    /// The login session it was issued in (`sid`): an ID token of an earlier login of the same
    /// user does not match the current session.
    pub sid: Option<String>,
}

/// Why a logout request was refused (shown to the user: nothing is redirected).
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The request is invalid; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// The server failed.
    #[error(transparent)]
    Grant(#[from] GrantError),
}

/// Checks a logout request at the scoped brand.
pub async fn plan<S: KeyStore + ClientStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    params: &LogoutParams,
) -> Result<LogoutPlan, LogoutError> {
    let invalid = |m: &str| Err(LogoutError::Invalid(m.to_owned()));
    let hint = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(token) => match id_token(ctx, scope, token, Expiry::Ignore).await? {
            Some(claims) => Some(claims),
            None => return invalid("The id_token_hint was not issued by this sign-in service."),
        },
    };
    let client_id = match (params.client_id.as_deref().filter(|c| !c.is_empty()), &hint) {
        (Some(given), Some(claims)) if given != claims.aud => {
            return invalid("The client_id does not match the id_token_hint.");
        }
        (Some(given), _) => Some(given.to_owned()),
        (None, Some(claims)) => Some(claims.aud.clone()),
        (None, None) => None,
    };
    let redirect = match params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let Some(client_id) = client_id else {
                return invalid("A post_logout_redirect_uri needs a client_id or an id_token_hint.");
            };
            let client = match ClientId::parse(client_id) {
                Ok(id) => ctx.store.find_client(scope, &id).await.map_err(GrantError::from)?,
                Err(_) => None,
            };
            let registered =
                client.is_some_and(|c| c.enabled && c.profile.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return invalid("The post_logout_redirect_uri is not registered for this application.");
            }
            // Registered before the current rules applied, and no longer valid: never redirected to.
            if !crate::redirect_uri::usable(uri) {
                return invalid(
                    "The post_logout_redirect_uri registered for this application is not a valid address, so the \
                     sign-in service will not send you there. The application's administrator must correct its \
                     registration.",
                );
            }
            let state: Vec<(&str, &str)> = params.state.as_deref().map(|s| ("state", s)).into_iter().collect();
            Some(if state.is_empty() { uri.to_owned() } else { with_query(uri, &state) })
        }
    };
    Ok(LogoutPlan { redirect, hint: hint.map(|claims| Hint { subject: claims.sub, sid: claims.sid }) })
}
