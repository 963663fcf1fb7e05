//! Stacks the layers in image order, as overlayfs does when it mounts them, and keeps just
//! enough history to say afterwards where every byte went.
//!
//! ```text
//! let mut stack = Stack::default();
//! for layer in layers_in_image_order {
//!     stack.apply(layer)?;
//! }
//! let report = stack.finish(); // or, for layers read with `Reading::Everything`, stack.snapshot()
//! ```
//!
//! Each regular file entry becomes an *inode* (its size and the layer that wrote it); hard
//! links share their target's inode. At the end an inode is alive if some path of the final
//! tree still names it, and every byte of the image is in exactly one of two places: an alive
//! inode (the filesystem) or a dead one (reclaimable by a squash).
//!
//! When the layers carry [`Metadata`], each entry's is kept too, and a hard link shares its
//! target's as it shares the inode: entries that share metadata are one inode of the final
//! tree, whatever their type.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use super::layer::{LayerSummary, Metadata, What};
use super::{snapshot, tree};
use super::{AuditReport, FsSnapshot, LayerAudit, SpecialFiles, WastedFile};
use crate::error::{Error, Result};

/// How many paths the report lists as wasted, largest first.
const TOP_WASTED: usize = 100;

/// `Version::inode` of anything that is not a regular file.
const NO_INODE: u32 = u32::MAX;
/// `Version::metadata` when the layers were read without it, and of directories no entry
/// described (made to hold a deeper entry).
pub(super) const NO_METADATA: u32 = u32::MAX;

/// A layer and what the image config says about it.
pub(super) struct LayerInput {
    pub summary: LayerSummary,
    /// The layer's diff ID, from the config's `rootfs.diff_ids`.
    pub digest: Option<String>,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Dir,
    File,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

/// What one layer put at a path.
#[derive(Debug, Clone, Copy)]
struct Version {
    kind: Kind,
    layer: u32,
    inode: u32,
    /// This entry wrote the inode's bytes (a regular file entry, not a hard link to one), so
    /// the inode's loss is charged to this path: each lost byte is charged exactly once.
    origin: bool,
    capability: bool,
    /// Index into [`Stack::metadata`], or [`NO_METADATA`].
    metadata: u32,
}

impl Version {
    fn without_bytes(kind: Kind, layer: u32) -> Self {
        Version {
            kind,
            layer,
            inode: NO_INODE,
            origin: false,
            capability: false,
            metadata: NO_METADATA,
        }
    }
}

/// A path of the stacked filesystem as it stands.
#[derive(Debug)]
struct Present {
    version: Version,
    past: Past,
}

/// What a path keeps across deletions: a later layer may bring the path back, and its history
/// still counts.
#[derive(Debug, Default)]
struct Past {
    /// The smallest size dive saw for this path in any layer (see [`Past::see`]).
    dive_min: Option<u64>,
    /// Only for paths that lost a version: most paths never do, and they pay nothing.
    history: Option<Box<History>>,
}

impl Past {
    fn is_empty(&self) -> bool {
        self.dive_min.is_none() && self.history.is_none()
    }

    /// Files `old` as lost at this path. Directories carry no bytes and need no record.
    fn displace(&mut self, old: Version, layer: u32) {
        if old.kind == Kind::Dir {
            return;
        }
        let history = self.history.get_or_insert_with(Default::default);
        for layer in [old.layer, layer] {
            if let Err(at) = history.layers.binary_search(&layer) {
                history.layers.insert(at, layer);
            }
        }
        if old.origin {
            history.displaced.push(old.inode);
        }
    }

