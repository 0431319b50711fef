//! A bound on how deeply a GraphQL document nests, checked on its text before the parser sees it.
//!
//! The GraphQL parser recurses once per `{`, `[` or `(`: selection sets, list and object values,
//! argument lists. A few kilobytes of `[[[[…` in an argument or a variable's default value would
//! recurse thousands of frames deep and overflow the stack of the runtime worker that runs it,
//! which aborts the whole process. The schema's own depth limits act only on the parsed document,
//! too late for that. This scan is a flat loop over the bytes: it counts open brackets outside
//! string literals and comments, and refuses the document as soon as they pass [`MAX_NESTING`].
//!
//! It follows the lexical grammar of GraphQL (October 2021, §2.1): `"…"` strings with `\`
//! escapes, `"""…"""` block strings where only `\"""` escapes, and `#` comments to the end of
//! the line. A bracket inside any of them is text, not nesting. Bytes the grammar does not allow
//! are left for the parser to refuse.

/// Open brackets (`{`, `[`, `(` together) allowed around any point of a document. The schema
/// allows selection sets [`crate::schema::MAX_DEPTH`] deep, and no input of the API nests more
/// than a few levels, so real documents stay far below it; the parser's recursion at this depth
/// takes a small fraction of a worker's stack.
pub const MAX_NESTING: usize = 64;

/// A document that nests deeper than [`MAX_NESTING`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the document nests brackets more than {max} deep (at byte {offset}); refused before parsing", max = MAX_NESTING)]
pub struct TooDeep {
    /// Offset of the first bracket past the bound.
    pub offset: usize,
}

/// Where the scanner is in the document's lexical grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexeme {
    /// Between tokens, or in a name, number or punctuator.
    Code,
    /// Inside `"…"`.
    String,
    /// Inside `"""…"""`.
    BlockString,
    /// From `#` to the end of the line.
    Comment,
}

/// Checks that `document` never nests brackets deeper than [`MAX_NESTING`].
pub fn check(document: &str) -> Result<(), TooDeep> {
    let bytes = document.as_bytes();
    let mut state = Lexeme::Code;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match state {
            Lexeme::Code => match byte {
                b'{' | b'[' | b'(' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(TooDeep { offset: i });
                    }
                }
                b'}' | b']' | b')' => depth = depth.saturating_sub(1),
                b'#' => state = Lexeme::Comment,
                b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                    state = Lexeme::BlockString;
                    i += 2;
                }
                b'"' => state = Lexeme::String,
                _ => {}
            },
            Lexeme::String => match byte {
                // The escaped character, whatever it is, cannot end the string.
                b'\\' => i += 1,
                // A line break ends a (malformed) string: the parser reports it.
                b'"' | b'\n' | b'\r' => state = Lexeme::Code,
                _ => {}
            },
            Lexeme::BlockString => {
                if bytes[i..].starts_with(b"\\\"\"\"") {
                    i += 3;
                } else if bytes[i..].starts_with(b"\"\"\"") {
                    state = Lexeme::Code;
                    i += 2;
                }
            }
            Lexeme::Comment => {
                if byte == b'\n' || byte == b'\r' {
                    state = Lexeme::Code;
                }
            }
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, depth: usize, inner: &str) -> String {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn ordinary_documents_pass() {
        for document in [
            "{ brands(first: 10) { nodes { key name } } }",
            "query($v: [String!] = [\"a\", \"b\"]) { __typename }",
            "mutation { createClient(input: {brandKey: \"acme\", name: \"x\", scopes: [\"read\"]}) { clientId } }",
            "",
        ] {
            assert_eq!(check(document), Ok(()), "{document}");
        }
        let deepest = nested("[", "]", MAX_NESTING - 2, "\"a\"");
        assert_eq!(check(&format!("{{users(search:{deepest}){{totalCount}}}}")), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused_in_every_position() {
        let list = nested("[", "]", 2_000, "\"a\"");
        let object = nested("{a:", "}", 2_000, "1");
        let selection = nested("{a", "}", 2_000, "");
        for document in [
            format!("{{users(brandKey:\"acme\",search:{list}){{totalCount}}}}"),
            format!("{{users(brandKey:\"acme\",filter:{object}){{totalCount}}}}"),
            format!("query($v:String={list}){{__typename}}"),
            format!("query{selection}"),
            format!("{{a{}}}", nested("(", ")", 2_000, "x:1")),
            // Unbalanced: only opening brackets.
            "[".repeat(100_000),
        ] {
            let refused = check(&document).expect_err("too deep");
            assert!(refused.offset < document.len());
        }
    }

    #[test]
    fn brackets_in_strings_and_comments_are_text() {
        let brackets = "[{(".repeat(1_000);
        for document in [
            format!("{{a(s:\"{brackets}\")}}"),
            format!("{{a(s:\"\\\"{brackets}\")}}"),
            format!("{{a(s:\"\"\"{brackets} \\\"\"\" {brackets}\"\"\")}}"),
            format!("# {brackets}\n{{a}}"),
        ] {
            assert_eq!(check(&document), Ok(()), "{}", &document[..40]);
        }
        // A string ends at its closing quote: what follows is code again.
        let after = format!("{{a(s:\"x\") {}}}", "[".repeat(MAX_NESTING));
        assert!(check(&after).is_err());
        // A comment ends at the line break.
        let after = format!("# x\n{}", "[".repeat(MAX_NESTING + 1));
        assert!(check(&after).is_err());
    }

    #[test]
    fn multibyte_text_does_not_confuse_the_scan() {
        let document = format!("{{a(s:\"é{}\") {}}}", "\u{201c}[", "(".repeat(MAX_NESTING));
        assert!(check(&document).is_err());
        assert_eq!(check("{a(s:\"ĳ[[[[\")}"), Ok(()));
    }
}
