//! The server's resident memory: `VmRSS` from `/proc/PID/status`, sampled every 100 ms on a
//! thread of its own, with the peak of the whole run and of a window (one measured point).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the sampler reads `/proc/PID/status`.
const INTERVAL: Duration = Duration::from_millis(100);

/// A field of `/proc/PID/status` given in kB (`VmRSS:     12345 kB`), in KiB.
pub(crate) fn status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// `field` of the process `pid` in KiB, if it is still there.
pub(crate) fn read_kib(pid: u32, field: &str) -> Option<u64> {
    status_kib(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?, field)
}

#[derive(Debug)]
struct Peaks {
    pid: u32,
    stop: AtomicBool,
    /// Since the sampler started, KiB.
    run: AtomicU64,
    /// Since the last [`Sampler::begin_window`], KiB.
    window: AtomicU64,
}

impl Peaks {
    fn sample(&self) {
        if let Some(kib) = read_kib(self.pid, "VmRSS") {
            self.run.fetch_max(kib, Ordering::Relaxed);
            self.window.fetch_max(kib, Ordering::Relaxed);
        }
    }
}

/// Samples a process's `VmRSS` until dropped.
#[derive(Debug)]
pub(crate) struct Sampler {
    peaks: Arc<Peaks>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `pid`.
    pub(crate) fn start(pid: u32) -> Self {
        let peaks =
            Arc::new(Peaks { pid, stop: AtomicBool::new(false), run: AtomicU64::new(0), window: AtomicU64::new(0) });
        let shared = Arc::clone(&peaks);
        let thread = std::thread::spawn(move || {
            while !shared.stop.load(Ordering::Relaxed) {
                shared.sample();
                std::thread::sleep(INTERVAL);
            }
        });
        Self { peaks, thread: Some(thread) }
    }

    /// Starts a new window.
    pub(crate) fn begin_window(&self) {
        self.peaks.window.store(0, Ordering::Relaxed);
        self.peaks.sample();
    }

    /// The peak since [`Sampler::begin_window`], in KiB.
    pub(crate) fn window_peak(&self) -> u64 {
        self.peaks.sample();
        self.peaks.window.load(Ordering::Relaxed)
    }

    /// The peak since the sampler started, in KiB.
    pub(crate) fn run_peak(&self) -> u64 {
        self.peaks.sample();
        self.peaks.run.load(Ordering::Relaxed)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.peaks.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            drop(thread.join());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{read_kib, status_kib};

    #[test]
    fn fields_are_read_in_kib() {
        let status = "Name:\tportcullis\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t5\n";
        assert_eq!(status_kib(status, "VmRSS"), Some(40960));
        assert_eq!(status_kib(status, "VmHWM"), Some(51200));
        assert_eq!(status_kib(status, "Threads"), None);
        assert_eq!(status_kib(status, "VmSwap"), None);
        assert_eq!(status_kib("VmRSSX:\t1 kB\n", "VmRSS"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        assert!(read_kib(std::process::id(), "VmRSS").is_some_and(|kib| kib > 0));
    }
}
