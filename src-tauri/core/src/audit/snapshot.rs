//! The final filesystem of an image, entry by entry, with everything a squash must keep: what
//! [`compare`](super::compare) checks a squashed image against its source with.
//!
//! ```no_run
//! # fn demo(saved_image: std::fs::File) -> squashbox_core::Result<()> {
//! use std::ops::ControlFlow;
//! let snapshot = squashbox_core::audit::snapshot_archive(saved_image, &mut |_bytes_read| {
//!     ControlFlow::Continue(())
//! })?;
//! for (path, entry) in &snapshot.entries {
//!     println!("{path} {:?} {:04o} {}:{}", entry.kind, entry.mode, entry.uid, entry.gid);
//! }
//! # Ok(()) }
//! ```
//!
//! Kept per entry: type, permission bits (with setuid, setgid and sticky), owner ids, size,
//! a SHA-256 of a regular file's content (contents themselves are never held), a symlink's
//! target, a device's numbers, the modification time (to the nanosecond when a PAX record
//! carries it; [`compare`](super::compare) decides how closely to look), every xattr the layers carry (`security.capability` and POSIX
//! ACLs among them) and the ACLs GNU tar and star write as records of their own, and which
//! entries are one inode (hard links). The root directory's own metadata is kept apart
//! ([`FsSnapshot::root`]) when a layer has an entry for it.
//!
//! Left out: owner names, which extraction ignores; and other PAX records
//! (`LIBARCHIVE.xattr.*` among them, which Go's tar reader, and so Docker, never applies).

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

pub use super::layer::Mtime;
use super::layer::{Kind, NO_METADATA};
use super::layer::{Metadata, ACL_RECORD_PREFIX, XATTR_RECORD_PREFIX};

/// The mode and owner Docker gives a directory it makes to hold a deeper entry when the
/// layer has no entry for the directory itself (its time is the unpacking's: see
/// [`FsEntry::mtime`]).
fn implicit_dir() -> Metadata {
    Metadata {
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: Mtime::default(),
        sha256: None,
        symlink_target: None,
        device: None,
        extended: Box::default(),
    }
}

/// The xattr that holds a file's capabilities.
pub(super) const CAPABILITY_XATTR: &str = "security.capability";

/// An image's final filesystem: what a container would see, read from the image's layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsSnapshot {
    /// Every entry but the root, by absolute path (`/etc/passwd`).
    pub entries: BTreeMap<String, FsEntry>,
    /// Paths that name one inode, each group two or more paths in path order; the groups in
    /// the order of their first paths. [`FsEntry::hard_link_group`] indexes this.
    pub hard_link_groups: Vec<Vec<String>>,
    /// The root directory (`/`) as the topmost layer with an entry for it (`./`) describes
    /// it; `None` when no layer has one, and the root is whatever the runtime makes. Its
    /// [`FsEntry::size`] is 0 and it is in no hard-link group.
    pub root: Option<FsEntry>,
    /// Where the archive the snapshot was read from keeps each layer, in image order:
    /// [`FsEntry::layer`] and [`BytesFrom::layer`] index this. What reading it again needs.
    pub layers: Vec<SavedLayer>,
    /// The image config as the archive holds it, byte for byte.
    pub config: Vec<u8>,
}

/// A layer of a saved image: the archive member holding its tar, and its diff ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedLayer {
    /// Its path in the archive (`<id>/layer.tar`, `blobs/sha256/<hex>`), links followed.
    pub member: String,
    /// From the config's `rootfs.diff_ids`.
    pub diff_id: Option<String>,
}

/// Where a regular file's bytes are in the saved image: the entry of `layer` at `path` (the
/// file's own path, or the one it was hard-linked to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytesFrom {
    /// Index into [`FsSnapshot::layers`].
    pub layer: u32,
    /// Relative and normalised, as the layers write it.
    pub path: String,
}

impl FsSnapshot {
    /// The paths `path` shares its inode with, itself included; `None` when it has no other
    /// name.
    pub fn hard_links_of(&self, path: &str) -> Option<&[String]> {
        let group = self.entries.get(path)?.hard_link_group?;
        self.hard_link_groups.get(group).map(Vec::as_slice)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    pub kind: EntryKind,
    /// Permission bits with setuid, setgid and sticky (`0o7777` at most).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// As the layer wrote it. `None` for a directory no entry describes (the root included):
    /// the daemon gives such a directory the time it unpacks the layer (seen on Engine 20.10:
    /// `a/b/file` alone in a layer, copied, came back with `a` and `a/b` stamped at the copy).
    pub mtime: Option<Mtime>,
    /// Content size of a regular file (a sparse file's logical size); 0 for anything else.
    pub size: u64,
    /// SHA-256 of a regular file's content.
    pub sha256: Option<[u8; 32]>,
    /// A symlink's target, as written (relative or absolute).
    pub link_target: Option<String>,
    /// Every extended attribute, by name (`security.capability`, `user.mime_type`,
    /// `system.posix_acl_access`…), with its bytes as the layer's PAX record holds them.
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// POSIX ACLs in the text form GNU tar and star write (`SCHILY.acl.access`,
    /// `SCHILY.acl.default`), by kind (`access`, `default`). Docker neither writes nor applies
    /// these; ACLs it applies arrive as `system.posix_acl_*` [xattrs](FsEntry::xattrs).
    pub acls: BTreeMap<String, Vec<u8>>,
    /// Index into [`FsSnapshot::hard_link_groups`] when other paths name the same inode.
    pub hard_link_group: Option<usize>,
    /// The layer whose entry put this here (index into [`FsSnapshot::layers`]); `None` for a
    /// directory no entry describes, made to hold a deeper one.
    pub layer: Option<u32>,
    /// A regular file's bytes, when it has any.
    pub bytes_from: Option<BytesFrom>,
}

impl FsEntry {
    /// The xattrs and tar ACLs as the PAX records a layer carries them in, in key order.
    pub fn pax_records(&self) -> impl Iterator<Item = (String, &[u8])> {
        let acls = self
            .acls
            .iter()
            .map(|(kind, value)| (ACL_RECORD_PREFIX, kind, value));
        let xattrs = self
            .xattrs
            .iter()
            .map(|(name, value)| (XATTR_RECORD_PREFIX, name, value));
        acls.chain(xattrs)
            .map(|(prefix, name, value)| (format!("{prefix}{name}"), value.as_slice()))
    }

