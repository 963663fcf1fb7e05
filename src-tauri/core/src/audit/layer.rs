//! One layer's tar boiled down to what the audit needs: for each entry its path, its type, its
//! size and, for hard links, the path it links to. File contents are never kept: the audit
//! skips them, a snapshot hashes them as they stream by.
//!
//! ```text
//! let summary = layer::summarise(decompressed_layer_tar, Reading::Sizes)?;
//! ```

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read};
use tar::EntryType;

use super::members::HeaderBudget;

/// What kind of entry a layer put at a path, as the merge and the snapshot tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Dir,
    File,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

/// An index into a layer stack's metadata when the layers were read without it, and of
/// directories no entry described (made to hold a deeper entry).
pub(super) const NO_METADATA: u32 = u32::MAX;

/// The marker the image spec puts in a directory to hide everything lower layers had in it.
const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// Names that start like this are aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`), not
/// whiteouts: Docker skips them when it applies a layer, and so do we.
const AUFS_META_PREFIX: &str = ".wh..wh.";
const WHITEOUT_PREFIX: &str = ".wh.";
/// The PAX record in which tar keeps a file's `security.capability` xattr.
const CAPABILITY_XATTR: &str = "SCHILY.xattr.security.capability";
/// PAX records that carry an xattr (`SCHILY.xattr.<name>`, what Go's tar and so Docker write
/// and apply) or a POSIX ACL in text form (`SCHILY.acl.access`, `SCHILY.acl.default`, what GNU
/// tar and star write).
pub(super) const XATTR_RECORD_PREFIX: &str = "SCHILY.xattr.";
pub(super) const ACL_RECORD_PREFIX: &str = "SCHILY.acl.";
/// Permission bits, setuid, setgid and sticky: what is left of a tar mode once the file type
/// bits some writers add are dropped.
const MODE_BITS: u32 = 0o7777;

/// How much of each entry the reader keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    /// Paths, types and sizes: all the audit needs. Contents are skipped unread.
    Sizes,
    /// Also each entry's [`Metadata`], with a SHA-256 of every regular file's content: what a
    /// snapshot compares. Hashing costs CPU, which is why the audit does not ask for it.
    Everything,
}

/// A layer's entries in archive order. Paths are normalised (see [`normalise`]).
#[derive(Debug, Clone)]
pub(super) struct LayerSummary {
    pub changes: Vec<Change>,
    /// The metadata of the layer's entry for the root directory (`./`), if it has one; only
    /// with [`Reading::Everything`].
    pub root: Option<Box<Metadata>>,
}

#[derive(Debug, Clone)]
pub(super) struct Change {
    pub path: Box<str>,
    pub what: What,
    /// Only with [`Reading::Everything`], and never for whiteouts or opaque markers. Boxed so
    /// that the audit, which has none, pays one pointer per entry.
    pub metadata: Option<Box<Metadata>>,
}

/// What an entry's header says beyond its type and size, and its content's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Metadata {
    /// See [`MODE_BITS`].
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// The PAX `mtime` record when there is one (it keeps fractions of a second), else the
    /// header's whole seconds.
    pub mtime: Mtime,
    /// Of a regular file's content (a sparse file's holes read as zeros).
    pub sha256: Option<[u8; 32]>,
    /// A symlink's target as written, relative or absolute.
    pub symlink_target: Option<Box<str>>,
    /// A device node's major and minor numbers.
    pub device: Option<(u32, u32)>,
    /// The entry's xattr and ACL records (see [`XATTR_RECORD_PREFIX`]) in key order, each
    /// key once (the last record wins). Empty for most entries, and then free.
    pub extended: Box<[PaxRecord]>,
}

