//! The one layer of a direct squash: every entry of the source's final filesystem, as the
//! snapshot of the source describes it, with each regular file's bytes taken from the layer
//! entry that wrote them.
//!
//! ```text
//! let layer = FlatLayer::plan(&source_snapshot, None, Feed::Saved)?;   // layer.size is known before writing
//! layer.write_upfront(&mut out)?;                   // root, directories, symlinks, devices…
//! // for each wanted file the second read of `docker save` (or the container's export) finds:
//! layer.write_file(&found, content, &mut out)?;
//! layer.write_links(&mut out)?;                     // hard links, then the end of the tar
//! ```
//!
//! Order: everything without bytes first, in path order, so a directory comes before what it
//! holds; then the regular files as the archive brings them; hard links last, when every name
//! they point at exists. Directories no layer describes (made to hold a deeper entry) are
//! left for the extraction to make again, as it made them for the source. Nothing a runtime
//! adds is here: only what the layers hold. Every header is the snapshot's; only the bytes of
//! regular files come from the feed, and only in the size the snapshot gave them.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};

use super::tar_header::{self, Header, Kind, BLOCK};
use crate::audit::reread::{FoundFile, EXPORTED};
use crate::audit::{EntryKind, FsEntry, FsSnapshot};
use crate::error::{Error, Result};

/// The end of a tar: two zero blocks.
const END_OF_ARCHIVE: u64 = 2 * BLOCK;

pub(super) struct FlatLayer<'s> {
    snapshot: &'s FsSnapshot,
    /// Written first, in path order: the root's entry when it is written, whiteouts and
    /// opaque markers, then every entry that carries no bytes.
    upfront: Vec<Upfront<'s>>,
    /// Archive member → path in that layer → the final path that gets those bytes.
    wanted: HashMap<String, HashMap<String, &'s str>>,
    /// The regular files still waiting for their bytes.
    waiting: HashSet<&'s str>,
    /// Hard links: the link's path and the path it names, both absolute.
    links: Vec<(&'s str, &'s str)>,
    /// The layer tar's size in bytes, end-of-archive blocks included.
    pub size: u64,
    feed: Feed,
}

/// Where the regular files' bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Feed {
    /// The source's `docker save` archive, read again: each file from the layer entry that
    /// wrote its final bytes.
    Saved,
    /// `docker export` of a container made from the source: each file at its own path, the
    /// layers already merged by the daemon.
    Exported,
}

impl Feed {
    fn reading(self) -> &'static str {
        match self {
            Feed::Saved => "the second reading of the image",
            Feed::Exported => "the container's export of the image",
        }
    }
}

/// An entry written before any file's bytes.
enum Upfront<'s> {
    /// The snapshot's entry at this absolute path; `""` for the root.
    Entry(&'s str),
    /// A whiteout or opaque marker (absolute path of the marker itself).
    Marker(String),
}

/// The layers kept as they are below a partial squash's layer, and the filesystem they make.
pub(super) struct Base<'s> {
    pub files: &'s FsSnapshot,
    /// How many of the source's layers it is.
    pub layers: u32,
}

