//! RFC 9068 access-token claims as Portcullis issues them.

use serde::{Deserialize, Serialize};

/// Who a token acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActType {
    /// A machine client acting for itself (client_credentials).
    Client,
    /// A brand's end user.
    User,
    /// A brand's staff member.
    Operator,
}

impl ActType {
    /// The claim value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::User => "user",
            Self::Operator => "operator",
        }
    }
}

/// The `aud` claim: one audience is written as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// Exactly one audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Builds the claim from a list; a single entry becomes [`Audience::One`].
    pub fn from_list(mut list: Vec<String>) -> Self {
        if list.len() == 1 { Self::One(list.remove(0)) } else { Self::Many(list) }
    }

    /// Every audience, as a list.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Self::One(a) => vec![a.clone()],
            Self::Many(list) => list.clone(),
        }
    }
}

/// The payload of a Portcullis access token (RFC 9068 §2.2 plus `brand` and `act_type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The brand's issuer URL.
    pub iss: String,
    /// The client id (client_credentials) or the user's/operator's id.
    pub sub: String,
    /// The resource servers this token is meant for.
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// The token's unique id; the key of its record.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes, space-delimited.
    pub scope: String,
    /// The brand key.
    pub brand: String,
    /// Who the token acts for.
    pub act_type: ActType,
}

/// The payload of a Portcullis ID token (OpenID Connect Core §2, plus `brand`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The brand's issuer URL.
    pub iss: String,
    /// The user's id.
    pub sub: String,
    /// The client id of the relying party.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The relying party's `nonce`, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The access token's hash (OpenID Connect Core §3.1.3.6), when one was issued with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The login session (`sid`): a logout request's `id_token_hint` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The brand key.
    pub brand: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_serialises_as_string_or_array() {
        let one = Audience::from_list(vec!["https://api".into()]);
        assert_eq!(serde_json::to_string(&one).expect("json"), "\"https://api\"");
        let many = Audience::from_list(vec!["a".into(), "b".into()]);
        assert_eq!(serde_json::to_string(&many).expect("json"), "[\"a\",\"b\"]");
        let back: Audience = serde_json::from_str("[\"a\",\"b\"]").expect("json");
        assert_eq!(back.to_list(), vec!["a", "b"]);
    }
}