    /// The `security.capability` xattr's bytes (file capabilities).
    pub fn capability(&self) -> Option<&[u8]> {
        self.xattrs.get(CAPABILITY_XATTR).map(Vec::as_slice)
    }

    /// A directory as Docker makes the root of a container's filesystem when no layer
    /// describes it: `0755`, owned by root, no xattrs (seen on Engine 20.10 with overlay2,
    /// which also ignores a layer's `./` entry when it unpacks the layer).
    pub(super) fn runtime_root() -> Self {
        entry(EntryKind::Dir, None, 0)
    }
}

/// A hard link is not a kind: it is an entry of its target's kind that shares a
/// [hard-link group](FsEntry::hard_link_group) with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
}

/// A path of the merged stack, as [`build`] takes it.
pub(super) struct Final<'a> {
    /// Relative, as the layers write it.
    pub path: &'a str,
    pub kind: Kind,
    pub size: u64,
    pub metadata: Option<&'a Metadata>,
    /// Entries with the same identity are one inode; [`NO_METADATA`] is nobody's.
    pub identity: u32,
    /// The layer that put it there.
    pub layer: u32,
    /// The layer and path of the entry that wrote a regular file's bytes.
    pub bytes_from: Option<(u32, String)>,
}

/// Builds the snapshot from the final entries, given in path order, and the root's metadata.
pub(super) fn build<'a>(
    finals: impl Iterator<Item = Final<'a>>,
    root: Option<&Metadata>,
) -> FsSnapshot {
    let mut entries = BTreeMap::new();
    let mut inodes: HashMap<u32, Vec<String>> = HashMap::new();
    for found in finals {
        let path = format!("/{}", found.path);
        let (major, minor) = found.metadata.and_then(|m| m.device).unwrap_or((0, 0));
        let kind = match found.kind {
            Kind::File => EntryKind::File,
            Kind::Dir => EntryKind::Dir,
            Kind::Symlink => EntryKind::Symlink,
            Kind::CharDevice => EntryKind::CharDevice { major, minor },
            Kind::BlockDevice => EntryKind::BlockDevice { major, minor },
            Kind::Fifo => EntryKind::Fifo,
        };
        if kind != EntryKind::Dir && found.identity != NO_METADATA {
            inodes.entry(found.identity).or_default().push(path.clone());
        }
        let mut entry = entry(kind, found.metadata, found.size);
        entry.layer = found.metadata.map(|_| found.layer);
        entry.bytes_from = found
            .bytes_from
            .filter(|_| kind == EntryKind::File)
            .map(|(layer, path)| BytesFrom { layer, path });
        entries.insert(path, entry);
    }

    // Each group's paths came in path order.
    let mut hard_link_groups: Vec<Vec<String>> = inodes
        .into_values()
        .filter(|paths| paths.len() > 1)
        .collect();
    hard_link_groups.sort_unstable();
    for (index, group) in hard_link_groups.iter().enumerate() {
        for path in group {
            if let Some(entry) = entries.get_mut(path) {
                entry.hard_link_group = Some(index);
            }
        }
    }
    FsSnapshot {
        entries,
        hard_link_groups,
        root: root.map(|metadata| entry(EntryKind::Dir, Some(metadata), 0)),
        layers: Vec::new(),
        config: Vec::new(),
    }
}

/// An entry of `kind` as `described` says, or as Docker makes a directory no entry describes;
/// in no hard-link group yet.
fn entry(kind: EntryKind, described: Option<&Metadata>, size: u64) -> FsEntry {
    // Free to make: no field of it allocates.
    let implicit = implicit_dir();
    let metadata = described.unwrap_or(&implicit);
    let mut xattrs = BTreeMap::new();
    let mut acls = BTreeMap::new();
    for (key, value) in metadata.extended.iter() {
        if let Some(name) = key.strip_prefix(XATTR_RECORD_PREFIX) {
            xattrs.insert(name.to_owned(), value.to_vec());
        } else if let Some(kind) = key.strip_prefix(ACL_RECORD_PREFIX) {
            acls.insert(kind.to_owned(), value.to_vec());
        }
    }
    FsEntry {
        kind,
        mode: metadata.mode,
        uid: metadata.uid,
        gid: metadata.gid,
        mtime: described.map(|m| m.mtime),
        size,
        // A hard link whose target was missing stands for an empty file.
        sha256: (kind == EntryKind::File)
            .then(|| metadata.sha256.unwrap_or_else(|| Sha256::digest([]).into())),
        link_target: metadata.symlink_target.as_deref().map(str::to_owned),
        xattrs,
        acls,
        hard_link_group: None,
        layer: None,
        bytes_from: None,
    }
}
