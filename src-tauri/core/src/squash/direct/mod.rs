//! The direct squash: no builder. A snapshot of the source read from its `docker save` stream
//! (an audit with files, or the squash's own first reading) says what every entry of the final
//! filesystem is; one layer holding exactly that is written, and goes with its config straight
//! into the daemon's image load, as it is written.
//!
//! ```text
//! let loaded = direct::load_squashed(daemon, &plan, source_files, None, &made, sink, &cancel).await?;
//! // loaded.result_id: untagged; loaded.result_files: the filesystem that was loaded
//! ```
//!
//! Every header is the snapshot's. The files' bytes come from `docker export` of a container
//! made from the source and never started (the daemon merges the layers and sends only the
//! final files: 0.5 to 0.8 s on Engine 20.10 here where `docker save` took 2.8 s, for a 514 MB
//! image holding 270 MB of files). A partial squash then reads the saved archive again for the
//! layers it keeps, byte for byte. Only an image with a file of its own where a container has
//! the runtime's (`/etc/hosts`…) takes every byte from the saved archive read again.
//!
//! Nothing lands on the client's disk: the layer's size is added up before it is written (the
//! archive must state it first), so the load starts at once. The one exception is a partial
//! squash of such an image: its new layer needs bytes from all over the saved archive, which
//! brings the kept layers in no set order, and waits in a temp file until they have passed.
//! The daemon checks the layer against the diff ID in the config, which is the SHA-256 of the
//! bytes written; the same bytes are read back here as they go, into the snapshot the
//! verification compares with the source's. What a builder's copy changes (mtimes cut to whole
//! seconds, runtime files, FIFOs turned into files) cannot happen: every entry is the layers'
//! own, mtimes to the nanosecond.

mod flat_layer;
mod image_config;
mod tar_header;

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{self, Read, Seek, Write};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use self::flat_layer::{Base, Feed, FlatLayer};
use self::tar_header::{Header, Kind};
use super::plan::SquashPlan;
use crate::audit::reread::{self, FoundFile, Wanted, EXPORTED};
use crate::audit::{hex, read_archive, read_saved, reader_of, sha256_text, snapshot_archive};
use crate::audit::{Batch, ChannelReader, FsSnapshot, Mtime};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::hold::Hold;
use crate::job::{CancelToken, ProgressSink};
use crate::made::MadeImages;

/// The load answers once it has the whole archive and has unpacked it; a huge image takes
/// minutes. Cancel is the way out, not a timeout.
const LOAD_TIMEOUT: Duration = Duration::from_secs(3600);
/// What goes to the daemon at a time.
const CHUNK_BYTES: usize = 512 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// Whether the direct method can write `source` back exactly: not when a name is not UTF-8.
pub(crate) fn copyable(source: &FsSnapshot) -> Result<()> {
    source
        .entries
        .iter()
        .try_for_each(|(path, entry)| flat_layer::refuse_changed_names(path, entry))
}

/// The squashed image, loaded and untagged.
pub(crate) struct Loaded {
    pub result_id: String,
    /// The filesystem the loaded layer holds, read from the bytes as they were sent.
    pub result_files: FsSnapshot,
}

