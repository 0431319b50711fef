//! Logging set-up: text or JSON lines on stderr, filtered by `log.level` or `RUST_LOG`.
//!
//! Lines are formatted where they happen and written by a dedicated thread in batches
//! ([`batch`]), so a request neither waits on a `write` to stderr nor wakes a thread for its
//! line: at a line per request, both were among the token server's largest costs. Nothing is
//! dropped: when the batch is full, callers wait. Colours are used only when stderr is a terminal.

mod batch;

use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};

use portcullis_config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

/// The writer thread; taking it out and finishing it writes out what is buffered.
static WRITER: Mutex<Option<batch::Flusher>> = Mutex::new(None);

/// Installs the global subscriber once.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, flusher) = batch::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A subscriber already installed (tests) is fine: its writer is the one kept, and this
    // one's thread ends when `flusher` is dropped here.
    if result.is_ok() {
        *WRITER.lock().unwrap_or_else(PoisonError::into_inner) = Some(flusher);
    }
}

/// Writes out the lines still buffered. Call before the process exits.
pub fn finish() {
    drop(WRITER.lock().unwrap_or_else(PoisonError::into_inner).take());
}
