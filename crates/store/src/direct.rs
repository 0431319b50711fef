//! Connections to the SQLite file that bypass sqlx, for the two paths every token takes: the
//! group-commit writer ([`crate::writer`]) and the liveness check of introspection
//! ([`crate::liveness`]).
//!
//! sqlx runs each SQLite connection on a thread of its own and sends it every statement as a
//! message, so a statement costs two cross-thread wake-ups besides its own work; on the hot
//! paths those hand-offs cost more than the SQL (BENCHMARKS.md, "Where the time goes"). A
//! rusqlite connection runs the statement on the calling thread. Everything else (migrations,
//! the management API, the other grants) stays on sea-orm.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use portcullis_tenancy::{StoreError, StoreResult};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;

/// The database file a `sqlite:` URL names. An in-memory database is refused: each connection
/// would get a database of its own, so records written by one would be invisible to the others.
pub(crate) fn file_of(url: &str) -> StoreResult<PathBuf> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Backend(format!("invalid SQLite URL: {e}")))?;
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Err(StoreError::Backend(
            "an in-memory SQLite database can't be shared by the server's connections; name a file, e.g. \
             sqlite://portcullis.db"
                .into(),
        ));
    }
    Ok(options.get_filename().to_owned())
}

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The token writer: waits up to the given time for the write lock, leaves checkpoints to
    /// [`crate::checkpoint`] (see [`crate::checkpoint::WRITER_AUTOCHECKPOINT`]).
    Writer(Duration),
    /// A reader on a request's thread: never waits. A reader in WAL mode is refused only in
    /// rare moments (the log being reset); the caller then takes the pooled, waiting path.
    Reader,
}

/// Opens `file` the way the pool's connections are opened: WAL, `synchronous=FULL`, foreign keys.
pub(crate) fn open(file: &std::path::Path, role: Role) -> StoreResult<Connection> {
    let flags = match role {
        Role::Writer(_) => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Role::Reader => OpenFlags::SQLITE_OPEN_READ_ONLY,
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(file, flags).map_err(map_err)?;
    let busy = match role {
        Role::Writer(wait) => wait,
        Role::Reader => Duration::ZERO,
    };
    connection.busy_timeout(busy).map_err(map_err)?;
    let mut pragmas = String::from("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
    if let Role::Writer(_) = role {
        pragmas.push_str("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = ");
        pragmas.push_str(crate::checkpoint::WRITER_AUTOCHECKPOINT);
        pragmas.push(';');
    }
    connection.execute_batch(&pragmas).map_err(map_err)?;
    Ok(connection)
}

/// Classifies a SQLite error like [`crate::error::map_err`] does sqlx's: a unique violation
/// is a conflict, a busy or locked database is unavailable (the client may retry), the rest is
/// a backend failure.
pub(crate) fn map_err(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error() {
        Some(e)
            if e.code == ErrorCode::ConstraintViolation
                && matches!(
                    e.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Conflict(err.to_string())
        }
        Some(e) if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Backend(err.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_its_file_and_memory_is_refused() {
        assert_eq!(file_of("sqlite://data/portcullis.db").unwrap(), PathBuf::from("data/portcullis.db"));
        assert_eq!(file_of("sqlite:portcullis.db?mode=rwc").unwrap(), PathBuf::from("portcullis.db"));
        for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
            let err = file_of(url).unwrap_err().to_string();
            assert!(err.contains("in-memory"), "{url}: {err}");
        }
    }

    #[test]
    fn errors_are_classified() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir.path().join("t.db"), Role::Writer(Duration::from_millis(10))).unwrap();
        db.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY); INSERT INTO t VALUES ('a');").unwrap();
        let duplicate = db.execute("INSERT INTO t VALUES ('a')", []).unwrap_err();
        assert!(matches!(map_err(duplicate), StoreError::Conflict(_)));
        let other = open(&dir.path().join("t.db"), Role::Writer(Duration::from_millis(10))).unwrap();
        db.execute_batch("BEGIN IMMEDIATE").unwrap();
        let busy = other.execute("INSERT INTO t VALUES ('b')", []).unwrap_err();
        let busy = map_err(busy);
        assert!(matches!(busy, StoreError::Unavailable(_)), "{busy}");
        let syntax = db.execute("INSERT INTO nowhere VALUES (1)", []).unwrap_err();
        assert!(matches!(map_err(syntax), StoreError::Backend(_)));
    }
}
