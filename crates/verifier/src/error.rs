//! Why a token was refused, and the RFC 6750 answer each reason gets.

/// The challenge of refused HTTP Basic API tokens.
pub(crate) const BASIC_CHALLENGE: &str = "Basic realm=\"api\", charset=\"UTF-8\"";

/// A request failure with its causes (e.g. "error sending request: … Connection refused"),
/// without the URL (callers name it where it helps).
pub(crate) fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Why setting up a verifier failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The issuer is not an http(s) URL of a brand (`…/brands/{key}`).
    #[error("invalid issuer URL: {0}")]
    InvalidIssuer(String),
    /// An audience given to `VerifierConfig::new` or `VerifierConfig::audience` is empty or
    /// blank (which never means "any audience": that is `VerifierConfig::accepting_any_audience`).
    #[error("invalid audience: {0}")]
    InvalidAudience(String),
    /// The discovery document or the JWKS could not be fetched or read.
    #[error("could not load {what} from {url}: {reason}")]
    Fetch {
        /// `discovery document` or `JWKS`.
        what: &'static str,
        /// Where from.
        url: String,
        /// Why.
        reason: String,
    },
    /// API tokens or the revocation feed were asked for without a client to authenticate with.
    #[error("{0} needs the resource server's client credentials (VerifierConfig::client)")]
    MissingClient(&'static str),
    /// API tokens were asked for but the issuer publishes no introspection endpoint.
    #[error("the issuer publishes no introspection endpoint, which API tokens need")]
    NoIntrospection,
    /// The revocation feed could not be read at start while configured to fail closed.
    #[error("could not read the revocation feed at {url}: {reason}")]
    Feed {
        /// The feed's URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The discovery document names another issuer.
    #[error("the discovery document names issuer {found}, not {expected}")]
    IssuerMismatch {
        /// Configured.
        expected: String,
        /// Found.
        found: String,
    },
}

/// Why a request's token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No token was presented.
    #[error("no access token")]
    Missing,
    /// Not a JWS, or a header or claims that do not parse.
    #[error("the token is malformed")]
    Malformed,
    /// The token (or HTTP Basic credentials) is longer than [`crate::MAX_TOKEN_LENGTH`]
    /// (or [`crate::MAX_USERNAME_LENGTH`]): refused before it is parsed or sent anywhere.
    #[error("the token is too long")]
    TooLong,
    /// Not an RFC 9068 access token (`typ` is not `at+jwt`).
    #[error("not an access token")]
    WrongType,
    /// The key id is not in the brand's JWKS (even after a refetch).
    #[error("the token was not signed by a key of this issuer")]
    UnknownKey,
    /// The `alg` differs from the one the key declares (e.g. `none`, or HS256 with the public key).
    #[error("the token's algorithm is not its key's")]
    WrongAlgorithm,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Another issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// Not meant for this resource server.
    #[error("the token is not meant for this audience")]
    WrongAudience,
    /// The `brand` claim is not the issuer's brand.
    #[error("the token belongs to another brand")]
    WrongBrand,
    /// The brand header is missing or names another brand than the token.
    #[error("the brand header does not match the token's brand")]
    BrandHeaderMismatch,
    /// The token lacks a scope the route requires.
    #[error("the token lacks the scope {required}")]
    InsufficientScope {
        /// The scopes the route requires, space-separated.
        required: String,
    },
    /// The token, its client or its subject was revoked (seen on the revocation feed).
    #[error("the token has been revoked")]
    Revoked,
    /// HTTP Basic credentials that are not a live API token of the brand's user.
    #[error("invalid username or API token")]
    BadApiToken,
    /// The issuer's keys, its introspection endpoint or the revocation feed (when configured to
    /// fail closed) could not be reached: the token can't be judged now.
    #[error("the issuer is unavailable")]
    Unavailable,
}

impl VerifyError {
    /// The RFC 6750 §3.1 `error` code: `invalid_token`, `insufficient_scope` or
    /// `invalid_request`; `temporarily_unavailable` (RFC 6749's code) when the issuer could not
    /// be asked.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::Missing => "invalid_request",
            Self::Unavailable => "temporarily_unavailable",
            _ => "invalid_token",
        }
    }

    /// The HTTP status to answer with: 403 for a missing scope, 503 when keys are unavailable,
    /// 401 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::InsufficientScope { .. } => 403,
            Self::Unavailable => 503,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` header value: RFC 6750 §3 for Bearer tokens, RFC 7617 for
    /// refused HTTP Basic API tokens. [`VerifyError::Unavailable`] (503) gets a bare `Bearer`:
    /// the credential was not judged, so nothing tells the client to throw it away.
    pub fn www_authenticate(&self) -> String {
        match self {
            Self::Unavailable => "Bearer".to_owned(),
            Self::Missing => "Bearer".to_owned(),
            Self::BadApiToken => BASIC_CHALLENGE.to_owned(),
            Self::InsufficientScope { required } => {
                format!("Bearer error=\"insufficient_scope\", error_description=\"{self}\", scope=\"{required}\"")
            }
            other => format!("Bearer error=\"{}\", error_description=\"{other}\"", other.code()),
        }
    }
}
