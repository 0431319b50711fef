//! Property tests of the store (proptest) against real databases: SQLite always, Postgres too
//! when `PORTCULLIS_TEST_POSTGRES_URL` is set. Each property generates data sets, writes them
//! through the storage traits into fresh brands of one database per backend, and checks what
//! comes back against a plain in-memory model.
//!
//! * `isolation`: every read through a brand's scope returns only that brand's rows, and writes
//!   through it naming another brand's identifiers change nothing of the other brand's.
//! * `paging`: walking `list_tokens` with cursors yields every matching token exactly once, in
//!   the documented order, also while tokens are inserted, revoked and approved between pages.
//!
//! Case counts are modest (`PROPTEST_CASES` raises them for a deeper run).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod isolation;
mod paging;
mod runner;