/// Writes the squashed image of `plan`'s source and loads it. `source` must be a snapshot read
/// from the source's saved archive (an audit's or the verification's); `base`, for a partial
/// squash, the filesystem of the first layers, which are kept. The result is noted in `made`
/// before anything else can fail.
pub(crate) async fn load_squashed(
    daemon: &Daemon,
    plan: &SquashPlan,
    source: Arc<FsSnapshot>,
    base: Option<Arc<FsSnapshot>>,
    made: &MadeImages,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<Loaded> {
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    // The export is of a container made from the source, never started: what the hold is. A
    // daemon that will not make one (an image for another platform, on some engines) leaves
    // the saved archive, which serves every image.
    let container = match exportable(&source) {
        true => Hold::take(daemon, &plan.source_id).await.ok(),
        false => None,
    };
    let partial = base.is_some();
    let (body_tx, body_rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let (check_tx, check_rx) = mpsc::channel::<Batch>(CHUNKS_IN_FLIGHT);
    let created = now_rfc3339();
    let for_writer = plan.clone();
    let source_size = files_bytes(&source);
    let write = move |inputs: Inputs<ChannelReader>,
                      progress: &mut dyn FnMut(u64) -> ControlFlow<()>| {
        let mut out = Outlet::new(body_tx, check_tx);
        let written = write_archive(
            inputs,
            progress,
            &source,
            base.as_deref(),
            &for_writer,
            &created,
            &mut out,
        );
        let written = written.and_then(|()| out.finish());
        match written {
            Ok(()) => Ok(Sent::Whole),
            // The load's own answer says why it stopped reading.
            Err(_) if out.docker_stopped_reading => Ok(Sent::Refused),
            // The load must fail rather than take a cut-off archive for a whole one.
            Err(err) => {
                out.abort(&err);
                Err(err)
            }
        }
    };
    let writing = async {
        let exporter = daemon.docker().clone().with_timeout(LOAD_TIMEOUT);
        let source_id = &plan.source_id;
        match &container {
            // The export first, then the kept layers from the saved stream, whose staging by
            // the daemon goes on meanwhile.
            Some(hold) if partial => {
                let files = reader_of(exporter.export_container(hold.container_id()));
                let write = move |kept, progress: &mut dyn FnMut(u64) -> ControlFlow<()>| {
                    let kept_layers = Some(kept);
                    write(Inputs::Exported { files, kept_layers }, progress)
                };
                let read = read_saved(daemon, source_id, STAGE, sink, cancel, write).await;
                read.map(|(_, sent)| sent)
            }
            Some(hold) => {
                let archive = exporter.export_container(hold.container_id());
                let write = move |files, progress: &mut dyn FnMut(u64) -> ControlFlow<()>| {
                    write(
                        Inputs::Exported {
                            files,
                            kept_layers: None,
                        },
                        progress,
                    )
                };
                read_archive(archive, STAGE, Some(source_size), sink, cancel, write).await
            }
            None => {
                let write = move |saved, progress: &mut dyn FnMut(u64) -> ControlFlow<()>| {
                    write(Inputs::Saved(saved), progress)
                };
                let read = read_saved(daemon, source_id, STAGE, sink, cancel, write).await;
                read.map(|(_, sent)| sent)
            }
        }
    };
    let checking = tokio::task::spawn_blocking(move || {
        snapshot_archive(ChannelReader::new(check_rx), &mut |_| {
            ControlFlow::Continue(())
        })
    });
    let (written, loaded) = tokio::join!(writing, load(daemon, body_rx));
    if let Some(hold) = container {
        hold.release(daemon).await;
    }
    // Whatever happened, an image the daemon says it loaded is ours to account for.
    if let Ok(id) = &loaded {
        made.note(id);
    }
    let result_files = checking
        .await
        .map_err(|e| Error::Stream(format!("reading the written layer stopped: {e}")));
    match (written, loaded) {
        // The writer's own failure (a cancel, a bad archive, a name it cannot write) is the
        // story; the load failed only because the archive was cut off.
        (Err(err), _) => Err(err),
        (Ok(_), Err(err)) => Err(err),
        (Ok(Sent::Refused), Ok(_)) => Err(Error::Stream(
            "Docker stopped reading the squashed image yet says it loaded it".into(),
        )),
        (Ok(Sent::Whole), Ok(result_id)) => Ok(Loaded {
            result_id,
            result_files: result_files??,
        }),
    }
}

/// The progress stage of writing the squashed image.
const STAGE: &str = "squashing";

/// Paths where a container holds the runtime's file rather than the image's (Docker's init
/// layer, Podman's stubs): a container's export cannot give the image's bytes there.
const RUNTIME_FILES: [&str; 8] = [
    "/.dockerenv",
    "/dev/console",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/mtab",
    "/etc/resolv.conf",
    "/run/.containerenv",
    "/.containerenv",
];

/// Whether a container's export can give every byte the squashed layer needs: yes unless the
/// image has a file with content where a container puts the runtime's (the saved archive is
/// read again then). Either way the layer's headers are the snapshot's, and the comparison
/// with the source checks what was sent.
fn exportable(source: &FsSnapshot) -> bool {
    RUNTIME_FILES.iter().all(|path| {
        source
            .entries
            .get(*path)
            .is_none_or(|entry| entry.kind != crate::audit::EntryKind::File || entry.size == 0)
    })
}

/// What the export of the source's filesystem roughly comes to: its files' bytes and a header
/// for each entry, the figure its progress counts towards.
fn files_bytes(source: &FsSnapshot) -> u64 {
    source
        .entries
        .values()
        .map(|entry| tar_header::padded(entry.size) + tar_header::BLOCK)
        .sum()
}

/// How the archive's sending ended, when the writer did not fail on its own.
enum Sent {
    Whole,
    /// Docker stopped reading: the load's answer says why.
    Refused,
}

/// What the archive for `docker load` is written from: the source's `docker save` stream,
/// read again, or a container's export for the files' bytes (with, for a partial squash, the
/// saved stream for the layers it keeps, read after the export).
pub(super) enum Inputs<R> {
    Saved(R),
    Exported { files: R, kept_layers: Option<R> },
}

/// Writes the archive `docker load` takes to `out`: the squashed layer, its config, the
/// manifest, from `inputs`. With a `base` (the filesystem of the source's first layers, which a
/// partial squash keeps), those layers go into the archive as they are and the squashed layer
/// holds only what the others changed.
#[allow(clippy::too_many_arguments)]
fn write_archive(
    inputs: Inputs<impl Read>,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    source: &FsSnapshot,
    base: Option<&FsSnapshot>,
    plan: &SquashPlan,
    created: &str,
    out: &mut impl Write,
) -> Result<()> {
    let out = &mut Counted {
        inner: out,
        written: 0,
    };
    let kept = base.map_or(0, |b| b.layers.len());
    let feed = match inputs {
        Inputs::Saved(_) => Feed::Saved,
        Inputs::Exported { .. } => Feed::Exported,
    };
    let mut layer = FlatLayer::plan(
        source,
        base.map(|files| Base {
            files,
            layers: kept as u32,
        }),
        feed,
    )?;
    // The containerd store ingests each member under a name of its own: two loads at once
    // with the same names trip over each other ("unexpected commit size", seen on 28.5).
    let names = MemberNames::new();
    let kept_layers = source.layers.get(..kept).unwrap_or_default();
    // A kept layer goes into the config under the diff ID its own config gave it; without one
    // the load would be refused for an empty digest: say which layer before anything is sent.
    let mut diff_ids: Vec<String> = kept_layers
        .iter()
        .map(|l| {
            l.diff_id.clone().ok_or_else(|| {
                Error::MalformedArchive(format!(
                    "the image's config names no diff ID for its layer {}, which the squash keeps",
                    l.member
                ))
            })
        })
        .collect::<Result<_>>()?;
    let wanted = Wanted {
        files: layer.wanted_files(),
        members: kept_layers.iter().map(|l| l.member.clone()).collect(),
    };
    let diff_id = match inputs {
        Inputs::Exported { files, kept_layers } => {
            // Progress counts the saved stream when it follows: nothing until then.
            let exporting = &mut |read| match kept_layers {
                Some(_) => progress(0),
                None => progress(read),
            };
            let diff_id = stream_layer(&mut layer, &names, files, &wanted, out, exporting)?;
            // The kept layers follow, as the saved stream brings them.
            match kept_layers {
                Some(saved) => reread::read_files(
                    saved,
                    &Wanted {
                        files: Default::default(),
                        members: wanted.members,
                    },
                    &mut |_, _| Ok(()),
                    &mut |name, size, content| copy_member(out, &names.kept(name), size, content),
                    progress,
                )?,
                None if kept > 0 => {
                    return Err(Error::InvalidInput(
                        "a partial squash needs the saved image for the layers it keeps".into(),
                    ))
                }
                None => {}
            }
            diff_id
        }
        Inputs::Saved(archive) if kept == 0 => {
            stream_layer(&mut layer, &names, archive, &wanted, out, progress)?
        }
        Inputs::Saved(archive) => {
            // The kept layers pass as the archive brings them; the new one needs bytes from all
            // over the archive and waits in a temp file (the OS's temp folder) until they have.
            let spilled = |e: io::Error| Error::Io {
                path: std::env::temp_dir(),
                source: e,
            };
            let mut spill = tempfile::tempfile().map_err(spilled)?;
            let mut buffered = io::BufWriter::new(&mut spill);
            let diff_id = fill_layer(
                &mut layer,
                archive,
                &wanted,
                &mut buffered,
                &mut |name, size, content| copy_member(out, &names.kept(name), size, content),
                progress,
            )?;
            buffered.flush().map_err(spilled)?;
            drop(buffered);
            spill.seek(io::SeekFrom::Start(0)).map_err(spilled)?;
            out.write_all(&tar_header::encode(&member(&names.layer, layer.size)))
                .map_err(outlet_error)?;
            io::copy(&mut spill, out).map_err(spilled)?;
            out.pad().map_err(outlet_error)?;
            diff_id
        }
    };
    diff_ids.push(diff_id);
    let config = image_config::squashed(&source.config, plan, &diff_ids, created)?;
    let mut layers: Vec<String> = kept_layers.iter().map(|l| names.kept(&l.member)).collect();
    layers.push(names.layer.clone());
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": names.config,
        "RepoTags": null,
        "Layers": layers,
    }]))
    .map_err(|e| Error::Stream(e.to_string()))?;
    for (name, bytes) in [(names.config.as_str(), config), ("manifest.json", manifest)] {
        out.write_all(&tar_header::encode(&member(name, bytes.len() as u64)))
            .and_then(|()| out.write_all(&bytes))
            .and_then(|()| out.pad())
            .map_err(outlet_error)?;
    }
    out.write_all(&[0u8; 1024]).map_err(outlet_error)
}

