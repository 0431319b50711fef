//! Relay connections: page-size limits and opaque cursors.

use async_graphql::SimpleObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{AdminError, AdminResult};

/// Page size when `first` is not given.
pub const DEFAULT_PAGE: u64 = 20;

/// Largest page a client may ask for.
pub const MAX_PAGE: u64 = 100;

/// The extra field every connection carries.
#[derive(Debug, Clone, Copy, SimpleObject)]
pub struct TotalCount {
    /// How many items match, across all pages.
    pub total_count: u64,
}

/// The complexity of a paginated field: its selection counted once for every item of the page it
/// may return (`first`, or [`DEFAULT_PAGE`] without it), plus one for the field itself, so that a
/// query costs what the pages it asks for cost. An out-of-range `first` (which the resolver
/// refuses anyway) counts as [`MAX_PAGE`].
pub fn page_complexity(child_complexity: usize, first: Option<i32>) -> usize {
    let items = match first {
        None => DEFAULT_PAGE,
        Some(n) => u64::try_from(n).ok().filter(|n| (1..=MAX_PAGE).contains(n)).unwrap_or(MAX_PAGE),
    };
    child_complexity.saturating_mul(usize::try_from(items).unwrap_or(usize::MAX)).saturating_add(1)
}

/// The complexity of a list field without paging (a brand's clients, its signing keys): counted
/// like a page of [`DEFAULT_PAGE`] items.
pub fn list_complexity(child_complexity: usize) -> usize {
    page_complexity(child_complexity, None)
}

/// Validates `first` (1 to [`MAX_PAGE`]).
pub fn page_size(first: Option<i32>) -> AdminResult<u64> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 1 && u64::try_from(n).is_ok_and(|n| n <= MAX_PAGE) => Ok(u64::try_from(n).unwrap_or(MAX_PAGE)),
        Some(_) => Err(AdminError::BadUserInput(format!("first must be between 1 and {MAX_PAGE}"))),
    }
}

/// Encodes a position as an opaque cursor.
pub fn encode_cursor(kind: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

/// Decodes a cursor made by [`encode_cursor`] for `kind`.
pub fn decode_cursor(kind: &str, cursor: &str) -> AdminResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(&format!("{kind}:")).map(str::to_owned))
        .ok_or_else(|| AdminError::BadUserInput("after is not a cursor of this list".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_foreign_ones() {
        let cursor = encode_cursor("brand", "42");
        assert_eq!(decode_cursor("brand", &cursor), Ok("42".into()));
        assert!(decode_cursor("token", &cursor).is_err());
        assert!(decode_cursor("brand", "!!!").is_err());
    }

    #[test]
    fn page_complexity_counts_every_item_of_the_page() {
        assert_eq!(page_complexity(3, Some(100)), 301);
        assert_eq!(page_complexity(3, None), 61);
        assert_eq!(page_complexity(3, Some(1)), 4);
        assert_eq!(page_complexity(3, Some(100_000)), 301, "out of range counts as the largest page");
        assert_eq!(page_complexity(3, Some(-5)), 301);
        assert_eq!(page_complexity(usize::MAX, Some(100)), usize::MAX);
        assert_eq!(list_complexity(2), 41);
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None), Ok(DEFAULT_PAGE));
        assert_eq!(page_size(Some(100)), Ok(100));
        for bad in [0, -1, 101] {
            assert!(page_size(Some(bad)).is_err(), "{bad}");
        }
    }
}
