//! The grant engine. Plain async functions over the storage traits of `portcullis-tenancy`:
//! no HTTP, no SQL. The token server parses requests into [`TokenRequest`]s and maps
//! [`GrantError`]s to RFC 6749 responses; tests drive the grants directly with an in-memory store.
//!
//! * [`client_auth`]: authenticating a client at its brand.
//! * [`client_credentials`]: the RFC 6749 §4.4 grant; `password` (users and operators) and
//!   `refresh` (rotation with reuse detection) issue refresh tokens through `tokens`.
//! * [`issue`]: minting an access token and recording it durably.
//! * [`verify`], [`introspect`] (RFC 7662), [`revoke`] (RFC 7009): accepting, describing and
//!   ending tokens issued here.
//! * [`lifecycle`]: administrative changes that end tokens (disable, delete, revoke all), and
//!   [`api_access`]: users' personal API tokens.
//! * [`rotation`]: signing-key rotation, on demand and on a schedule.
//! * [`feed`]: the change signal behind the revocation feed; [`maintenance`]: pruning.
//! * [`keyring`]: the brand's signing keys, unsealed and parsed once.
//! * [`provision`]: creating brands, clients and the platform administrator.
//! * [`throttle`]: brute-force defence for client authentication.
//! * OpenID Connect login: [`authorize`] (the authorization request and its codes), [`login`]
//!   (passwords under the throttle, browser sessions), the authorization-code grant with ID
//!   tokens, [`userinfo`], and [`logout`] (RP-initiated logout).

pub mod api_access;
mod audit_fold;
mod authorization_code;
pub mod authorize;
pub mod client_auth;
pub mod client_credentials;
mod context;
mod error;
pub mod failure_audit;
pub mod feed;
mod id_token;
pub mod introspect;
pub mod issue;
pub mod keyring;
pub mod lifecycle;
pub mod login;
pub mod logout;
pub mod maintenance;
pub mod password;
mod password_work;
pub mod provision;
mod redirect_uri;
mod refresh;
mod request;
pub mod revoke;
pub mod rotation;
pub mod throttle;
mod token_endpoint;
mod tokens;
pub mod userinfo;
mod verified;
pub mod verify;

pub use context::{Clock, GrantContext, TokenDefaults};
pub use error::{GrantError, GrantResult};
pub use request::{ClientAuthMethod, ClientCredentials, TokenRequest};
pub use token_endpoint::{PUBLIC_CLIENT_GRANTS, SUPPORTED_GRANTS, TokenResponse, exchange};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A random identifier of 128 bits in unpadded base64url (22 characters).
pub(crate) fn random_id() -> GrantResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(portcullis_credentials::random_bytes::<16>()?))
}

/// Crockford's base32 alphabet: its characters sort in the order of the values they encode.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A token id that sorts by creation time, in the layout of a ULID: 48 bits of Unix
/// milliseconds, then 80 random bits, as 26 characters of Crockford base32.
///
/// Token records are keyed by this id. A random key sends every insert to a different page of
/// the primary-key index, so each group commit rewrites as many pages as it holds records (and
/// more once the index outgrows the cache); a time-ordered key appends to the same few pages.
/// 80 random bits keep ids unique and unguessable within a millisecond.
pub(crate) fn time_ordered_id() -> GrantResult<String> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Ok(encode_time_ordered(millis, portcullis_credentials::random_bytes::<10>()?))
}

fn encode_time_ordered(millis: u64, random: [u8; 10]) -> String {
    let mut value = u128::from(millis & 0xFFFF_FFFF_FFFF) << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (72 - 8 * i);
    }
    // 26 characters of 5 bits hold 130 bits; the top two are zero.
    (0..26).rev().map(|i| char::from(CROCKFORD[usize::try_from((value >> (5 * i)) & 31).unwrap_or(0)])).collect()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn time_ordered_ids_sort_by_time_and_keep_their_random_part() {
        let zero = encode_time_ordered(0, [0; 10]);
        assert_eq!(zero, "0".repeat(26));
        let max = encode_time_ordered(u64::MAX, [0xFF; 10]);
        assert_eq!(max, format!("7{}", "Z".repeat(25)), "48 + 80 bits fill 26 characters but the top two bits");
        let earlier = encode_time_ordered(1_700_000_000_000, [0xFF; 10]);
        let later = encode_time_ordered(1_700_000_000_001, [0x00; 10]);
        assert!(earlier < later, "a later millisecond sorts after, whatever the random part");
        assert_ne!(encode_time_ordered(5, [1; 10]), encode_time_ordered(5, [2; 10]));
        let id = time_ordered_id().expect("random bytes");
        assert_eq!(id.len(), 26);
        assert!(id.bytes().all(|b| CROCKFORD.contains(&b)));
        assert!(id > earlier, "now is after 2023");
    }
}