    /// dive's `Efficiency` looks at the leaves of each layer's tree and keeps, per path, the
    /// sum of the sizes it saw and the smallest of them; the sum goes in
    /// [`Stack::dive_seen_bytes`].
    fn see(&mut self, size: u64) {
        self.dive_min = Some(self.dive_min.map_or(size, |min| min.min(size)));
    }
}

#[derive(Debug, Default)]
struct History {
    /// Layers that wrote or removed a version of the path, ascending.
    layers: Vec<u32>,
    /// Inodes written at this path whose version was later replaced or deleted.
    displaced: Vec<u32>,
}

#[derive(Debug)]
struct Inode {
    size: u64,
    layer: u32,
}

#[derive(Debug)]
struct LayerFacts {
    digest: Option<String>,
    created_by: Option<String>,
    bytes_added: u64,
    files_added: u32,
    files_changed: u32,
    files_removed: u32,
}

#[derive(Debug, Default)]
pub(super) struct Stack {
    /// The stacked filesystem: only what is there now, so deleting a directory visits only
    /// what it holds, however many deletions came before.
    present: BTreeMap<Box<str>, Present>,
    /// Paths that are not there now but have a past worth keeping.
    gone: HashMap<Box<str>, Past>,
    inodes: Vec<Inode>,
    /// Every entry's metadata, when the layers carry it; never changed once stored, so that
    /// hard links can share it.
    metadata: Vec<Metadata>,
    /// The root directory's, from the topmost layer that has an entry for it.
    root: Option<Metadata>,
    layers: Vec<LayerFacts>,
    /// The sum of every size dive saw, the denominator of its efficiency score.
    dive_seen_bytes: u64,
}

#[derive(Default)]
struct Removed {
    files: u32,
    /// What dive would count for the removed versions: regular files' sizes, hard links as 0.
    dive_bytes: u64,
}

impl Stack {
    /// Puts the next layer on top.
    pub fn apply(&mut self, mut input: LayerInput) -> Result<()> {
        let layer = u32::try_from(self.layers.len())
            .map_err(|_| Error::MalformedArchive("the image has too many layers".into()))?;
        let mut facts = LayerFacts {
            digest: input.digest,
            created_by: input.created_by,
            bytes_added: 0,
            files_added: 0,
            files_changed: 0,
            files_removed: 0,
        };
        if let Some(root) = input.summary.root.take() {
            self.root = Some(*root);
        }
        let changes = input.summary.changes.as_slice();

        // Decided before the layer touches anything: "changed" means the path was there below,
        // and dive only scores leaves of this layer's own tree.
        let inner_dirs = input.summary.inner_dirs();
        let before: Vec<(bool, bool)> = changes
            .iter()
            .map(|c| {
                let existed = self.current(&c.path).is_some();
                let leaf = c.what != What::Dir || !inner_dirs.contains(&*c.path);
                (existed, leaf)
            })
            .collect();
        drop(inner_dirs);

        // Whiteouts and opaque markers only ever hide what lower layers had, so applying them
        // first leaves alone whatever this same layer adds at those paths.
        let mut made_opaque = HashSet::new();
        for change in changes {
            match change.what {
                What::Whiteout => {
                    let was_dir = self.current(&change.path).map(|v| v.kind) == Some(Kind::Dir);
                    let removed = self.remove(&change.path, true, layer);
                    facts.files_removed = facts.files_removed.saturating_add(removed.files);
                    // dive sizes a whiteout by the directory it deletes, and a deleted file as
                    // 0, which makes every byte the file ever had count as waste.
                    let size = if was_dir { removed.dive_bytes } else { 0 };
                    self.visit_gone(change.path.clone(), size);
                }
                What::Opaque if made_opaque.insert(&*change.path) => {
                    let removed = self.remove(&change.path, false, layer);
                    facts.files_removed = facts.files_removed.saturating_add(removed.files);
                }
                _ => {}
            }
        }

        for (change, (existed, leaf)) in input.summary.changes.into_iter().zip(before) {
            let (mut new, dive_size) = match change.what {
                What::Whiteout | What::Opaque => continue,
                What::Dir => (Version::without_bytes(Kind::Dir, layer), 0),
                What::File { size, capability } => {
                    let inode = self.new_inode(size, layer)?;
                    facts.bytes_added = facts.bytes_added.saturating_add(size);
                    let version = Version {
                        kind: Kind::File,
                        layer,
                        inode,
                        origin: true,
                        capability,
                        metadata: NO_METADATA,
                    };
                    (version, size)
                }
                What::HardLink { target } => (self.link_to(&target, layer), 0),
                What::Symlink => (Version::without_bytes(Kind::Symlink, layer), 0),
                What::CharDevice => (Version::without_bytes(Kind::CharDevice, layer), 0),
                What::BlockDevice => (Version::without_bytes(Kind::BlockDevice, layer), 0),
                What::Fifo => (Version::without_bytes(Kind::Fifo, layer), 0),
            };
            // A hard link that found its target has the target's metadata; any other entry
            // brings its own.
            if new.metadata == NO_METADATA {
                if let Some(metadata) = change.metadata {
                    new.metadata = self.keep(*metadata)?;
                }
            }
            if new.kind != Kind::Dir {
                let count = if existed {
                    &mut facts.files_changed
                } else {
                    &mut facts.files_added
                };
                *count = count.saturating_add(1);
            }
            let removed = self
                .make_parents(&change.path, layer)
                .saturating_add(self.put(change.path, new, leaf.then_some(dive_size)));
            facts.files_removed = facts.files_removed.saturating_add(removed);
        }
        self.layers.push(facts);
        Ok(())
    }

