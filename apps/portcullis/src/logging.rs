//! Logging set-up: text or JSON lines on stderr, filtered by `log.level` or `RUST_LOG`.
//!
//! Lines are formatted where they happen and written by a dedicated thread, so a request never
//! waits on a `write` to stderr (at a line per request, that was the token server's largest
//! system-call cost). Nothing is dropped: when the thread's queue is full, callers wait.
//! Colours are used only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};

use portcullis_config::{LogFormat, LogSettings};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// The writer thread's handle; dropping it writes out what is queued.
static WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Installs the global subscriber once.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A subscriber already installed (tests) is fine: its writer is the one kept.
    if result.is_ok() {
        *WRITER.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
    }
}

/// Writes out the lines still queued. Call before the process exits.
pub fn finish() {
    drop(WRITER.lock().unwrap_or_else(PoisonError::into_inner).take());
}