impl<'s> FlatLayer<'s> {
    /// Works out the layer from `source`, a snapshot read from a saved archive (it knows
    /// which member holds each layer). Without a `base` it holds the whole filesystem; on top
    /// of one it holds what the layers above the base changed: their entries, a whiteout for
    /// each base path they deleted, and an opaque marker on a directory they replaced whole.
    /// `feed` says where the files' bytes will come from.
    pub fn plan(
        source: &'s FsSnapshot,
        base: Option<Base<'s>>,
        feed: Feed,
    ) -> Result<FlatLayer<'s>> {
        let mut layer = FlatLayer {
            snapshot: source,
            upfront: Vec::new(),
            wanted: HashMap::new(),
            waiting: HashSet::new(),
            links: Vec::new(),
            size: END_OF_ARCHIVE,
            feed,
        };
        let kept = base.as_ref().map_or(0, |b| b.layers);
        let from_above = |entry: &FsEntry| entry.layer.is_some_and(|l| l >= kept);
        if let Some(root) = &source.root {
            if base
                .as_ref()
                .is_none_or(|b| b.files.root.as_ref() != Some(root))
            {
                layer.size += tar_header::entry_size(&header("", root, None));
                layer.upfront.push(Upfront::Entry(""));
            }
        }
        if let Some(base) = &base {
            for marker in removals(base.files, source, kept) {
                layer.size += tar_header::entry_size(&marker_header(&marker));
                layer.upfront.push(Upfront::Marker(marker));
            }
        }
        for (path, entry) in &source.entries {
            refuse_changed_names(path, entry)?;
            let group = source.hard_links_of(path);
            if let Some(group) = group.filter(|_| base.is_some()) {
                let above = group
                    .iter()
                    .filter(|p| source.entries.get(*p).is_some_and(from_above))
                    .count();
                if above > 0 && above < group.len() {
                    return Err(Error::InvalidInput(format!(
                        "{path} is a hard link between a kept layer and one above it; keep fewer layers"
                    )));
                }
            }
            if !from_above(entry) {
                // Kept as the base has it, or a directory made to hold a deeper entry.
                continue;
            }
            // The first path of a hard-link group carries the inode; the others name it.
            if let Some(first) = group
                .and_then(|group| group.first())
                .filter(|first| *first != path)
            {
                let link = header(path, entry, Some(first));
                layer.size += tar_header::entry_size(&Header {
                    kind: Kind::HardLink,
                    size: 0,
                    ..link
                });
                layer.links.push((path, first));
                // An export gives the inode's bytes under whichever of its names it walks to
                // first, and names the others as links to it.
                if feed == Feed::Exported {
                    layer.want_exported(path, first);
                }
                continue;
            }
            layer.size += tar_header::entry_size(&header(path, entry, None));
            match (&entry.bytes_from, entry.size) {
                (Some(_), size) if size > 0 && feed == Feed::Exported => {
                    layer.want_exported(path, path);
                    layer.waiting.insert(path);
                }
                (Some(from), size) if size > 0 => {
                    let member = source
                        .layers
                        .get(from.layer as usize)
                        .map(|l| l.member.clone())
                        .ok_or_else(|| {
                            Error::MalformedArchive(format!(
                                "{path} comes from layer {}, which the image does not list",
                                from.layer
                            ))
                        })?;
                    let taken = layer
                        .wanted
                        .entry(member)
                        .or_default()
                        .insert(from.path.clone(), path);
                    if taken.is_some() {
                        // Two inodes from one entry: a layer listed twice in the manifest.
                        return Err(Error::InvalidInput(format!(
                            "{path} shares its bytes with another file that is not a hard link of it; the direct method cannot copy that (the multi-stage method can)"
                        )));
                    }
                    layer.waiting.insert(path);
                }
                _ => layer.upfront.push(Upfront::Entry(path)),
            }
        }
        Ok(layer)
    }

    pub fn feed(&self) -> Feed {
        self.feed
    }

    /// Takes the bytes the export brings at `path` for the file at `carrier` (the path itself,
    /// or the first of its hard links).
    fn want_exported(&mut self, path: &str, carrier: &'s str) {
        self.wanted
            .entry(EXPORTED.to_owned())
            .or_default()
            .insert(relative(path).to_owned(), carrier);
    }

    /// The layer members and paths whose bytes the layer needs: what to read again.
    pub fn wanted_files(&self) -> HashMap<String, HashSet<String>> {
        self.wanted
            .iter()
            .map(|(member, paths)| (member.clone(), paths.keys().cloned().collect()))
            .collect()
    }

    /// Writes every entry that carries no bytes.
    pub fn write_upfront(&self, out: &mut impl Write) -> io::Result<()> {
        for upfront in &self.upfront {
            let blocks = match upfront {
                Upfront::Marker(marker) => tar_header::encode(&marker_header(marker)),
                Upfront::Entry(path) => {
                    let entry = match *path {
                        "" => self.snapshot.root.as_ref(),
                        path => self.snapshot.entries.get(path),
                    };
                    let Some(entry) = entry else { continue };
                    tar_header::encode(&header(path, entry, None))
                }
            };
            out.write_all(&blocks)?;
        }
        Ok(())
    }

    /// Writes the file whose bytes `found` holds, reading them from `content`. Fails when the
    /// bytes are not the ones the snapshot saw (their size) or a path came twice.
    pub fn write_file(
        &mut self,
        found: &FoundFile,
        content: &mut dyn Read,
        out: &mut impl Write,
    ) -> Result<()> {
        let Some(&path) = self
            .wanted
            .get(found.member)
            .and_then(|paths| paths.get(found.path))
        else {
            return Ok(());
        };
        let entry = self.snapshot.entries.get(path).ok_or_else(|| {
            Error::MalformedArchive(format!("{path} is not in the image's filesystem"))
        })?;
        if !self.waiting.remove(path) {
            if self.feed == Feed::Exported {
                // The same inode under another of its names: its bytes are written.
                return Ok(());
            }
            return Err(Error::InvalidInput(format!(
                "layer {} names {} twice; the direct method cannot tell which copy is the final one (the multi-stage method can)",
                found.member, found.path
            )));
        }
        if found.size != entry.size {
            return Err(Error::MalformedArchive(format!(
                "{path} has {} bytes in {} and {} in the image's layers",
                found.size,
                self.feed.reading(),
                entry.size
            )));
        }
        let io_error = |e: io::Error| Error::Stream(format!("writing {path}: {e}"));
        out.write_all(&tar_header::encode(&header(path, entry, None)))
            .map_err(io_error)?;
        let copied = io::copy(&mut content.take(entry.size), out).map_err(io_error)?;
        if copied != entry.size {
            return Err(Error::MalformedArchive(format!(
                "{} ends in the middle of {path}",
                self.feed.reading()
            )));
        }
        let padding = tar_header::padded(entry.size) - entry.size;
        out.write_all(&vec![0u8; padding as usize])
            .map_err(io_error)?;
        Ok(())
    }

    /// Writes the hard links and the end of the tar, once every file has its bytes.
    pub fn write_links(&self, out: &mut impl Write) -> Result<()> {
        if let Some(missing) = self.waiting.iter().min() {
            return Err(Error::MalformedArchive(format!(
                "{} did not bring the bytes of {missing} ({} files in all)",
                self.feed.reading(),
                self.waiting.len()
            )));
        }
        let io_error = |e: io::Error| Error::Stream(format!("writing the layer: {e}"));
        for (path, first) in &self.links {
            let Some(entry) = self.snapshot.entries.get(*path) else {
                continue;
            };
            let link = Header {
                kind: Kind::HardLink,
                size: 0,
                ..header(path, entry, Some(first))
            };
            out.write_all(&tar_header::encode(&link))
                .map_err(io_error)?;
        }
        out.write_all(&[0u8; END_OF_ARCHIVE as usize])
            .map_err(io_error)
    }
}

