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
use futures_util::{Stream, StreamExt};
use std::io::Read;
use std::ops::ControlFlow;
use std::time::Duration;
use tokio::sync::mpsc;

use super::{audit_archive, audit_archive_with_files, snapshot_archive};
use super::{AuditFiles, AuditReport, FsSnapshot};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::job::{CancelToken, Progress, ProgressSink};

/// The daemon stages a big image on disk before the first byte of `docker save` arrives (12 s
/// for 2 GB here); a huge one can take minutes. Cancel is the way out, not a timeout.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(3600);

/// The daemon's stream arrives in chunks of a few tens of kilobytes. Handing each to the reader
/// on its own woke the reader's thread for each: half the audit's CPU went to switching
/// threads. Chunks go over in batches of at least this many bytes instead.
const BATCH_BYTES: usize = 512 * 1024;
/// Batches in flight between the daemon's stream and the reader: enough to keep both busy,
/// few enough that memory stays flat however large the image.
const BATCHES_IN_FLIGHT: usize = 4;

/// Chunks of the archive, in order, or why the stream broke.
pub(crate) type Batch = std::io::Result<Vec<Bytes>>;

/// The image as the audit found it: its ID (the cache key) and the report.
pub struct AuditedImage {
    pub id: String,
    pub report: AuditReport,
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
    crate::savings::remember(&id, &report);
    Ok(AuditedImage { id, report })
}

/// An audit that also keeps the final filesystem (see
/// [`audit_archive_with_files`](super::audit_archive_with_files)): what the app makes, so that
/// a squash of the audited image needs to read only its result.
pub async fn audit_image_with_files(
    daemon: &Daemon,
    image: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<(AuditedImage, AuditFiles)> {
    let (id, (report, files)) = read_saved(
        daemon,
        image,
        "reading",
        sink,
        cancel,
        audit_archive_with_files,
    )
    .await?;
    crate::savings::remember(&id, &report);
    Ok((AuditedImage { id, report }, files))
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

/// Streams `docker save` of `image` into `read` ([`audit_archive`], [`snapshot_archive`], the
/// direct squash's writer), which runs on a blocking thread, reporting progress under `stage`.
/// Returns the image's ID and what `read` made of the archive.
pub(crate) async fn read_saved<T: Send + 'static>(
    daemon: &Daemon,
    image: &str,
    stage: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
    read: impl FnOnce(ChannelReader, &mut dyn FnMut(u64) -> ControlFlow<()>) -> Result<T>
        + Send
        + 'static,
) -> Result<(String, T)> {
    let inspect = daemon
        .docker()
        .inspect_image(image)
        .await
        .map_err(|e| not_found_or(e, image))?;
    let id = inspect.id.unwrap_or_else(|| image.to_owned());
    let total = inspect.size.and_then(|s| u64::try_from(s).ok());
    let saver = daemon.docker().clone().with_timeout(FIRST_BYTE_TIMEOUT);
    let archive = saver.export_image(&id);
    let made = read_archive(archive, stage, total, sink, cancel, read).await?;
    Ok((id, made))
}

/// Streams `archive`, a tar the daemon sends (`docker save`, `docker export`), into `read` on a
/// blocking thread, reporting progress under `stage` against `total`, and returns what `read`
/// made of it.
pub(crate) async fn read_archive<T: Send + 'static>(
    archive: impl Stream<Item = std::result::Result<Bytes, bollard::errors::Error>> + Send + 'static,
    stage: &str,
    total: Option<u64>,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
    read: impl FnOnce(ChannelReader, &mut dyn FnMut(u64) -> ControlFlow<()>) -> Result<T>
        + Send
        + 'static,
) -> Result<T> {
    sink.report(Progress::new(stage, 0, total));
    let (tx, rx) = mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
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

    // A task of its own runs on a runtime worker, the thread that hears the socket: awaited
    // here it ran on the caller's thread, which every read of the socket had to wake.
    let mut pump = tokio::spawn(pump(archive, tx));
    let streamed = loop {
        tokio::select! {
            _ = cancel.cancelled() => break Err(Error::Cancelled),
            Some(read) = progress_rx.recv() => sink.report(Progress::new(stage, read, total)),
            pumped = &mut pump => break pumped.map_err(|e| {
                Error::Stream(format!("streaming the image stopped unexpectedly: {e}"))
            }),
        }
    };
    // Closes the reader's channel if the pump is still going.
    pump.abort();
    // On failure the reader sees the channel close, stops at its next read and is not awaited.
    streamed?;
    let made = reading
        .await
        .map_err(|e| Error::Stream(format!("reading the image stopped unexpectedly: {e}")))??;
    while let Ok(read) = progress_rx.try_recv() {
        sink.report(Progress::new(stage, read, total));
    }
    Ok(made)
}

/// `archive` as a reader for a blocking thread, moved by a task of its own until it ends, it
/// breaks (the reader then hears why) or the reader is dropped.
pub(crate) fn reader_of(
    archive: impl Stream<Item = std::result::Result<Bytes, bollard::errors::Error>> + Send + 'static,
) -> ChannelReader {
    let (tx, rx) = mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
    tokio::spawn(pump(archive, tx));
    ChannelReader::new(rx)
}

/// Moves `archive` into the reader's channel, in batches, until the stream ends or breaks
/// (the reader then hears why) or the reader stops.
async fn pump(
    archive: impl Stream<Item = std::result::Result<Bytes, bollard::errors::Error>>,
    tx: mpsc::Sender<Batch>,
) {
    let mut archive = std::pin::pin!(archive);
    let mut batch = Vec::new();
    let mut batched = 0;
    loop {
        let broke = match archive.next().await {
            Some(Ok(bytes)) => {
                batched += bytes.len();
                batch.push(bytes);
                if batched < BATCH_BYTES {
                    continue;
                }
                None
            }
            None => Some(None),
            Some(Err(e)) => Some(Some(Error::from_docker(e).to_string())),
        };
        batched = 0;
        // A closed channel means the reader stopped early; its own result says why.
        let sent = tx.send(Ok(std::mem::take(&mut batch))).await;
        match broke {
            None if sent.is_ok() => {}
            Some(Some(why)) if sent.is_ok() => {
                let _ = tx.send(Err(std::io::Error::other(why))).await;
                return;
            }
            _ => return,
        }
    }
}

fn not_found_or(err: bollard::errors::Error, image: &str) -> Error {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => Error::ImageNotFound(image.to_owned()),
        other => Error::from_docker(other),
    }
}

/// A `Read` over batches of chunks that arrive through a channel; the end of the channel is
/// the end of the archive.
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<Batch>,
    batch: std::vec::IntoIter<Bytes>,
    current: Bytes,
}

impl ChannelReader {
    pub fn new(rx: mpsc::Receiver<Batch>) -> Self {
        ChannelReader {
            rx,
            batch: Vec::new().into_iter(),
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if let Some(chunk) = self.batch.next() {
                self.current = chunk;
                continue;
            }
            match self.rx.blocking_recv() {
                Some(batch) => self.batch = batch?.into_iter(),
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
        let chunks = [b"he".as_slice(), b"", b"l"].map(Bytes::from_static);
        tx.try_send(Ok(chunks.to_vec())).unwrap();
        tx.try_send(Ok(Vec::new())).unwrap();
        tx.try_send(Ok(vec![Bytes::from_static(b"lo")])).unwrap();
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
