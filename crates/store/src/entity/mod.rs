//! sea-orm entities, one module per table (2.x entity format). Only this crate sees them.

pub mod audit_events;
pub mod authorization_codes;
pub mod brands;
pub mod change_epoch;
pub mod clients;
pub mod issued_tokens;
pub mod login_failures;
pub mod login_sessions;
pub mod platform_meta;
pub mod principals;
pub mod refresh_tokens;
pub mod revocations;
pub mod signing_keys;
