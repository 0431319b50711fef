//! Entry point of the `graphql_document` fuzz target in `fuzz/` (feature `fuzzing`; not a public
//! API). The unit test replays every file under `fuzz/seeds/graphql_document/` and
//! `fuzz/regressions/graphql_document/`, so a crash the fuzzer once found stays fixed in
//! `cargo test`.
//!
//! Invariants checked, for any bytes sent as a GraphQL document:
//! * the nesting bound ([`crate::nesting::check`]) never panics, and a refusal points at an
//!   opening bracket;
//! * a document it lets through is parsed (successfully or not) on a thread whose stack is a
//!   quarter of a runtime worker's, without overflowing it: the bound leaves the parser room.

use crate::nesting;

/// Stack of the thread that parses an admitted document: a quarter of the 2 MiB that tokio
/// gives each runtime worker, the stack the server parses on.
const PARSE_STACK: usize = 512 * 1024;

/// A GraphQL document's text.
pub fn graphql_document(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match nesting::check(text) {
        Err(refused) => {
            let at = text.as_bytes().get(refused.offset).copied();
            assert!(matches!(at, Some(b'{' | b'[' | b'(')), "refusal at {:?}, not an opening bracket", refused.offset);
        }
        Ok(()) => {
            let text = text.to_owned();
            let parser = std::thread::Builder::new()
                .stack_size(PARSE_STACK)
                .spawn(move || drop(async_graphql::parser::parse_query(&text)))
                .expect("a parser thread");
            assert!(parser.join().is_ok(), "the parser panicked on an admitted document");
        }
    }
}

/// The committed inputs' replay, shared by every crate with fuzz targets.
#[cfg(test)]
#[path = "../../../fuzz/replay.rs"]
mod replay;

#[cfg(test)]
mod tests {
    use super::replay::replay;
    use super::*;

    /// Every committed seed and regression input passes the target's invariants.
    #[test]
    fn fuzz_seeds_and_regressions_replay() {
        replay(&[("graphql_document", graphql_document)]);
    }

    /// The deepest document the bound admits parses within the small stack.
    #[test]
    fn the_deepest_admitted_documents_parse() {
        let depth = nesting::MAX_NESTING - 2;
        for (open, inner, close) in [("[", "1", "]"), ("{a:", "1", "}"), ("{a", "", "}"), ("(a:", "1", ")")] {
            let value = format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
            graphql_document(format!("{{f(x:{value})}}").as_bytes());
            graphql_document(format!("query($v:T={value}){{f}}").as_bytes());
            graphql_document(format!("query{value}").as_bytes());
        }
    }
}
