//! Argon2id work on a fixed set of threads, one per core.
//!
//! Each check of a human password runs Argon2id over 19 MiB. On tokio's blocking pool every
//! concurrent check could land on a new thread, and glibc keeps a freed 19 MiB block in each
//! thread's arena for reuse: sixteen concurrent password grants drove the server to 1.7 GB
//! resident. A thread per core bounds both the memory (one block per thread, reused) and the
//! CPU (more threads than cores would only make every check slower). Requests beyond
//! [`QUEUE_PER_THREAD`] per thread wait nowhere: they get `429` with `Retry-After`.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::{GrantError, GrantResult};

/// Checks that may wait per thread (at tens of milliseconds each, about a second's worth).
const QUEUE_PER_THREAD: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

/// The queue into the password threads, started on first use.
fn queue() -> &'static SyncSender<Job> {
    static QUEUE: OnceLock<SyncSender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let (sender, receiver) = sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new().name(format!("password-{i}")).spawn(move || work(&receiver));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        sender
    })
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Runs `f` (a password hash or check) on a password thread and waits for its result without
/// blocking the async runtime.
pub(crate) async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> GrantResult<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // The requester may have gone away; then nobody needs the answer.
        let _ = done.send(f());
    });
    match queue().try_send(job) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => return Err(GrantError::Throttled { retry_after: 1 }),
        Err(TrySendError::Disconnected(_)) => {
            return Err(GrantError::Misconfigured("the password-hashing threads have stopped".into()));
        }
    }
    result.await.map_err(|_| GrantError::Misconfigured("a password-hashing job panicked".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_off_the_runtime_and_return_their_result() {
        let name = run(|| std::thread::current().name().map(str::to_owned)).await.expect("ran");
        assert!(name.is_some_and(|n| n.starts_with("password-")));
        let mut jobs = tokio::task::JoinSet::new();
        for i in 0..20 {
            jobs.spawn(run(move || i * 2));
        }
        let mut values: Vec<i32> = jobs.join_all().await.into_iter().map(|r| r.expect("ran")).collect();
        values.sort_unstable();
        assert_eq!(values, (0..20).map(|i| i * 2).collect::<Vec<_>>());
    }
}
