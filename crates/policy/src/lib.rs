//! Authorization policy as pure functions: which scopes a token gets and which audiences it is
//! addressed to. No IO, no storage: callers pass in what they loaded.

mod audience;
mod scopes;

pub use audience::{AudienceError, AudienceRequest, resolve_audience, retained_audience};
pub use scopes::{ScopeError, ScopeRequest, resolve_scopes};