    fn current(&self, path: &str) -> Option<Version> {
        self.present.get(path).map(|p| p.version)
    }

    fn new_inode(&mut self, size: u64, layer: u32) -> Result<u32> {
        let id = u32::try_from(self.inodes.len())
            .ok()
            .filter(|&id| id != NO_INODE)
            .ok_or_else(|| Error::MalformedArchive("the image has too many files".into()))?;
        self.inodes.push(Inode { size, layer });
        Ok(id)
    }

    fn keep(&mut self, metadata: Metadata) -> Result<u32> {
        let id = u32::try_from(self.metadata.len())
            .ok()
            .filter(|&id| id != NO_METADATA)
            .ok_or_else(|| Error::MalformedArchive("the image has too many files".into()))?;
        self.metadata.push(metadata);
        Ok(id)
    }

    /// A hard link is another name for its target's inode. A target that is missing or a
    /// directory cannot be extracted either; rather than fail the audit, it counts as an empty
    /// file.
    fn link_to(&self, target: &str, layer: u32) -> Version {
        match self.current(target) {
            Some(version) if version.kind != Kind::Dir => Version {
                layer,
                origin: false,
                ..version
            },
            _ => Version::without_bytes(Kind::File, layer),
        }
    }

    /// Makes every ancestor of `path` a directory, as extracting the entry would. Returns how
    /// many files that replaced.
    fn make_parents(&mut self, path: &str, layer: u32) -> u32 {
        let mut replaced = 0u32;
        let mut child = path;
        while let Some((parent, _)) = child.rsplit_once('/') {
            let dir = Version::without_bytes(Kind::Dir, layer);
            match self.present.get_mut(parent) {
                // Every present path's ancestors are present directories.
                Some(present) if present.version.kind == Kind::Dir => break,
                Some(present) => {
                    let old = std::mem::replace(&mut present.version, dir);
                    present.past.displace(old, layer);
                    replaced = replaced.saturating_add(1);
                }
                None => self.bring_back(parent.into(), dir),
            }
            child = parent;
        }
        replaced
    }

    /// Puts `version` at a path that is not there now, with whatever past the path has.
    fn bring_back(&mut self, path: Box<str>, version: Version) {
        let (path, past) = match self.gone.remove_entry(&path) {
            Some(gone) => gone,
            None => (path, Past::default()),
        };
        self.present.insert(path, Present { version, past });
    }

