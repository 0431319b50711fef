//! Scopes (RFC 6749 §3.3) and ordered scope sets.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

/// One scope token: 1–128 characters of `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    /// Validates one scope token.
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidValue> {
        let value = value.into();
        if value.is_empty() || value.len() > 128 {
            return Err(InvalidValue::new("scope", "must be 1 to 128 characters long"));
        }
        let allowed = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
        if !value.bytes().all(allowed) {
            return Err(InvalidValue::new(
                "scope",
                "may contain only visible ASCII characters other than '\"' and '\\'",
            ));
        }
        Ok(Self(value))
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Scope {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Scope> for String {
    fn from(value: Scope) -> Self {
        value.0
    }
}

/// A set of scopes that keeps the order in which its members were first added.
///
/// Order matters: the `scope` claim lists scopes in a stable order, so that two tokens with the
/// same grant carry the same text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    /// The empty set.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Parses a space-delimited `scope` parameter. Repeated scopes are kept once; runs of
    /// spaces are tolerated; any other separator is refused.
    pub fn parse_delimited(value: &str) -> Result<Self, InvalidValue> {
        value.split(' ').filter(|s| !s.is_empty()).map(Scope::parse).collect()
    }

    /// Adds `scope` unless it is already present.
    pub fn insert(&mut self, scope: Scope) {
        if !self.contains(&scope) {
            self.0.push(scope);
        }
    }

    /// Whether `scope` is a member.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Whether every member of `self` is in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    /// The members of `self` that are also in `other`, in `self`'s order.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        self.0.iter().filter(|s| other.contains(s)).cloned().collect()
    }

    /// The members of `self` that are not in `other`.
    pub fn difference(&self, other: &ScopeSet) -> ScopeSet {
        self.0.iter().filter(|s| !other.contains(s)).cloned().collect()
    }

    /// Iterates in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members as owned strings, in order.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|s| s.0.clone()).collect()
    }
}

impl fmt::Display for ScopeSet {
    /// Space-delimited, as in the `scope` parameter and claim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::new();
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn set(text: &str) -> ScopeSet {
        ScopeSet::parse_delimited(text).expect("valid scopes")
    }

    #[test]
    fn parses_and_prints_in_order_without_duplicates() {
        let s = set("read  write read admin:x");
        assert_eq!(s.to_string(), "read write admin:x");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn refuses_forbidden_characters() {
        assert!(ScopeSet::parse_delimited("read\twrite").is_err());
        assert!(ScopeSet::parse_delimited("a\"b").is_err());
        assert!(ScopeSet::parse_delimited("a\\b").is_err());
        assert!(ScopeSet::parse_delimited("é").is_err());
        assert!(ScopeSet::parse_delimited("").expect("empty is fine").is_empty());
    }

    #[test]
    fn set_operations_keep_left_order() {
        let a = set("c b a");
        let b = set("a c");
        assert_eq!(a.intersection(&b).to_string(), "c a");
        assert_eq!(a.difference(&b).to_string(), "b");
        assert!(b.is_subset(&a));
        assert!(!a.is_subset(&b));
    }

    proptest! {
        #[test]
        fn display_round_trips(words in proptest::collection::vec("[a-z:._-]{1,12}", 0..8)) {
            let original: ScopeSet = words.into_iter().map(|w| Scope::parse(w).expect("valid")).collect();
            let reparsed = ScopeSet::parse_delimited(&original.to_string()).expect("round trip");
            prop_assert_eq!(original, reparsed);
        }
    }
}
