//! Mapping sea-orm errors to [`StoreError`].

use portcullis_tenancy::StoreError;
use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Converts a database error, classifying unique violations and connectivity failures.
pub(crate) fn map_err(err: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        return StoreError::Conflict(message);
    }
    match err {
        DbErr::ConnectionAcquire(e) => StoreError::Unavailable(e.to_string()),
        DbErr::Conn(e) => StoreError::Unavailable(e.to_string()),
        DbErr::Exec(RuntimeErr::SqlxError(ref e)) | DbErr::Query(RuntimeErr::SqlxError(ref e)) if is_transient(e) => {
            StoreError::Unavailable(err.to_string())
        }
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

/// Whether a driver error means the database cannot serve right now (unreachable, shutting
/// down, locked by someone else, out of connections) rather than that the statement or the data
/// is wrong: the request may succeed when retried later, so the client gets a 503.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
                // SQLSTATE classes 08 (connection exception) and 53 (insufficient resources),
                // administrator/crash shutdown and "starting up" (57P01–57P03), a statement or
                // lock timeout (57014, 55P03).
                code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "57014" | "55P03")
            } else {
                // SQLite's extended result code; its low byte is the primary code:
                // SQLITE_BUSY (5, the busy timeout ran out) or SQLITE_LOCKED (6).
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
            }
        }
        _ => false,
    }
}

/// A stored value that does not parse back.
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {err}"))
}
