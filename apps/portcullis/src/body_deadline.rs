//! A deadline on reading a request's body, so that a client sending a few bytes now and then
//! (a "slow body") cannot hold a connection and a task for the whole request timeout.
//!
//! The deadline counts from the moment the request's head was read. A body already received in
//! full never waits, and never sets a timer; one still arriving when the deadline passes ends in
//! an error, which the handlers answer as an unreadable body (a 4xx).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// The body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct TooSlow(Duration);

/// A request body that fails once its deadline passes.
#[derive(Debug)]
pub struct Deadline {
    inner: Incoming,
    limit: Duration,
    deadline: Instant,
    /// Set the first time the body is not ready: most bodies never need it.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    /// `inner`, which must arrive within `limit` from now.
    pub fn new(inner: Incoming, limit: Duration) -> Self {
        Self { inner, limit, deadline: Instant::now() + limit, timer: None }
    }
}

impl Body for Deadline {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(TooSlow(this.limit))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