    /// Sets `path` to `new`, replacing whatever was there (a directory replaced by anything
    /// else takes its whole subtree with it). `dive_size` is `Some` when dive scores this
    /// entry. Returns how many files were removed, not counting a file replaced by a file,
    /// which is a change.
    fn put(&mut self, path: Box<str>, new: Version, dive_size: Option<u64>) -> u32 {
        let mut removed = 0u32;
        if self.current(&path).map(|v| v.kind) == Some(Kind::Dir) && new.kind != Kind::Dir {
            removed = self.remove(&path, false, new.layer).files;
        }
        if let Some(size) = dive_size {
            self.dive_seen_bytes = self.dive_seen_bytes.saturating_add(size);
        }
        match self.present.get_mut(&path) {
            Some(present) => {
                let old = std::mem::replace(&mut present.version, new);
                if old.kind != Kind::Dir && new.kind == Kind::Dir {
                    removed = removed.saturating_add(1);
                }
                present.past.displace(old, new.layer);
                if let Some(size) = dive_size {
                    present.past.see(size);
                }
            }
            None => {
                let mut past = self.gone.remove(&path).unwrap_or_default();
                if let Some(size) = dive_size {
                    past.see(size);
                }
                self.present.insert(path, Present { version: new, past });
            }
        }
        removed
    }

    /// Removes everything under `path`, and `path` itself if `with_root`, on behalf of `layer`.
    fn remove(&mut self, path: &str, with_root: bool, layer: u32) -> Removed {
        let mut doomed: Vec<Box<str>> = Vec::new();
        if path.is_empty() {
            doomed.extend(self.present.keys().cloned());
        } else if self.present.contains_key(path) {
            // Anything below `path` would need `path` there as a directory.
            if with_root {
                doomed.push(path.into());
            }
            // Exactly the paths that start with `path/`: '0' is the character after '/'.
            let (from, to) = (format!("{path}/"), format!("{path}0"));
            let below = (Bound::Included(from.as_str()), Bound::Excluded(to.as_str()));
            doomed.extend(self.present.range::<str, _>(below).map(|(p, _)| p.clone()));
        }
        let mut removed = Removed::default();
        for path in doomed {
            let Some((path, Present { version, mut past })) = self.present.remove_entry(&path)
            else {
                continue;
            };
            if version.origin {
                let size = self
                    .inodes
                    .get(version.inode as usize)
                    .map_or(0, |i| i.size);
                removed.dive_bytes = removed.dive_bytes.saturating_add(size);
            }
            if version.kind != Kind::Dir {
                removed.files = removed.files.saturating_add(1);
            }
            past.displace(version, layer);
            if !past.is_empty() {
                self.gone.insert(path, past);
            }
        }
        removed
    }

    /// Records a whiteout the way dive's `Efficiency` does (see [`Past::see`]); the path is
    /// not there any more.
    fn visit_gone(&mut self, path: Box<str>, size: u64) {
        self.dive_seen_bytes = self.dive_seen_bytes.saturating_add(size);
        self.gone.entry(path).or_default().see(size);
    }

    /// The final filesystem with each entry's metadata; empty metadata unless the layers were
    /// read with [`Reading::Everything`](super::layer::Reading::Everything).
    pub fn snapshot(&self) -> FsSnapshot {
        let entries = self.present.iter().map(|(path, present)| {
            let version = present.version;
            snapshot::Final {
                path,
                kind: version.kind,
                size: self
                    .inodes
                    .get(version.inode as usize)
                    .map_or(0, |i| i.size),
                metadata: self.metadata.get(version.metadata as usize),
                identity: version.metadata,
            }
        });
        snapshot::build(entries, self.root.as_ref())
    }

