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
//! target, a device's numbers, the `security.capability` xattr, and which entries are one
//! inode (hard links). Left out: modification times, which a `COPY` may change and which say
//! nothing about what the image does; owner names, which extraction ignores; other xattrs,
//! which image commits never carry (see PLATFORM-NOTES); and the root directory itself, which
//! a build makes rather than copies.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

use super::layer::Metadata;
use super::merge::{Kind, NO_METADATA};

/// The mode and owner Docker gives a directory it makes to hold a deeper entry when the
/// layer has no entry for the directory itself.
const IMPLICIT_DIR: Metadata = Metadata {
    mode: 0o755,
    uid: 0,
    gid: 0,
    sha256: None,
    symlink_target: None,
    device: None,
    capability: None,
};

/// An image's final filesystem: what a container would see, read from the image's layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsSnapshot {
    /// Every entry but the root, by absolute path (`/etc/passwd`).
    pub entries: BTreeMap<String, FsEntry>,
    /// Paths that name one inode, each group two or more paths in path order; the groups in
    /// the order of their first paths. [`FsEntry::hard_link_group`] indexes this.
    pub hard_link_groups: Vec<Vec<String>>,
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
    /// Content size of a regular file (a sparse file's logical size); 0 for anything else.
    pub size: u64,
    /// SHA-256 of a regular file's content.
    pub sha256: Option<[u8; 32]>,
    /// A symlink's target, as written (relative or absolute).
    pub link_target: Option<String>,
    /// The `security.capability` xattr's bytes (file capabilities).
    pub capability: Option<Vec<u8>>,
    /// Index into [`FsSnapshot::hard_link_groups`] when other paths name the same inode.
    pub hard_link_group: Option<usize>,
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
}

/// Builds the snapshot from the final entries, given in path order.
pub(super) fn build<'a>(finals: impl Iterator<Item = Final<'a>>) -> FsSnapshot {
    let empty_file: [u8; 32] = Sha256::digest([]).into();
    let mut entries = BTreeMap::new();
    let mut inodes: HashMap<u32, Vec<String>> = HashMap::new();
    for found in finals {
        let path = format!("/{}", found.path);
        let metadata = found.metadata.unwrap_or(&IMPLICIT_DIR);
        let (major, minor) = metadata.device.unwrap_or((0, 0));
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
        let entry = FsEntry {
            kind,
            mode: metadata.mode,
            uid: metadata.uid,
            gid: metadata.gid,
            size: found.size,
            // A hard link whose target was missing stands for an empty file.
            sha256: (kind == EntryKind::File).then(|| metadata.sha256.unwrap_or(empty_file)),
            link_target: metadata.symlink_target.as_deref().map(str::to_owned),
            capability: metadata.capability.as_deref().map(<[u8]>::to_vec),
            hard_link_group: None,
        };
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
    }
}
