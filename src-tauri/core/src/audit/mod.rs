//! The image audit: where an image's bytes go, read from the stream `docker save` writes.
//!
//! The archive is read once, front to back, keeping only metadata (paths, types, sizes),
//! never file contents, so memory grows with the number of files, not with the image's size.
//!
//! ```no_run
//! # fn demo(saved_image: std::fs::File) -> squashbox_core::Result<()> {
//! use std::ops::ControlFlow;
//! let report = squashbox_core::audit::audit_archive(saved_image, &mut |bytes_read| {
//!     println!("{bytes_read} bytes read");
//!     ControlFlow::Continue(()) // Break(()) cancels
//! })?;
//! println!("{} of {} bytes reclaimable", report.reclaimable_bytes, report.layer_bytes);
//! # Ok(()) }
//! ```
//!
//! What counts as a byte: the content size of regular files (for a sparse file, its logical
//! size, what `ls -l` shows). Directories, symlinks, device nodes and tar headers count 0, and
//! a hard link counts 0 beside its target: a hard-link group's bytes count once. This is close
//! to, but not the same as, Docker's layer sizes, which are the unpacked diffs' disk usage.
//!
//! The same reading, with metadata and content hashes switched on, makes a [`FsSnapshot`] of
//! the final filesystem; [`compare`] checks a squashed image against its source with two of
//! them (modification times as closely as a [`MtimeCheck`] says), and [`snapshot_image`] makes
//! one from the daemon.

mod archive;
mod base;
mod diff;
pub mod export;
mod from_daemon;
mod layer;
mod members;
mod merge;
mod path_tree;
pub mod reread;
mod snapshot;
mod tree;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::ops::ControlFlow;
use std::sync::Arc;
use ts_rs::TS;

use crate::error::Result;

pub use diff::{
    compare, compare_on_blocking_pool, Difference, DifferenceKind, FsComparison, LostMtimes,
    MtimeCheck, MtimeLoss,
};
pub(crate) use diff::{hex, sha256_text};
pub use from_daemon::{audit_image, audit_image_with_files, snapshot_image, AuditedImage};
pub(crate) use from_daemon::{read_archive, read_saved, reader_of, Batch, ChannelReader};
pub use snapshot::{BytesFrom, EntryKind, FsEntry, FsSnapshot, Mtime, SavedLayer};

use layer::Reading;

