//! What every long job (audit, squash, prune) shares: a progress sink the caller supplies and a
//! cancellation token the caller can fire.
//!
//! ```
//! use squashbox_core::job::{CancelToken, Progress};
//! let cancel = CancelToken::new();
//! let sink = |p: Progress| println!("{}: {} of {:?}", p.stage, p.done, p.total);
//! sink(Progress::new("reading", 10, Some(100)));
//! cancel.cancel();
//! assert!(cancel.is_cancelled());
//! ```

use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
use ts_rs::TS;

/// One step of a job's progress: which stage it is in and how far through it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Progress {
    /// A short word for what the job is doing now, e.g. "reading".
    pub stage: String,
    #[ts(type = "number")]
    pub done: u64,
    /// None while the total is not known.
    #[ts(type = "number | null")]
    pub total: Option<u64>,
}

impl Progress {
    pub fn new(stage: &str, done: u64, total: Option<u64>) -> Self {
        Progress {
            stage: stage.to_owned(),
            done,
            total,
        }
    }
}

/// Where a job reports its progress: the app forwards it over a Tauri channel, the CLI draws a
/// bar, tests collect it.
pub trait ProgressSink: Send + Sync {
    fn report(&self, progress: Progress);
}

impl<F: Fn(Progress) + Send + Sync> ProgressSink for F {
    fn report(&self, progress: Progress) {
        self(progress)
    }
}

/// Fired by the caller to stop a job; cheap to clone, shared between the caller and the job.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once the token fires (at once if it already has).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waiting_ends_when_the_token_fires() {
        let token = CancelToken::new();
        let waiter = tokio::spawn({
            let token = token.clone();
            async move { token.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        token.cancel();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("the waiter wakes")
            .unwrap();
    }

    #[tokio::test]
    async fn a_fired_token_does_not_block() {
        let token = CancelToken::new();
        token.cancel();
        tokio::time::timeout(Duration::from_millis(100), token.cancelled())
            .await
            .expect("returns at once");
    }
}
