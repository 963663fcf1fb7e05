//! Audits, snapshots and verifies images straight from the daemon: each `docker save` stream
//! is read as it arrives, on a blocking thread, and never touches the disk.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon) -> squashbox_core::Result<()> {
//! use squashbox_core::job::{CancelToken, Progress};
//! let report = squashbox_core::audit::audit_image(
//!     daemon, "app:1.2", &|p: Progress| eprintln!("{} / {:?}", p.done, p.total), &CancelToken::new(),
//! ).await?;
//! let snapshot = squashbox_core::audit::snapshot_image(
//!     daemon, "app:1.2", "reading", &|_: Progress| {}, &CancelToken::new(),
//! ).await?;
//! # Ok(()) }
//! ```

use bytes::Bytes;
use futures_util::StreamExt;
use std::io::Read;
use std::ops::ControlFlow;
use std::time::Duration;
use tokio::sync::mpsc;

use super::{audit_archive, snapshot_archive, survey_archive, AuditReport, FsSnapshot};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::job::{CancelToken, Progress, ProgressSink};

/// The daemon stages a big image on disk before the first byte of `docker save` arrives (12 s
/// for 2 GB here); a huge one can take minutes. Cancel is the way out, not a timeout.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Chunks in flight between the daemon's stream and the reader: enough to keep both busy,
/// few enough that memory stays flat however large the image.
const CHUNKS_IN_FLIGHT: usize = 32;

/// The image as the audit found it: its ID (the cache key) and the report.
pub struct AuditedImage {
    pub id: String,
    pub report: AuditReport,
}

/// The image as a survey found it: the audit and the final filesystem.
pub struct SurveyedImage {
    pub id: String,
    pub report: AuditReport,
    pub files: FsSnapshot,
}

/// Audits `image` (a name, tag or ID). Progress counts the archive's bytes against the image's
/// size, which the archive exceeds only by its tar headers.
pub async fn audit_image(
    daemon: &Daemon,
    image: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<AuditedImage> {
    let (id, report) = read_saved(daemon, image, "reading", sink, cancel, audit_archive).await?;
    Ok(AuditedImage { id, report })
}

/// An audit that also keeps the final filesystem (see [`survey_archive`](super::survey_archive)):
/// what the app makes, so that a squash of the audited image needs to read only its result.
pub async fn survey_image(
    daemon: &Daemon,
    image: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<SurveyedImage> {
    let (id, (report, files)) =
        read_saved(daemon, image, "reading", sink, cancel, survey_archive).await?;
    Ok(SurveyedImage { id, report, files })
}

/// The final filesystem of `image` (a name, tag or ID), read from its layers as `docker save`
/// gives them, never from a container (which adds `/.dockerenv` and replaces `/etc/hosts`).
/// Progress as for [`audit_image`], under `stage`. [`compare`](super::compare) two of them to
/// check a squash.
pub async fn snapshot_image(
    daemon: &Daemon,
    image: &str,
    stage: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<FsSnapshot> {
    let (_, snapshot) = read_saved(daemon, image, stage, sink, cancel, snapshot_archive).await?;
    Ok(snapshot)
}

/// What reads the archive on the blocking thread: [`audit_archive`] or [`snapshot_archive`].
type ArchiveReader<T> = fn(ChannelReader, &mut dyn FnMut(u64) -> ControlFlow<()>) -> Result<T>;

/// Streams `docker save` of `image` into `read`, which runs on a blocking thread, reporting
/// progress under `stage`. Returns the image's ID and what `read` made of the archive.
async fn read_saved<T: Send + 'static>(
    daemon: &Daemon,
    image: &str,
    stage: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
    read: ArchiveReader<T>,
) -> Result<(String, T)> {
    let inspect = daemon
        .docker()
        .inspect_image(image)
        .await
        .map_err(|e| not_found_or(e, image))?;
    let id = inspect.id.unwrap_or_else(|| image.to_owned());
    let total = inspect.size.and_then(|s| u64::try_from(s).ok());
    sink.report(Progress::new(stage, 0, total));

    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let reader_cancel = cancel.clone();
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<u64>();
    let reading = tokio::task::spawn_blocking(move || {
        read(ChannelReader::new(rx), &mut |bytes_read| {
            let _ = progress_tx.send(bytes_read);
            if reader_cancel.is_cancelled() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    });

    let exporter = daemon.docker().clone().with_timeout(FIRST_BYTE_TIMEOUT);
    let mut archive = exporter.export_image(&id);
    let streaming = async {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(Error::Cancelled),
                Some(read) = progress_rx.recv() => sink.report(Progress::new(stage, read, total)),
                chunk = archive.next() => {
                    let chunk = match chunk {
                        None => return Ok(()),
                        Some(Ok(bytes)) => Ok(bytes),
                        Some(Err(e)) => Err(std::io::Error::other(Error::from_docker(e).to_string())),
                    };
                    let failed = chunk.is_err();
                    // A closed channel means the reader stopped early; its own result says why.
                    if tx.send(chunk).await.is_err() || failed {
                        return Ok(());
                    }
                }
            }
        }
    };
    let streamed = streaming.await;
    drop(tx);
    drop(archive);
    // On failure the reader sees the channel close, stops at its next read and is not awaited.
    streamed?;
    let made = reading
        .await
        .map_err(|e| Error::Stream(format!("reading the image stopped unexpectedly: {e}")))??;
    while let Ok(read) = progress_rx.try_recv() {
        sink.report(Progress::new(stage, read, total));
    }
    Ok((id, made))
}

fn not_found_or(err: bollard::errors::Error, image: &str) -> Error {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => Error::ImageNotFound(image.to_owned()),
        other => Error::from_docker(other),
    }
}

/// A `Read` over chunks that arrive through a channel; the end of the channel is the end of
/// the archive.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    fn new(rx: mpsc::Receiver<std::io::Result<Bytes>>) -> Self {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_reader_joins_chunks_and_ends_with_the_channel() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Ok(Bytes::from_static(b"hel"))).unwrap();
        tx.try_send(Ok(Bytes::from_static(b"lo"))).unwrap();
        drop(tx);
        let mut text = String::new();
        ChannelReader::new(rx).read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
    }

    #[test]
    fn channel_reader_passes_errors_on() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Err(std::io::Error::other("daemon went away")))
            .unwrap();
        let mut buf = [0u8; 8];
        let err = ChannelReader::new(rx).read(&mut buf).unwrap_err();
        assert_eq!(err.to_string(), "daemon went away");
    }
}
