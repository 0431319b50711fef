//! Validated identifiers: brand keys, client ids, token ids and key ids.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidValue> {
                let value = value.into();
                $check(&value).map_err(|reason| InvalidValue::new($what, reason))?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

string_id!(
    /// A brand's key: 1–64 characters of `A–Z a–z 0–9 . _ -`, starting with a letter or digit.
    /// It appears in URLs (`/brands/{key}`) and in the `brand` claim.
    BrandKey,
    "brand key",
    check_brand_key
);
string_id!(
    /// A client's public identifier: 1–128 visible ASCII characters other than `:` (which would
    /// break HTTP Basic authentication).
    ClientId,
    "client id",
    check_client_id
);
string_id!(
    /// A JWT id (`jti`): 1–128 visible ASCII characters.
    Jti,
    "token id",
    check_visible_ascii
);
string_id!(
    /// A signing key's id (`kid`): 1–128 visible ASCII characters.
    KeyId,
    "key id",
    check_visible_ascii
);

fn check_brand_key(value: &str) -> Result<(), String> {
    let first_ok = value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if value.is_empty() || value.len() > 64 {
        return Err("must be 1 to 64 characters long".into());
    }
    if !first_ok {
        return Err("must start with a letter or a digit".into());
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err("may contain only letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

fn check_client_id(value: &str) -> Result<(), String> {
    check_visible_ascii(value)?;
    if value.contains(':') {
        return Err("must not contain ':'".into());
    }
    Ok(())
}

fn check_visible_ascii(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 128 {
        return Err("must be 1 to 128 characters long".into());
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("may contain only visible ASCII characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_keys() {
        for ok in ["system", "acme", "Acme-EU_2", "a", "rator.uk"] {
            assert!(BrandKey::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-acme", "a b", "acme/x", "é", &"a".repeat(65)] {
            let err = BrandKey::parse(bad).expect_err(bad);
            assert_eq!(err.what, "brand key");
        }
    }

    #[test]
    fn client_ids_refuse_colons_and_spaces() {
        assert!(ClientId::parse("pc_abc-123").is_ok());
        assert!(ClientId::parse("a:b").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("").is_err());
    }

    #[test]
    fn serde_validates() {
        let parsed: Result<BrandKey, _> = serde_json::from_str("\"bad key\"");
        assert!(parsed.is_err());
        let ok: BrandKey = serde_json::from_str("\"acme\"").expect("valid");
        assert_eq!(ok.as_str(), "acme");
    }
}