/// A PAX record's key (`SCHILY.xattr.user.origin`) and value.
pub(super) type PaxRecord = (Box<str>, Box<[u8]>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum What {
    Dir,
    /// A regular file; `size` is its content size (the logical size for a sparse file).
    File {
        size: u64,
        capability: bool,
    },
    /// A tar hard link: a new name for the file at `target`, with no bytes of its own.
    HardLink {
        target: Box<str>,
    },
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// `.wh.<name>`: `path` (and all under it) is deleted from the lower layers.
    Whiteout,
    /// `.wh..wh..opq`: everything the lower layers had under the directory `path` is hidden.
    Opaque,
}

impl LayerSummary {
    /// For each change, whether it is a directory that holds something else of this layer:
    /// the tree's inner nodes. dive scores only the leaves of each layer's tree, and an opaque
    /// marker, which dive ignores, does not make its directory an inner node.
    pub fn holders(&self) -> Vec<bool> {
        let mut paths: Vec<&str> = self
            .changes
            .iter()
            .filter(|c| c.what != What::Opaque)
            .map(|c| &*c.path)
            .collect();
        paths.sort_unstable();
        // The paths under `dir` are those that start with `dir/`: together in sorted order.
        let mut below = String::new();
        self.changes
            .iter()
            .map(|change| {
                if change.what != What::Dir {
                    return false;
                }
                below.clear();
                below.push_str(&change.path);
                below.push('/');
                let first = paths.partition_point(|path| *path < below.as_str());
                paths
                    .get(first)
                    .is_some_and(|path| path.starts_with(below.as_str()))
            })
            .collect()
    }
}

/// Reads a (decompressed) layer tar to its end-of-archive marker.
pub(super) fn summarise(reader: impl Read, reading: Reading) -> io::Result<LayerSummary> {
    let budget = HeaderBudget::default();
    let mut archive = tar::Archive::new(budget.wrap(reader));
    let mut entries = archive.entries()?;
    let mut changes = Vec::new();
    let mut root = None;
    while let Some(entry) = budget.next(&mut entries) {
        let mut entry = entry?;
        let path = normalise(&entry.path_bytes());
        if path.is_empty() {
            // The root directory itself is always there: only its metadata can change.
            if reading == Reading::Everything && entry.header().entry_type() == EntryType::Directory
            {
                root = Some(Box::new(read_metadata(&mut entry, &What::Dir)?));
            }
        } else {
            changes.extend(change(&mut entry, path, reading)?);
        }
        budget.done(&mut entry)?;
    }
    Ok(LayerSummary { changes, root })
}

/// What `entry`, at `path` (normalised, not the root), does to the filesystem; `None` for
/// nothing.
fn change<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: String,
    reading: Reading,
) -> io::Result<Option<Change>> {
    let (parent, name) = match path.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", path.as_str()),
    };
    // Docker decides on the name alone, whatever the entry's type.
    if name == OPAQUE_MARKER {
        return Ok(Some(Change {
            path: parent.into(),
            what: What::Opaque,
            metadata: None,
        }));
    }
    if name.starts_with(AUFS_META_PREFIX) {
        return Ok(None);
    }
    if let Some(deleted) = name.strip_prefix(WHITEOUT_PREFIX) {
        return Ok((!deleted.is_empty()).then(|| Change {
            path: join(parent, deleted),
            what: What::Whiteout,
            metadata: None,
        }));
    }
    let Some(what) = classify(entry)? else {
        return Ok(None);
    };
    let metadata = match reading {
        Reading::Sizes => None,
        Reading::Everything => Some(Box::new(read_metadata(entry, &what)?)),
    };
    Ok(Some(Change {
        path: path.into_boxed_str(),
        what,
        metadata,
    }))
}

/// `None` for entries that put nothing in the filesystem (PAX global headers, unknown types).
fn classify<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Option<What>> {
    let what = match entry.header().entry_type() {
        // `Entry::size` is the PAX size when there is one, and a sparse file's logical size.
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => What::File {
            size: entry.size(),
            capability: has_capability(entry)?,
        },
        EntryType::Directory => What::Dir,
        EntryType::Link => What::HardLink {
            target: entry
                .link_name_bytes()
                .map(|target| normalise(&target))
                .unwrap_or_default()
                .into_boxed_str(),
        },
        EntryType::Symlink => What::Symlink,
        EntryType::Char => What::CharDevice,
        EntryType::Block => What::BlockDevice,
        EntryType::Fifo => What::Fifo,
        _ => return Ok(None),
    };
    Ok(Some(what))
}

fn has_capability<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<bool> {
    let Some(extensions) = entry.pax_extensions()? else {
        return Ok(false);
    };
    for extension in extensions {
        if extension?.key() == Ok(CAPABILITY_XATTR) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Reads the header's metadata and, for a regular file, hashes the content: the entry must
/// not have been read from yet.
fn read_metadata<R: Read>(entry: &mut tar::Entry<'_, R>, what: &What) -> io::Result<Metadata> {
    let header = entry.header();
    let mut metadata = Metadata {
        mode: header.mode()? & MODE_BITS,
        uid: header.uid()?,
        gid: header.gid()?,
        mtime: Mtime {
            seconds: i64::try_from(header.mtime()?).unwrap_or(i64::MAX),
            nanos: 0,
        },
        sha256: None,
        symlink_target: None,
        device: None,
        extended: Box::default(),
    };
    if matches!(what, What::CharDevice | What::BlockDevice) {
        // A header with no device fields (pre-POSIX tar) can only mean 0:0.
        metadata.device = Some((
            header.device_major()?.unwrap_or(0),
            header.device_minor()?.unwrap_or(0),
        ));
    }
    if *what == What::Symlink {
        let target = entry.link_name_bytes().unwrap_or_default();
        metadata.symlink_target = Some(String::from_utf8_lossy(&target).into());
    }
    // PAX records override the header: ids too big for its fields live there.
    if let Some(extensions) = entry.pax_extensions()? {
        let mut extended = BTreeMap::new();
        for extension in extensions {
            let extension = extension?;
            match extension.key_bytes() {
                b"uid" => metadata.uid = pax_number(extension.value_bytes())?,
                b"gid" => metadata.gid = pax_number(extension.value_bytes())?,
                b"mtime" => metadata.mtime = Mtime::from_pax(extension.value_bytes())?,
                key if key.starts_with(XATTR_RECORD_PREFIX.as_bytes())
                    || key.starts_with(ACL_RECORD_PREFIX.as_bytes()) =>
                {
                    let key = String::from_utf8_lossy(key).into_owned().into_boxed_str();
                    extended.insert(key, Box::from(extension.value_bytes()));
                }
                _ => {}
            }
        }
        metadata.extended = extended.into_iter().collect();
    }
    if let What::File { size, .. } = *what {
        let mut hasher = Sha256::new();
        let hashed = io::copy(entry, &mut hasher)?;
        if hashed != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a file's content ends before its size",
            ));
        }
        metadata.sha256 = Some(hasher.finalize().into());
    }
    Ok(metadata)
}