/// The audit reads a name that is not UTF-8 with U+FFFD in place of its bad bytes, so writing
/// it back would change it, and the comparison, which reads both sides so, would not notice.
pub(super) fn refuse_changed_names(path: &str, entry: &FsEntry) -> Result<()> {
    const REPLACED: char = char::REPLACEMENT_CHARACTER;
    let changed = path.contains(REPLACED)
        || entry
            .link_target
            .as_deref()
            .is_some_and(|t| t.contains(REPLACED))
        || entry.xattrs.keys().any(|name| name.contains(REPLACED));
    if changed {
        return Err(Error::InvalidInput(format!(
            "{path:?} has a name, link target or xattr name that is not UTF-8 (or holds U+FFFD): the direct method would not write it back byte for byte; the multi-stage method copies it as it is"
        )));
    }
    Ok(())
}

/// What the layers above the base took away from it, as the markers that say so (absolute
/// paths): an opaque marker in each directory they replaced whole (nothing of the base's
/// survives under it, and the base had something there), a whiteout for each other base path
/// gone whose parent is still a directory (a whiteout for a directory covers what it held).
fn removals(base: &FsSnapshot, source: &FsSnapshot, kept: u32) -> Vec<String> {
    let is_dir = |files: &FsSnapshot, path: &str| {
        path.is_empty()
            || files
                .entries
                .get(path)
                .is_some_and(|e| e.kind == EntryKind::Dir)
    };
    // Directories of the result that hold something the base put there.
    let mut holds_base = HashSet::new();
    for (path, entry) in &source.entries {
        if entry.layer.is_some_and(|l| l < kept) {
            let mut at = path.as_str();
            while let Some((parent, _)) = at.rsplit_once('/') {
                if !holds_base.insert(parent) {
                    break;
                }
                at = parent;
            }
        }
    }
    let opaque: HashSet<&str> = source
        .entries
        .iter()
        .filter(|(path, entry)| {
            entry.kind == EntryKind::Dir
                && entry.layer.is_some_and(|l| l >= kept)
                && is_dir(base, path)
                && !holds_base.contains(path.as_str())
                && base
                    .entries
                    .range(format!("{path}/")..)
                    .next()
                    .is_some_and(|(below, _)| below.starts_with(&format!("{path}/")))
        })
        .map(|(path, _)| path.as_str())
        .collect();
    let mut markers: Vec<String> = opaque
        .iter()
        .map(|dir| format!("{dir}/.wh..wh..opq"))
        .collect();
    for path in base.entries.keys() {
        if source.entries.contains_key(path) {
            continue;
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        if is_dir(source, parent) && !opaque.contains(parent) {
            markers.push(format!("{parent}/.wh.{name}"));
        }
    }
    markers.sort();
    markers
}

/// A whiteout or opaque marker: an empty regular file whose name is the message.
fn marker_header(marker: &str) -> Header<'_> {
    Header {
        path: relative(marker),
        kind: Kind::File,
        size: 0,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: crate::audit::Mtime::default(),
        link: None,
        records: Vec::new(),
    }
}

/// An absolute path as a tar names it.
fn relative(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The header of the snapshot's entry at `path` (absolute; `""` for the root); `link` names
/// the hard link's target.
fn header<'e>(path: &'e str, entry: &'e FsEntry, link: Option<&'e str>) -> Header<'e> {
    let kind = match entry.kind {
        EntryKind::File => Kind::File,
        EntryKind::Dir => Kind::Dir,
        EntryKind::Symlink => Kind::Symlink,
        EntryKind::CharDevice { major, minor } => Kind::CharDevice { major, minor },
        EntryKind::BlockDevice { major, minor } => Kind::BlockDevice { major, minor },
        EntryKind::Fifo => Kind::Fifo,
    };
    Header {
        path: relative(path),
        kind,
        size: if kind == Kind::File { entry.size } else { 0 },
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        // Only directories no entry describes have none, and those are not written.
        mtime: entry.mtime.unwrap_or_default(),
        link: link.map(relative).or(entry.link_target.as_deref()),
        records: entry.pax_records().collect(),
    }
}