/// Writes the squashed layer into the archive as a member as it is made from `archive` (its
/// size, stated first, was added up beforehand), with nothing else of `archive` taken. Returns
/// the layer's diff ID.
fn stream_layer<W: Write>(
    layer: &mut FlatLayer,
    names: &MemberNames,
    archive: impl Read,
    wanted: &Wanted,
    out: &mut Counted<W>,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<String> {
    out.write_all(&tar_header::encode(&member(&names.layer, layer.size)))
        .map_err(outlet_error)?;
    let no_members = &mut |_: &str, _: u64, _: &mut dyn Read| Ok(());
    let diff_id = fill_layer(layer, archive, wanted, out, no_members, progress)?;
    out.pad().map_err(outlet_error)?;
    Ok(diff_id)
}

/// Writes the squashed layer's tar into `into` from `archive` (the second reading of the saved
/// image, which also hands `take_member` the members wanted whole, or the container's export).
/// Returns the layer's diff ID.
fn fill_layer(
    layer: &mut FlatLayer,
    archive: impl Read,
    wanted: &Wanted,
    into: &mut impl Write,
    take_member: &mut dyn FnMut(&str, u64, &mut dyn Read) -> Result<()>,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<String> {
    let mut hashed = Hashed {
        inner: into,
        hasher: Sha256::new(),
        written: 0,
    };
    layer.write_upfront(&mut hashed).map_err(outlet_error)?;
    let feed = layer.feed();
    let take_file = &mut |found: &FoundFile, content: &mut dyn Read| {
        layer.write_file(found, content, &mut hashed)
    };
    match feed {
        Feed::Saved => reread::read_files(archive, wanted, take_file, take_member, progress)?,
        Feed::Exported => {
            let nothing = HashSet::new();
            let paths = wanted.files.get(EXPORTED).unwrap_or(&nothing);
            reread::read_exported_files(archive, paths, take_file, progress)?
        }
    }
    layer.write_links(&mut hashed)?;
    if hashed.written != layer.size {
        // A bug here, never the user's: the archive would be corrupt, so it is not sent.
        return Err(Error::Stream(format!(
            "the squashed layer came to {} bytes, not the {} planned",
            hashed.written, layer.size
        )));
    }
    Ok(sha256_text(hashed.hasher.finalize().into()))
}

/// The names of the members, unique to one load.
struct MemberNames {
    token: String,
    layer: String,
    config: String,
}

impl MemberNames {
    fn new() -> Self {
        static LOADS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let load = LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("squashbox-{}-{load}-{nanos}", std::process::id());
        MemberNames {
            layer: format!("{token}/layer.tar"),
            config: format!("{token}/config.json"),
            token,
        }
    }

    /// The name a kept layer goes by, from its member in the saved archive.
    fn kept(&self, member: &str) -> String {
        format!(
            "{}/kept-{}",
            self.token,
            hex(&Sha256::digest(member.as_bytes()))
        )
    }
}

/// A member of the archive for `docker load`.
fn member(name: &str, size: u64) -> Header<'_> {
    Header {
        path: name,
        kind: Kind::File,
        size,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: Mtime::default(),
        link: None,
        records: Vec::new(),
    }
}

/// Copies a member of the saved archive (a kept layer) into the archive under `name`.
fn copy_member<W: Write>(
    out: &mut Counted<W>,
    name: &str,
    size: u64,
    content: &mut dyn Read,
) -> Result<()> {
    out.write_all(&tar_header::encode(&member(name, size)))
        .and_then(|()| io::copy(&mut content.take(size), out).map(drop))
        .and_then(|()| out.pad())
        .map_err(outlet_error)
}

fn outlet_error(e: io::Error) -> Error {
    Error::Stream(format!("sending the squashed image to Docker: {e}"))
}

/// Posts the archive that arrives through `body` to `/images/load` and returns the ID of the
/// image the daemon loaded.
async fn load(daemon: &Daemon, body: mpsc::Receiver<io::Result<Bytes>>) -> Result<String> {
    let chunks = futures_util::stream::unfold(body, |mut body| async move {
        body.recv().await.map(|chunk| (chunk, body))
    });
    let loader = daemon.docker().clone().with_timeout(LOAD_TIMEOUT);
    let options = bollard::query_parameters::ImportImageOptions {
        quiet: true,
        ..Default::default()
    };
    let mut answers = loader.import_image_stream(options, chunks, None);
    let mut loaded = None;
    while let Some(answer) = answers.next().await {
        let answer = answer.map_err(|e| match e {
            bollard::errors::Error::DockerStreamError { error } => Error::Daemon {
                status: 500,
                message: error,
            },
            other => Error::from_docker(other),
        })?;
        let text = answer.stream.unwrap_or_default();
        for line in text.lines() {
            if let Some(name) = line
                .strip_prefix("Loaded image ID: ")
                .or_else(|| line.strip_prefix("Loaded image: "))
            {
                loaded = Some(name.trim().to_owned());
            }
        }
    }
    let loaded = loaded.ok_or_else(|| {
        Error::Stream("Docker loaded the squashed image but did not say which it is".into())
    })?;
    // Some engines answer with a name rather than the ID.
    let image = crate::images::inspect(daemon, &loaded).await?;
    image
        .id
        .ok_or_else(|| Error::Stream("the loaded image has no ID".into()))
}

/// Hashes and counts the layer's bytes on their way out: the diff ID is their SHA-256.
struct Hashed<'o, W> {
    inner: &'o mut W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for Hashed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(buf)?;
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts the archive's bytes, for the padding between members.
struct Counted<'o, W> {
    inner: &'o mut W,
    written: u64,
}

