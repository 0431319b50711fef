//! Handler tests of the admin console: every page and action through the router, as a
//! browser would send them, on SQLite and (when configured) Postgres.

mod harness;

mod brands_and_clients;
mod isolation;
mod principals;
mod sign_in;
mod tokens_keys_audit;