    pub fn finish(self) -> AuditReport {
        let mut alive = vec![false; self.inodes.len()];
        let mut special_files = SpecialFiles::default();
        for version in self.present.values().map(|p| p.version) {
            if let Some(alive) = alive.get_mut(version.inode as usize) {
                *alive = true;
            }
            let count = match version.kind {
                Kind::CharDevice | Kind::BlockDevice => Some(&mut special_files.devices),
                Kind::Fifo => Some(&mut special_files.fifos),
                _ => None,
            };
            if let Some(count) = count {
                *count = count.saturating_add(1);
            }
            if version.capability {
                special_files.capabilities = special_files.capabilities.saturating_add(1);
            }
        }

        let mut layer_bytes = 0u64;
        let mut filesystem_bytes = 0u64;
        let mut lost_later = vec![0u64; self.layers.len()];
        for (inode, &alive) in self.inodes.iter().zip(&alive) {
            layer_bytes = layer_bytes.saturating_add(inode.size);
            if alive {
                filesystem_bytes = filesystem_bytes.saturating_add(inode.size);
            } else if let Some(lost) = lost_later.get_mut(inode.layer as usize) {
                *lost = lost.saturating_add(inode.size);
            }
        }
        let dead_bytes =
            |inode: u32| match (alive.get(inode as usize), self.inodes.get(inode as usize)) {
                (Some(false), Some(inode)) => inode.size,
                _ => 0,
            };

        let mut wasted_bytes = 0u64;
        // Every path with a past, and what it shows now if it is there.
        let pasts = self
            .present
            .iter()
            .map(|(path, p)| (path, &p.past, Some(p.version)))
            .chain(self.gone.iter().map(|(path, past)| (path, past, None)));
        let mut wasted: Vec<(u64, &str, &History, Option<Version>)> = Vec::new();
        let mut dive_min_bytes = 0u64;
        for (path, past, now) in pasts {
            dive_min_bytes = dive_min_bytes.saturating_add(past.dive_min.unwrap_or(0));
            let Some(history) = &past.history else {
                continue;
            };
            let bytes = history
                .displaced
                .iter()
                .map(|&inode| dead_bytes(inode))
                .fold(0u64, u64::saturating_add);
            if bytes > 0 {
                wasted_bytes = wasted_bytes.saturating_add(bytes);
                wasted.push((bytes, path, history, now));
            }
        }
        wasted.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let wasted_files = wasted
            .into_iter()
            .take(TOP_WASTED)
            .map(|(bytes, path, history, now)| {
                let mut layers = history.layers.clone();
                layers.extend(now.filter(|v| v.kind != Kind::Dir).map(|v| v.layer));
                layers.sort_unstable();
                layers.dedup();
                WastedFile {
                    // Absolute, as people and dive write them; the layers store them relative.
                    path: format!("/{path}"),
                    wasted_bytes: bytes,
                    layers,
                }
            })
            .collect();

        let efficiency = if self.dive_seen_bytes == 0 {
            1.0
        } else {
            dive_min_bytes as f64 / self.dive_seen_bytes as f64
        };

        // A hard-link group's bytes go to its first path in path order, so the tree adds up to
        // the filesystem's size.
        let mut claimed = vec![false; self.inodes.len()];
        let final_entries = self.present.iter().map(|(path, present)| {
            let version = present.version;
            let bytes = match claimed.get_mut(version.inode as usize) {
                Some(claimed) if !*claimed => {
                    *claimed = true;
                    self.inodes
                        .get(version.inode as usize)
                        .map_or(0, |i| i.size)
                }
                _ => 0,
            };
            tree::Entry {
                path,
                is_dir: version.kind == Kind::Dir,
                bytes,
            }
        });
        let tree = tree::build(final_entries);

        let layers = self
            .layers
            .into_iter()
            .zip(lost_later)
            .zip(0u32..)
            .map(|((facts, bytes_lost_later), index)| LayerAudit {
                index,
                digest: facts.digest,
                created_by: facts.created_by,
                bytes_added: facts.bytes_added,
                files_added: facts.files_added,
                files_changed: facts.files_changed,
                files_removed: facts.files_removed,
                bytes_lost_later,
            })
            .collect();

        AuditReport {
            layer_bytes,
            filesystem_bytes,
            reclaimable_bytes: layer_bytes.saturating_sub(filesystem_bytes),
            wasted_bytes,
            efficiency,
            layers,
            wasted_files,
            tree,
            special_files,
        }
    }
}