/// A modification time, in seconds and nanoseconds since the epoch (seconds may be negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mtime {
    pub seconds: i64,
    /// Below a second, `0..1_000_000_000`; 0 when the layer kept whole seconds.
    pub nanos: u32,
}

impl Mtime {
    /// A PAX time: decimal seconds with an optional fraction (`1700000000.25`, `-1.5`).
    fn from_pax(value: &[u8]) -> io::Result<Mtime> {
        let invalid = || io::Error::new(io::ErrorKind::InvalidData, "a PAX mtime is not a time");
        let text = std::str::from_utf8(value).map_err(|_| invalid())?;
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let negative = whole.starts_with('-');
        let seconds: i64 = match whole {
            "" | "-" => 0,
            whole => whole.parse().map_err(|_| invalid())?,
        };
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        // Nanoseconds: the first nine digits, padded; finer digits are dropped, as Go does.
        let digits: String = fraction
            .chars()
            .chain(std::iter::repeat('0'))
            .take(9)
            .collect();
        let nanos: u32 = digits.parse().map_err(|_| invalid())?;
        // -1.5 is 1.5 s before the epoch: -2 s plus 0.5 s.
        Ok(match (negative, nanos) {
            (true, n) if n > 0 => Mtime {
                seconds: seconds - 1,
                nanos: 1_000_000_000 - n,
            },
            _ => Mtime { seconds, nanos },
        })
    }

    /// The PAX record's value for this time: whole seconds, or with as many digits of the
    /// fraction as it needs.
    pub fn to_pax(self) -> String {
        if self.nanos == 0 {
            return self.seconds.to_string();
        }
        let (seconds, nanos) = if self.seconds < 0 {
            (
                format!("-{}", -(self.seconds + 1)),
                1_000_000_000 - self.nanos,
            )
        } else {
            (self.seconds.to_string(), self.nanos)
        };
        let fraction = format!("{nanos:09}");
        format!("{seconds}.{}", fraction.trim_end_matches('0'))
    }
}

fn pax_number(value: &[u8]) -> io::Result<u64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a PAX id is not a number"))
}

/// The one spelling of a path inside an image: relative to the root, no `.` or empty
/// components, no trailing slash; `..` climbs but never above the root. The root is `""`.
/// Names that are not UTF-8 are shown with replacement characters.
pub(super) fn normalise(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

pub(super) fn join(dir: &str, name: &str) -> Box<str> {
    if dir.is_empty() {
        name.into()
    } else {
        format!("{dir}/{name}").into_boxed_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalise(b"./usr/bin/"), "usr/bin");
        assert_eq!(normalise(b"/etc//passwd"), "etc/passwd");
        assert_eq!(normalise(b"./"), "");
        assert_eq!(normalise(b"a/./b/../c"), "a/c");
        assert_eq!(normalise(b"../../etc"), "etc");
        assert_eq!(normalise("é/ü".as_bytes()), "é/ü");
    }

    #[test]
    fn pax_times_keep_their_fraction_both_ways() {
        for (text, seconds, nanos) in [
            ("1700000000", 1_700_000_000, 0),
            ("1700000000.25", 1_700_000_000, 250_000_000),
            ("1700000000.123456789", 1_700_000_000, 123_456_789),
            ("-1.5", -2, 500_000_000),
            ("-3", -3, 0),
        ] {
            let mtime = Mtime::from_pax(text.as_bytes()).unwrap();
            assert_eq!((mtime.seconds, mtime.nanos), (seconds, nanos), "{text}");
            assert_eq!(mtime.to_pax(), text);
        }
        // Finer than nanoseconds is cut, as Go's reader does.
        let fine = Mtime::from_pax(b"1.0000000019").unwrap();
        assert_eq!((fine.seconds, fine.nanos), (1, 1));
        assert!(Mtime::from_pax(b"1.x").is_err());
        assert!(Mtime::from_pax(b"soon").is_err());
    }
}