impl<W> Counted<'_, W>
where
    Self: Write,
{
    /// Zeros up to the next 512-byte boundary, where the next member starts.
    fn pad(&mut self) -> io::Result<()> {
        let padding = tar_header::padded(self.written) - self.written;
        self.write_all(&vec![0u8; padding as usize])
    }
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The archive on its way out: in chunks to the load's request body, and the same chunks to
/// the reader that snapshots what was sent.
struct Outlet {
    body: mpsc::Sender<io::Result<Bytes>>,
    check: mpsc::Sender<Batch>,
    buffer: Vec<u8>,
    /// The load's request body found no reader: the daemon answered (or failed) already.
    docker_stopped_reading: bool,
}

impl Outlet {
    fn new(body: mpsc::Sender<io::Result<Bytes>>, check: mpsc::Sender<Batch>) -> Self {
        Outlet {
            body,
            check,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            docker_stopped_reading: false,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        if self.body.blocking_send(Ok(chunk.clone())).is_err() {
            self.docker_stopped_reading = true;
            return Err(io::Error::other("Docker stopped reading the image"));
        }
        // The snapshot is a check: if it stopped, its own result says why.
        let _ = self.check.blocking_send(Ok(vec![chunk]));
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.send().map_err(outlet_error)
    }

    /// Ends the request body with an error, so the daemon drops what it received.
    fn abort(&self, why: &Error) {
        let _ = self
            .body
            .blocking_send(Err(io::Error::other(why.to_string())));
        let _ = self
            .check
            .blocking_send(Err(io::Error::other(why.to_string())));
    }
}

impl Write for Outlet {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Now, as RFC 3339 in UTC (`2026-12-02T07:15:00Z`), for the config's `created`.
fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The calendar date of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{compare, EntryKind, FsComparison, FsEntry, MtimeCheck};
    use crate::squash::plan::KeyValue;

    /// A tar member (or layer entry) with `content`, and PAX `records` before it.
    fn put(
        tar: &mut tar::Builder<Vec<u8>>,
        path: &str,
        kind: tar::EntryType,
        content: &[u8],
        link: Option<&str>,
        records: &[(&str, &[u8])],
    ) {
        if !records.is_empty() {
            tar.append_pax_extensions(records.iter().copied()).unwrap();
        }
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_mtime(1_600_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(content.len() as u64);
        if let Some(link) = link {
            header.set_link_name(link).unwrap();
        }
        tar.append_data(&mut header, path, content).unwrap();
    }

    fn layers() -> Vec<Vec<u8>> {
        use tar::EntryType as T;
        let mut base = tar::Builder::new(Vec::new());
        put(&mut base, "etc/", T::Directory, b"", None, &[]);
        put(&mut base, "etc/a", T::Regular, b"one", None, &[]);
        put(
            &mut base,
            "etc/gone",
            T::Regular,
            b"wasted bytes",
            None,
            &[],
        );
        put(&mut base, "pipe", T::Fifo, b"", None, &[]);
        put(&mut base, "link", T::Symlink, b"", Some("etc/a"), &[]);
        put(&mut base, "d/old", T::Regular, b"old", None, &[]);
        put(
            &mut base,
            "deep/er/file",
            T::Regular,
            b"implicit parents",
            None,
            &[],
        );
        let mut top = tar::Builder::new(Vec::new());
        put(&mut top, "etc/.wh.gone", T::Regular, b"", None, &[]);
        let records: &[(&str, &[u8])] = &[
            ("mtime", b"1700000000.123456789"),
            ("SCHILY.xattr.user.note", b"kept\x00binary"),
        ];
        put(
            &mut top,
            "etc/a",
            T::Regular,
            b"two, and longer",
            None,
            records,
        );
        put(&mut top, "etc/b", T::Link, b"", Some("etc/a"), &[]);
        put(&mut top, "d/", T::Directory, b"", None, &[]);
        put(&mut top, "d/.wh..wh..opq", T::Regular, b"", None, &[]);
        put(&mut top, "d/new", T::Regular, b"new", None, &[]);
        vec![base.into_inner().unwrap(), top.into_inner().unwrap()]
    }

    /// A `docker save` archive of the legacy layout holding `layers`.
    fn saved(layers: &[Vec<u8>]) -> Vec<u8> {
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| sha256_text(Sha256::digest(l).into()))
            .collect();
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": "one"}, {"created_by": "two"}],
        });
        let members: Vec<String> = (0..layers.len())
            .map(|i| format!("l{i}/layer.tar"))
            .collect();
        let manifest = serde_json::json!([
            {"Config": "config.json", "RepoTags": ["app:1"], "Layers": members}
        ]);
        let mut archive = tar::Builder::new(Vec::new());
        for (name, layer) in members.iter().zip(layers) {
            put(
                &mut archive,
                name,
                tar::EntryType::Regular,
                layer,
                None,
                &[],
            );
        }
        let config = serde_json::to_vec(&config).unwrap();
        put(
            &mut archive,
            "config.json",
            tar::EntryType::Regular,
            &config,
            None,
            &[],
        );
        let manifest = serde_json::to_vec(&manifest).unwrap();
        put(
            &mut archive,
            "manifest.json",
            tar::EntryType::Regular,
            &manifest,
            None,
            &[],
        );
        archive.into_inner().unwrap()
    }

    fn plan() -> SquashPlan {
        SquashPlan {
            source_id: format!("sha256:{}", "0".repeat(64)),
            source_name: "app:1".into(),
            tag: "app:1-squashed".into(),
            env: vec![KeyValue {
                key: "PATH".into(),
                value: "/bin".into(),
            }],
            cmd: Some(vec!["sh".into()]),
            ..SquashPlan::default()
        }
    }

    fn read(archive: &[u8]) -> FsSnapshot {
        snapshot_archive(archive, &mut |_| ControlFlow::Continue(())).unwrap()
    }

    /// The archive for `docker load` that the direct method writes from `archive`, read again,
    /// for `source` (a snapshot of some archive) on top of `base`.
    fn write(archive: &[u8], source: &FsSnapshot, base: Option<&FsSnapshot>) -> Result<Vec<u8>> {
        write_from(Inputs::Saved(archive), source, base)
    }

    /// The same, from `inputs`.
    fn write_from(
        inputs: Inputs<&[u8]>,
        source: &FsSnapshot,
        base: Option<&FsSnapshot>,
    ) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let progress = &mut |_| ControlFlow::Continue(());
        write_archive(
            inputs,
            progress,
            source,
            base,
            &plan(),
            "2026-12-02T00:00:00Z",
            &mut out,
        )?;
        Ok(out)
    }

    fn squashed(archive: &[u8]) -> Vec<u8> {
        write(archive, &read(archive), None).unwrap()
    }

    #[test]
    fn the_written_image_has_the_sources_filesystem_in_one_layer() {
        let archive = saved(&layers());
        let source = read(&archive);
        let result = read(&squashed(&archive));
        let cancel = CancelToken::new();
        let compared = compare(&source, &result, MtimeCheck::Exact, &cancel).unwrap();
        assert_eq!(compared, FsComparison::default());
        assert_eq!(result.layers.len(), 1);
        assert_eq!(
            result.entries.keys().collect::<Vec<_>>(),
            source.entries.keys().collect::<Vec<_>>()
        );
        // What compare does not look at is kept too: every time to the nanosecond.
        for (path, entry) in &source.entries {
            assert_eq!(result.entries[path].mtime, entry.mtime, "{path}");
        }
        assert_eq!(result.entries["/etc/a"].mtime.unwrap().nanos, 123_456_789);
        assert_eq!(result.entries["/pipe"].kind, EntryKind::Fifo);
        assert_eq!(
            result.hard_links_of("/etc/b").unwrap(),
            ["/etc/a", "/etc/b"]
        );
        assert!(!result.entries.contains_key("/etc/gone"));
        assert!(!result.entries.contains_key("/d/old"));
        // Made to hold a deeper entry in the source, and again in the result.
        assert_eq!(result.entries["/deep/er"].layer, None);
    }

    #[test]
    fn the_config_names_the_layer_by_the_hash_of_its_bytes() {
        let out = squashed(&saved(&layers()));
        let mut archive = tar::Archive::new(out.as_slice());
        let mut members = std::collections::HashMap::new();
        for member in archive.entries().unwrap() {
            let mut member = member.unwrap();
            let name = member.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            members.insert(name, bytes);
        }
        let manifest: serde_json::Value =
            serde_json::from_slice(&members["manifest.json"]).unwrap();
        let (config, layer) = (
            manifest[0]["Config"].as_str().unwrap(),
            manifest[0]["Layers"][0].as_str().unwrap(),
        );
        assert!(config.ends_with("/config.json") && layer.ends_with("/layer.tar"));
        let config: serde_json::Value = serde_json::from_slice(&members[config]).unwrap();
        let layer_hash = sha256_text(Sha256::digest(&members[layer]).into());
        assert_eq!(
            config["rootfs"]["diff_ids"],
            serde_json::json!([layer_hash])
        );
        assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
        assert_eq!(manifest[0]["Layers"].as_array().unwrap().len(), 1);
    }

    /// The members of an archive, by name.
    fn members(archive: &[u8]) -> std::collections::HashMap<String, Vec<u8>> {
        let mut reader = tar::Archive::new(archive);
        let mut found = std::collections::HashMap::new();
        for member in reader.entries().unwrap() {
            let mut member = member.unwrap();
            let name = member.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            found.insert(name, bytes);
        }
        found
    }

    /// The names in a layer tar, in order.
    fn names_in(layer: &[u8]) -> Vec<String> {
        let mut reader = tar::Archive::new(layer);
        let entries = reader.entries().unwrap();
        entries
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_partial_squash_keeps_the_base_byte_for_byte_and_writes_what_changed_above_it() {
        use tar::EntryType as T;
        let mut layers = layers();
        // A third layer, so that two are squashed above the kept one.
        let mut third = tar::Builder::new(Vec::new());
        put(&mut third, "later", T::Regular, b"third", None, &[]);
        layers.push(third.into_inner().unwrap());
        let archive = saved(&layers);
        let (base, source) = crate::audit::snapshots_around(archive.as_slice(), 1, &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
        let files = exported_with(b"two, and longer", &[("later", b"third")]);
        let from_export = Inputs::Exported {
            files: files.as_slice(),
            kept_layers: Some(archive.as_slice()),
        };
        for inputs in [Inputs::Saved(archive.as_slice()), from_export] {
            assert_partial(
                &layers,
                &source,
                write_from(inputs, &source, Some(&base)).unwrap(),
            );
        }
    }

    /// Checks `out`, the partial squash of `layers` (whose filesystem is `source`) keeping the
    /// first one.
    fn assert_partial(layers: &[Vec<u8>], source: &FsSnapshot, out: Vec<u8>) {
        let result = read(&out);
        assert_eq!(
            compare(source, &result, MtimeCheck::Exact, &CancelToken::new()).unwrap(),
            FsComparison::default()
        );
        let found = members(&out);
        let manifest: serde_json::Value = serde_json::from_slice(&found["manifest.json"]).unwrap();
        let listed: Vec<&str> = manifest[0]["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(listed.len(), 2);
        assert_eq!(found[listed[0]], layers[0], "the kept layer, byte for byte");
        let config: serde_json::Value =
            serde_json::from_slice(&found[manifest[0]["Config"].as_str().unwrap()]).unwrap();
        let base_id = sha256_text(Sha256::digest(&layers[0]).into());
        assert_eq!(config["rootfs"]["diff_ids"][0], base_id.as_str());
        // Above it: what the two squashed layers did, as markers where they took away.
        let top = names_in(&found[listed[1]]);
        for name in [
            "d/.wh..wh..opq",
            "etc/.wh.gone",
            "etc/a",
            "etc/b",
            "d/new",
            "later",
        ] {
            assert!(top.iter().any(|n| n == name), "{name} not in {top:?}");
        }
        for unchanged in ["pipe", "link", "deep/er/file", "d/.wh.old"] {
            assert!(
                !top.iter().any(|n| n == unchanged),
                "{unchanged} is the base's"
            );
        }
    }

    #[test]
    fn a_name_that_is_not_utf8_is_refused_before_anything_is_written() {
        let mut layer = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        // Written into the header's name field directly: `set_path` takes an OsStr, which can
        // hold these bytes only on Unix, and the test runs on Windows too.
        let name = b"latin1-caf\xe9";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(2);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        layer.append(&header, b"hi".as_slice()).unwrap();
        let archive = saved(&[layer.into_inner().unwrap()]);
        let source = read(&archive);
        let mut out = Vec::new();
        let err = write_archive(
            Inputs::Saved(archive.as_slice()),
            &mut |_| ControlFlow::Continue(()),
            &source,
            None,
            &plan(),
            "now",
            &mut out,
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        assert!(out.is_empty(), "nothing was sent");
    }

    #[test]
    fn a_second_reading_that_differs_from_the_first_is_refused() {
        let archive = saved(&layers());
        let source = read(&archive);
        let mut changed = layers();
        changed[1] = {
            let mut top = tar::Builder::new(Vec::new());
            put(
                &mut top,
                "etc/a",
                tar::EntryType::Regular,
                b"other size",
                None,
                &[],
            );
            top.into_inner().unwrap()
        };
        let err = write(&saved(&changed), &source, None).unwrap_err();
        assert!(matches!(err, Error::MalformedArchive(_)), "{err}");
    }

    /// What `docker export` of a container made from the image of [`layers`] gives: the merged
    /// tree, whole-second times, no xattrs, the runtime's files, and the hard-linked pair
    /// walked from its other name. `etc_a` is `/etc/a`'s content.
    fn exported(etc_a: &[u8]) -> Vec<u8> {
        exported_with(etc_a, &[])
    }

    /// The same with more regular files.
    fn exported_with(etc_a: &[u8], more: &[(&str, &[u8])]) -> Vec<u8> {
        use tar::EntryType as T;
        let mut tar = tar::Builder::new(Vec::new());
        for (path, content) in more {
            put(&mut tar, path, T::Regular, content, None, &[]);
        }
        put(&mut tar, ".dockerenv", T::Regular, b"", None, &[]);
        put(&mut tar, "d/", T::Directory, b"", None, &[]);
        put(&mut tar, "d/new", T::Regular, b"new", None, &[]);
        put(&mut tar, "deep/", T::Directory, b"", None, &[]);
        put(&mut tar, "deep/er/", T::Directory, b"", None, &[]);
        let deep = b"implicit parents";
        put(&mut tar, "deep/er/file", T::Regular, deep, None, &[]);
        put(&mut tar, "etc/", T::Directory, b"", None, &[]);
        put(&mut tar, "etc/b", T::Regular, etc_a, None, &[]);
        put(&mut tar, "etc/a", T::Link, b"", Some("etc/b"), &[]);
        put(&mut tar, "etc/hosts", T::Regular, b"", None, &[]);
        put(&mut tar, "link", T::Symlink, b"", Some("etc/a"), &[]);
        put(&mut tar, "pipe", T::Fifo, b"", None, &[]);
        tar.into_inner().unwrap()
    }

    #[test]
    fn an_export_gives_the_bytes_and_the_snapshot_everything_else() {
        let source = read(&saved(&layers()));
        let files = exported(b"two, and longer");
        let inputs = Inputs::Exported {
            files: files.as_slice(),
            kept_layers: None,
        };
        let written = write_from(inputs, &source, None).unwrap();
        let result = read(&written);
        let cancel = CancelToken::new();
        let compared = compare(&source, &result, MtimeCheck::Exact, &cancel).unwrap();
        assert_eq!(compared, FsComparison::default());
        // Nothing of the runtime's; every time and xattr the layers', not the export's.
        let from_layers = |entry: &FsEntry| FsEntry {
            layer: None,
            bytes_from: None,
            ..entry.clone()
        };
        let entries = |files: &FsSnapshot| {
            files
                .entries
                .iter()
                .map(|(path, entry)| (path.clone(), from_layers(entry)))
                .collect::<Vec<_>>()
        };
        assert_eq!(entries(&result), entries(&source));
        assert_eq!(result.hard_link_groups, source.hard_link_groups);
        assert!(!result.entries.contains_key("/.dockerenv"));
    }

    #[test]
    fn an_export_that_differs_from_the_layers_is_refused() {
        let source = read(&saved(&layers()));
        let from_export = |files: &[u8]| {
            let inputs = Inputs::Exported {
                files,
                kept_layers: None,
            };
            write_from(inputs, &source, None)
        };
        let err = from_export(&exported(b"other size")).unwrap_err();
        assert!(matches!(err, Error::MalformedArchive(_)), "{err}");
        assert!(err.to_string().contains("container's export"), "{err}");
        // A file the layers hold that the export lacks.
        let mut cut = exported(b"two, and longer");
        cut.truncate(512);
        let err = from_export(&cut).unwrap_err();
        assert!(matches!(err, Error::MalformedArchive(_)), "{err}");
    }

    #[test]
    fn an_export_is_used_unless_the_image_has_a_runtime_file_of_its_own() {
        let source = read(&saved(&layers()));
        assert!(exportable(&source));
        let mut own = tar::Builder::new(Vec::new());
        put(
            &mut own,
            "etc/hosts",
            tar::EntryType::Regular,
            b"10.0.0.1 db",
            None,
            &[],
        );
        let source = read(&saved(&[own.into_inner().unwrap()]));
        assert!(!exportable(&source));
    }

    #[test]
    fn days_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
