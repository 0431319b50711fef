//! A log writer that batches lines for a thread of its own.
//!
//! Callers append their formatted line to a shared buffer under a mutex; the thread wakes when
//! the buffer stops being empty, lingers [`LINGER`] for more lines, and writes everything with
//! one `write`. Under load a batch is waiting whenever the thread looks, so it is woken a few
//! hundred times a second instead of once per line (`tracing-appender`'s queue wakes its thread
//! for every line). A line reaches stderr at most about [`LINGER`] after it was logged. When
//! [`MAX_BUFFERED`] bytes are waiting, callers wait for room: nothing is dropped.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the thread waits for more lines before it writes a batch.
const LINGER: Duration = Duration::from_millis(5);

/// Bytes waiting beyond which callers wait for the thread (back-pressure, not memory growth).
const MAX_BUFFERED: usize = 4 << 20;

#[derive(Default)]
struct State {
    lines: Vec<u8>,
    /// The thread is asleep until a line arrives.
    idle: bool,
    /// No more lines: write out what is left and stop.
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when the first line arrives while the thread is idle, or on close.
    arrived: Condvar,
    /// Signalled when the thread has taken a batch.
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent buffer: keep logging.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The handle `tracing-subscriber` writes formatted lines to; cheap to clone.
#[derive(Clone)]
pub(crate) struct BatchWriter {
    shared: Arc<Shared>,
}

impl Write for BatchWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut state = self.shared.lock();
        while state.lines.len() >= MAX_BUFFERED && !state.closed {
            state = self.shared.room.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.lines.extend_from_slice(line);
        if std::mem::take(&mut state.idle) {
            self.shared.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The writing thread. Dropping it writes out what is buffered and ends the thread.
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
        self.shared.room.notify_all();
        if let Some(thread) = self.thread.take() {
            // The thread only writes; a panic there has nothing left to clean up.
            drop(thread.join());
        }
    }
}

/// A writer to stderr and its thread.
pub(crate) fn stderr() -> (BatchWriter, Flusher) {
    start(io::stderr())
}

/// A writer to `sink` and its thread (the thread is named `log-writer`). If the thread can't be
/// started, lines are still accepted and written when the flusher is dropped.
pub(crate) fn start<W: Write + Send + 'static>(mut sink: W) -> (BatchWriter, Flusher) {
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new().name("log-writer".into()).spawn(move || run(&shared, &mut sink)).ok()
    };
    (BatchWriter { shared: Arc::clone(&shared) }, Flusher { shared, thread })
}

fn run(shared: &Shared, sink: &mut impl Write) {
    let mut batch = Vec::new();
    loop {
        let closed = {
            let mut state = shared.lock();
            while state.lines.is_empty() && !state.closed {
                state.idle = true;
                state = shared.arrived.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            state.idle = false;
            state.closed
        };
        if !closed {
            std::thread::sleep(LINGER);
        }
        let closed = {
            let mut state = shared.lock();
            std::mem::swap(&mut batch, &mut state.lines);
            shared.room.notify_all();
            state.closed
        };
        // Nowhere to report a failed write to stderr; the next batch tries again.
        drop(sink.write_all(&batch).and_then(|()| sink.flush()));
        batch.clear();
        if closed && shared.lock().lines.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_once_in_order_by_the_time_the_flusher_is_dropped() {
        let sink = Sink::default();
        let (writer, flusher) = start(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        writer.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(flusher);
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        for t in 0..4 {
            let numbers: Vec<u32> = written
                .lines()
                .filter_map(|line| line.split_once(' '))
                .filter(|(thread, _)| *thread == t.to_string())
                .map(|(_, i)| i.parse().unwrap())
                .collect();
            assert_eq!(numbers, (0..5_000).collect::<Vec<_>>(), "thread {t}'s lines, each once and in order");
        }
    }

    #[test]
    fn a_line_is_written_without_waiting_for_more() {
        let sink = Sink::default();
        let (mut writer, _flusher) = start(sink.clone());
        writer.write_all(b"alone\n").unwrap();
        // No timing asserted: poll until the thread has written it, however long that takes.
        while sink.0.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.0.lock().unwrap().as_slice(), b"alone\n");
    }

    #[test]
    fn lines_after_the_flusher_is_gone_are_still_accepted() {
        let (mut writer, flusher) = start(Sink::default());
        drop(flusher);
        writer.write_all(b"late\n").unwrap();
    }
}
