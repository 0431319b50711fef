//! Mapping sea-orm errors to [`StoreError`].

use portcullis_tenancy::StoreError;
use sea_orm::{DbErr, SqlErr};

/// Converts a database error, classifying unique violations and connectivity failures.
pub(crate) fn map_err(err: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        return StoreError::Conflict(message);
    }
    match err {
        DbErr::ConnectionAcquire(e) => StoreError::Unavailable(e.to_string()),
        DbErr::Conn(e) => StoreError::Unavailable(e.to_string()),
        other => {
            let text = other.to_string();
            // sqlx reports a dropped or refused connection as an IO error inside a query error.
            if text.contains("Connection refused") || text.contains("connection closed") || text.contains("timed out") {
                StoreError::Unavailable(text)
            } else {
                StoreError::Backend(text)
            }
        }
    }
}

/// A stored value that does not parse back.
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {err}"))
}
