//! Asking the daemon again when an answer says only that the daemon was busy elsewhere: an
//! engine whose store loses an image under a list, a count or a build's cache lookup (another
//! program removing images meanwhile) fails that request whole, though the next one succeeds.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// Runs `attempt` up to `tries` times while it fails with an error `passing` recognises,
/// `pause` apart; the last answer, good or bad, is returned.
pub(crate) async fn while_passing<T, Fut>(
    tries: u32,
    pause: Duration,
    passing: impl Fn(&Error) -> bool,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(err) if tried < tries && passing(&err) => {
                tried += 1;
                tokio::time::sleep(pause).await;
            }
            answer => return answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn busy() -> Error {
        Error::Daemon {
            status: 404,
            message: "content digest sha256:00: not found".into(),
        }
    }

    #[tokio::test]
    async fn a_passing_error_is_tried_again_up_to_the_bound() {
        let calls = Cell::new(0);
        let answer: Result<()> = while_passing(
            3,
            Duration::ZERO,
            |_| true,
            || {
                calls.set(calls.get() + 1);
                async { Err(busy()) }
            },
        )
        .await;
        assert!(matches!(answer, Err(Error::Daemon { status: 404, .. })));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn other_errors_and_answers_come_back_at_once() {
        let calls = Cell::new(0);
        let answer: Result<u32> = while_passing(
            3,
            Duration::ZERO,
            |_| false,
            || {
                calls.set(calls.get() + 1);
                async { Err(busy()) }
            },
        )
        .await;
        assert!(answer.is_err());
        assert_eq!(calls.get(), 1);
        let answer = while_passing(3, Duration::ZERO, |_| true, || async { Ok(7) }).await;
        assert_eq!(answer.unwrap(), 7);
    }
}
