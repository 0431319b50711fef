//! Validated identifiers: brand keys, client ids, token ids and key ids.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:path) => {
        string_id!($(#[$doc])* $name, $what, $check, $check);
    };
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:path, $stored:path) => {
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

            /// Validates `value` with the rules values already stored were made under (which
            /// may be more lenient than those of new values) and wraps it.
            fn from_stored(value: String) -> Result<Self, InvalidValue> {
                $stored(&value).map_err(|reason| InvalidValue::new($what, reason))?;
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
                Self::from_stored(value)
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
    /// A brand's key: 1–64 characters of lowercase ASCII letters, digits and `-`, starting with
    /// a letter or digit, so that no two keys look alike (`ACME` beside `acme`). It appears in
    /// URLs (`/brands/{key}`) and in the `brand` claim.
    ///
    /// Keys created before this rule may also hold uppercase letters, `.` and `_`: those are
    /// still read and looked up ([`BrandKey::parse_existing`], and deserialisation), and
    /// `portcullis check` reports them.
    BrandKey,
    "brand key",
    check_brand_key,
    check_existing_brand_key
);

impl BrandKey {
    /// Validates the key of a brand that may have been created before keys had to be lowercase
    /// (1–64 characters of `A–Z a–z 0–9 . _ -`, starting with a letter or digit): for looking
    /// up and reading brands, never for creating one (that is [`BrandKey::parse`]).
    pub fn parse_existing(value: impl Into<String>) -> Result<Self, InvalidValue> {
        Self::from_stored(value.into())
    }

    /// Whether the key keeps the rule of new keys ([`BrandKey::parse`]).
    pub fn is_canonical(&self) -> bool {
        check_brand_key(&self.0).is_ok()
    }
}
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

/// New brand keys: lowercase ASCII letters, digits and `-`.
fn check_brand_key(value: &str) -> Result<(), String> {
    check_brand_key_shape(value)?;
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err("may contain only lowercase letters a-z, digits and '-'".into());
    }
    Ok(())
}

/// Brand keys as they could be created before keys had to be lowercase.
fn check_existing_brand_key(value: &str) -> Result<(), String> {
    check_brand_key_shape(value)?;
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err("may contain only letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

fn check_brand_key_shape(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 64 {
        return Err("must be 1 to 64 characters long".into());
    }
    if !value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or a digit".into());
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
        for ok in ["system", "acme", "acme-eu-2", "a", "9lives", &"a".repeat(64)] {
            let key = BrandKey::parse(ok).expect(ok);
            assert!(key.is_canonical(), "{ok}");
        }
        for bad in ["", "-acme", "a b", "acme/x", "é", &"a".repeat(65)] {
            let err = BrandKey::parse(bad).expect_err(bad);
            assert_eq!(err.what, "brand key");
            assert!(BrandKey::parse_existing(bad).is_err(), "{bad}");
        }
    }

    /// New keys are lowercase ASCII letters, digits and '-', so no key looks like another;
    /// keys made under the older rule are still read, and known not to be canonical.
    #[test]
    fn new_brand_keys_cannot_look_alike() {
        for look_alike in
            ["ACME", "Acme", "acmE", "Acme-EU_2", "rator.uk", "acme_eu", "\u{430}cme", "ａｃｍｅ", "acme\u{200b}"]
        {
            let err = BrandKey::parse(look_alike).expect_err(look_alike);
            assert_eq!(err.what, "brand key");
        }
        for legacy in ["ACME", "Acme-EU_2", "rator.uk"] {
            let key = BrandKey::parse_existing(legacy).expect(legacy);
            assert!(!key.is_canonical(), "{legacy}");
            let read: BrandKey = serde_json::from_value(serde_json::json!(legacy)).expect("stored keys deserialise");
            assert_eq!(read, key);
        }
        for unicode in ["\u{430}cme", "ａｃｍｅ", "acme\u{200b}"] {
            assert!(BrandKey::parse_existing(unicode).is_err(), "never allowed: {unicode}");
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
