//! A bound on how deeply an environment variable's value nests, checked before figment parses it.
//!
//! figment reads a variable's value as a small language of its own (`[a, b]`, `{k = v}`, quoted
//! strings), with a parser that recurses once per bracket: a value of 100,000 `[` overflows the
//! stack and aborts the process before any error can be printed. No setting nests more than two
//! levels, so a value deeper than [`MAX_NESTING`] is refused with an error naming its variable.

use crate::ConfigError;

/// Open brackets (`[` and `{` together) allowed around any point of a value.
pub const MAX_NESTING: usize = 16;

/// Checks every variable that figment would read (`PORTCULLIS_…` with `__`).
pub(crate) fn check_all(prefix: &str) -> Result<(), ConfigError> {
    for (name, value) in std::env::vars_os() {
        let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
            continue;
        };
        if name.starts_with(prefix) && name.contains("__") && !nesting_within(value, MAX_NESTING) {
            return Err(ConfigError::Invalid {
                key: name.to_owned(),
                expected: format!("a value nested at most {MAX_NESTING} brackets deep"),
                found: "a deeper value".into(),
            });
        }
    }
    Ok(())
}

/// Whether `value` nests brackets at most `max` deep, outside `"…"` and `'…'` strings (a `\`
/// escapes the next character inside `"…"`).
fn nesting_within(value: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut quote = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::nesting_within;

    #[test]
    fn counts_brackets_outside_strings() {
        assert!(nesting_within("[\"10.0.0.0/8\", \"::1\"]", 1));
        assert!(nesting_within("{a = [1, 2]}", 2));
        assert!(!nesting_within("{a = [1, 2]}", 1));
        assert!(nesting_within("\"[[[[\"", 0));
        assert!(nesting_within("'[[[['", 0));
        assert!(nesting_within("\"\\\"[[[[\"", 0));
        assert!(!nesting_within(&"[".repeat(100_000), 16));
    }
}