/// Audits the image in `reader`, a `docker save` archive of one image (with several, the first
/// listed). `progress` hears the number of bytes read so far every 256 KiB and at the end,
/// then that total again now and then while the layers are stacked and the report is made;
/// returning `Break` stops the audit with [`Error::Cancelled`](crate::Error::Cancelled).
///
/// Errors: [`Error::MalformedArchive`](crate::Error::MalformedArchive) for anything that is not
/// a whole image archive, [`Error::Stream`](crate::Error::Stream) when `reader` fails.
pub fn audit_archive<R: Read>(
    reader: R,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<AuditReport> {
    merged(reader, Reading::Sizes, progress, |stack, _, checkpoint| {
        stack.finish(checkpoint)
    })
}

/// The final filesystem of the image in `reader`, entry by entry (see [`FsSnapshot`] for what
/// is kept and what is not). Reads like [`audit_archive`], with the same progress, cancel and
/// errors, and also hashes every regular file's content as it streams by: it costs more CPU
/// than an audit, and no more memory than one entry's metadata per path.
pub fn snapshot_archive<R: Read>(
    reader: R,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<FsSnapshot> {
    merged(
        reader,
        Reading::Everything,
        progress,
        |stack, read, checkpoint| stack.snapshot(read, checkpoint),
    )
}

/// What an audit with files keeps beside its report: the final filesystem, and the filesystem
/// of the base image's layers when the history names them (see [`AuditReport::base_layers`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFiles {
    pub files: Arc<FsSnapshot>,
    /// How many layers the base is, and the filesystem they make: a partial squash keeping
    /// them needs no reading of its own to find what the layers above took away.
    pub base: Option<(u32, Arc<FsSnapshot>)>,
}

/// Both of the above from one reading: the audit of the image in `reader` and its final
/// filesystem, with the base image's too. An audit made this way spares a squash's
/// verification a second read of the source; it costs the hashing, which runs while the
/// reader waits for the daemon anyway.
pub fn audit_archive_with_files<R: Read>(
    reader: R,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<(AuditReport, AuditFiles)> {
    let base_of = |config: &archive::ConfigFacts, _: usize| Ok(config.base_layers);
    stacked(
        reader,
        Reading::Everything,
        base_of,
        progress,
        |stack, base, read, checkpoint| {
            let files = stack.snapshot(read, checkpoint)?;
            let report = stack.finish(checkpoint)?;
            let base = report.base_layers.zip(base.map(Arc::new));
            let files = Arc::new(files);
            Ok((report, AuditFiles { files, base }))
        },
    )
}

/// The filesystem after the image's first `base` layers and its final one, from one reading:
/// what a partial squash, which keeps those layers and puts one on top, writes the difference
/// of. Reads like [`snapshot_archive`]; `base` must leave at least one layer above it.
pub fn snapshots_around<R: Read>(
    reader: R,
    base: usize,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<(FsSnapshot, FsSnapshot)> {
    let base_of = |_: &archive::ConfigFacts, layers: usize| {
        if base == 0 || base >= layers {
            return Err(crate::Error::InvalidInput(format!(
                "the image has {layers} layers: keep from 1 to {} of them",
                layers.saturating_sub(1)
            )));
        }
        Ok(u32::try_from(base).ok())
    };
    stacked(
        reader,
        Reading::Everything,
        base_of,
        progress,
        |stack, below, read, checkpoint| {
            Ok((below.unwrap_or_default(), stack.snapshot(read, checkpoint)?))
        },
    )
}

/// Every layer of the image in `reader`, stacked and handed to `finish` with the number of
/// bytes read.
fn merged<R: Read, T>(
    reader: R,
    reading: Reading,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    finish: impl FnOnce(merge::Stack, u64, &mut merge::Checkpoint) -> Result<T>,
) -> Result<T> {
    let no_base = |_: &archive::ConfigFacts, _: usize| Ok(None);
    stacked(
        reader,
        reading,
        no_base,
        progress,
        |stack, _, read, checkpoint| finish(stack, read, checkpoint),
    )
}

/// Every layer of the image in `reader`, stacked and handed to `finish` with the filesystem
/// after the first layers `base_of` names (from the config and the number of layers; `None`
/// for no such snapshot), and the number of bytes read.
fn stacked<R: Read, T>(
    reader: R,
    reading: Reading,
    base_of: impl FnOnce(&archive::ConfigFacts, usize) -> Result<Option<u32>>,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
    finish: impl FnOnce(merge::Stack, Option<FsSnapshot>, u64, &mut merge::Checkpoint) -> Result<T>,
) -> Result<T> {
    let mut read = 0;
    let (layers, config) = archive::read_image(reader, reading, &mut |bytes| {
        read = bytes;
        progress(bytes)
    })?;
    let base = base_of(&config, layers.len())?.map(|n| n as usize);
    // Nothing more is read: the caller hears the same total, and may still cancel.
    let mut again = || progress(read);
    let mut checkpoint = merge::Checkpoint::new(&mut again);
    let mut stack = merge::Stack::with_config(config);
    let mut below = None;
    for (index, layer) in layers.into_iter().enumerate() {
        if Some(index) == base {
            below = Some(stack.snapshot(read, &mut checkpoint)?);
        }
        stack.apply(layer, &mut checkpoint)?;
    }
    finish(stack, below, read, &mut checkpoint)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditReport {
    /// Bytes of regular files summed over every layer: what the layers hold.
    #[ts(type = "number")]
    pub layer_bytes: u64,
    /// Bytes of the final, merged filesystem: what a container sees.
    #[ts(type = "number")]
    pub filesystem_bytes: u64,
    /// Layer bytes minus filesystem bytes: what squashing the layers into one would save.
    #[ts(type = "number")]
    pub reclaimable_bytes: u64,
    /// Bytes of every version of a file that does not survive into the final filesystem,
    /// overwritten or deleted by a later layer. Unlike dive's "potential wasted space", the
    /// surviving copy is not counted (dive issue #684). It equals the reclaimable bytes by
    /// construction: each lost byte is charged to the one path that wrote it.
    #[ts(type = "number")]
    pub wasted_bytes: u64,
    /// dive's image efficiency score, from 0 to 1: per path, the smallest size any layer gave
    /// it, summed, over the sum of every size every layer gave it. dive looks at the leaves of
    /// each layer's tree; it sizes a whiteout by the directory it deletes and a deleted file
    /// as 0 (so every byte that file had counts against the score), and it ignores opaque
    /// markers. 1 for an image with no bytes.
    pub efficiency: f64,
    /// In image order, base first.
    pub layers: Vec<LayerAudit>,
    /// How many of the first layers the base image gave, as far as the history says (see the
    /// `base` module): what a partial squash would keep. `None` when it does not say.
    #[serde(default)]
    pub base_layers: Option<u32>,
    /// The paths with the most wasted bytes, largest first (ties by path), at most 100.
    pub wasted_files: Vec<WastedFile>,
    /// The final filesystem by directory, cut down for drawing.
    pub tree: TreeNode,
    pub special_files: SpecialFiles,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LayerAudit {
    /// Position in the image, 0 for the base layer.
    pub index: u32,
    /// The layer's diff ID (`sha256:…` of the uncompressed tar), from the image config.
    pub digest: Option<String>,
    /// The build step that made the layer, from the config's history.
    pub created_by: Option<String>,
    /// Bytes of the regular files in this layer (hard links count 0).
    #[ts(type = "number")]
    pub bytes_added: u64,
    /// Non-directory entries at paths the layers below did not have.
    pub files_added: u32,
    /// Non-directory entries at paths the layers below had (as anything, directories too).
    pub files_changed: u32,
    /// Non-directory paths of the layers below that this layer removed: by whiteouts (every
    /// file under a deleted directory included), opaque directories, or by putting something
    /// of another type in their place (a file where a directory was takes the directory's
    /// files with it).
    pub files_removed: u32,
    /// Bytes this layer added that are gone from the final filesystem, overwritten or deleted
    /// by a later layer (or later in this layer). A file that is deleted but survives under
    /// another hard-linked name is not lost.
    #[ts(type = "number")]
    pub bytes_lost_later: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct WastedFile {
    pub path: String,
    /// Bytes of this path's versions that did not survive (see [`AuditReport::wasted_bytes`]).
    #[ts(type = "number")]
    pub wasted_bytes: u64,
    /// The layers that wrote or removed a version of this path, ascending.
    pub layers: Vec<u32>,
}

/// A node of the final filesystem. A directory's `children` are its biggest entries (at most
/// 50); `other` sums up the rest. Directories four levels below the root, and any left when
/// the whole tree reaches 3000 nodes, list no children: `other` has them all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TreeNode {
    /// The entry's name in its directory; `/` for the root.
    pub name: String,
    pub kind: TreeNodeKind,
    /// Bytes at or under this node, each hard-link group once.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Non-directory entries at or under this node.
    pub files: u32,
    pub children: Vec<TreeNode>,
    pub other: Option<OtherEntries>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum TreeNodeKind {
    #[default]
    Directory,
    /// Anything else: regular file, symlink, device node, FIFO.
    File,
}

/// The entries of a directory that are not listed as its children.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OtherEntries {
    /// How many entries of the directory this stands for.
    pub entries: u32,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Non-directory entries at or under them.
    pub files: u32,
}

/// Entries of the final filesystem that a squash has to recreate with care.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SpecialFiles {
    /// Character and block device nodes.
    pub devices: u32,
    pub fifos: u32,
    /// Files with a `security.capability` extended attribute (file capabilities).
    pub capabilities: u32,
}
