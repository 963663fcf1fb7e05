//! Stacks the layers in image order, as overlayfs does when it mounts them, and keeps just
//! enough history to say afterwards where every byte went.
//!
//! ```text
//! let mut checkpoint = Checkpoint::new(&mut || ControlFlow::Continue(())); // Break cancels
//! let mut stack = Stack::default();
//! for layer in layers_in_image_order {
//!     stack.apply(layer, &mut checkpoint)?;
//! }
//! let report = stack.finish(&mut checkpoint)?; // or, for layers read with
//!                                              // `Reading::Everything`, stack.snapshot()
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
//!
//! Paths live in a [`PathTree`]: the directories a layer makes to hold a deeper entry, which no
//! entry names, cost nothing per level, so memory follows the entries, not how deep they are.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::rc::Rc;

use super::archive::ConfigFacts;
use super::layer::{Kind, LayerSummary, Metadata, What, NO_METADATA};
use super::path_tree::{NodeId, PathTree, ROOT};
use super::{snapshot, tree};
use super::{AuditReport, FsSnapshot, LayerAudit, SpecialFiles, TreeNode, WastedFile};
use crate::error::{Error, Result};

/// How many paths the report lists as wasted, largest first.
const TOP_WASTED: usize = 100;

/// `Version::inode` of anything that is not a regular file.
const NO_INODE: u32 = u32::MAX;

/// How many steps of the merge (entries applied, nodes visited) pass between two calls to
/// the caller, who may cancel.
pub(super) const CHECK_EVERY: u32 = 4096;

/// A layer and what the image config says about it.
pub(super) struct LayerInput {
    /// Shared by every listing of the layer in the manifest.
    pub summary: Rc<LayerSummary>,
    /// The archive member that holds the layer's tar (links inside the archive followed).
    pub member: Rc<str>,
    /// The layer's diff ID, from the config's `rootfs.diff_ids`.
    pub digest: Option<String>,
    pub created_by: Option<String>,
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

/// What the stack holds at a path. The directories inside an edge of the path tree are made
/// to hold something deeper: they are directories or nothing, and have no past.
#[derive(Debug, Clone, Default)]
struct Point {
    /// What is there now, `None` when nothing is. A present path's ancestors are present
    /// directories.
    now: Option<Version>,
    past: Past,
}

/// What a path keeps across deletions: a later layer may bring the path back, and its history
/// still counts.
#[derive(Debug, Clone, Default)]
struct Past {
    /// The smallest size dive saw for this path in any layer (see [`Past::see`]).
    dive_min: Option<u64>,
    /// Only for paths that lost a version: most paths never do, and they pay nothing.
    history: Option<Box<History>>,
}

impl Past {
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

#[derive(Debug, Clone, Default)]
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
    /// The path whose entry in `layer` wrote the bytes.
    origin: NodeId,
}

#[derive(Debug)]
struct LayerFacts {
    member: Rc<str>,
    digest: Option<String>,
    created_by: Option<String>,
    bytes_added: u64,
    files_added: u32,
    files_changed: u32,
    files_removed: u32,
}

/// Calls the caller back every [`CHECK_EVERY`] steps, so that a cancel is heard while the
/// layers are stacked and the report is made.
pub(super) struct Checkpoint<'c> {
    steps: u32,
    call: &'c mut dyn FnMut() -> ControlFlow<()>,
}

impl<'c> Checkpoint<'c> {
    pub fn new(call: &'c mut dyn FnMut() -> ControlFlow<()>) -> Self {
        Checkpoint { steps: 0, call }
    }

    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps < CHECK_EVERY {
            return Ok(());
        }
        self.steps = 0;
        match (self.call)() {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(Error::Cancelled),
        }
    }
}

/// What a snapshot may hold. The audit's stack keeps a path once however deep it is, but a
/// snapshot spells out every directory on the way, each as a full path: a few megabytes of
/// tar whose files sit a thousand implicit directories deep would make gigabytes of them.
/// Every entry a tar names costs it at least a 512-byte header, so an image whose directories
/// are in its layers stays far inside twice its archive's size; the fixed allowance leaves room
/// for the implicit directories real images have.
pub(super) struct SnapshotBudget {
    left: u64,
}

impl SnapshotBudget {
    /// Memory an entry of the snapshot takes beside its path: the entry, the map's share.
    const ENTRY_COST: u64 = 256;
    const ALLOWANCE: u64 = 48 * 1024 * 1024;

    fn for_archive(archive_bytes: u64) -> Self {
        SnapshotBudget {
            left: archive_bytes
                .saturating_mul(2)
                .saturating_add(Self::ALLOWANCE),
        }
    }

    fn spend(&mut self, path: &str) -> Result<()> {
        let cost = path.len() as u64 + Self::ENTRY_COST;
        self.left = self.left.checked_sub(cost).ok_or_else(|| {
            Error::MalformedArchive(
                "its directories nest too deep to compare in memory (most of them implicit: the layers never name them)".into(),
            )
        })?;
        Ok(())
    }
}

#[derive(Debug, Default)]
pub(super) struct Stack {
    /// Every path the layers named, with what is there now and its past. Deleting a directory
    /// visits only what is there under it, however many deletions came before.
    paths: PathTree<Point>,
    inodes: Vec<Inode>,
    /// Every entry's metadata, when the layers carry it; never changed once stored, so that
    /// hard links can share it.
    metadata: Vec<Metadata>,
    /// The root directory's, from the topmost layer that has an entry for it.
    root: Option<Metadata>,
    layers: Vec<LayerFacts>,
    /// The sum of every size dive saw, the denominator of its efficiency score.
    dive_seen_bytes: u64,
    /// What the image config the layers came with says.
    config: ConfigFacts,
}

#[derive(Default)]
struct Removed {
    files: u32,
    /// What dive would count for the removed versions: regular files' sizes, hard links as 0.
    dive_bytes: u64,
}

impl Stack {
    pub fn with_config(config: ConfigFacts) -> Self {
        Stack {
            config,
            ..Stack::default()
        }
    }

    /// Puts the next layer on top.
    pub fn apply(&mut self, input: LayerInput, checkpoint: &mut Checkpoint) -> Result<()> {
        let layer = u32::try_from(self.layers.len())
            .map_err(|_| Error::MalformedArchive("the image has too many layers".into()))?;
        let mut facts = LayerFacts {
            member: input.member,
            digest: input.digest,
            created_by: input.created_by,
            bytes_added: 0,
            files_added: 0,
            files_changed: 0,
            files_removed: 0,
        };
        if let Some(root) = &input.summary.root {
            self.root = Some(Metadata::clone(root));
        }
        let changes = input.summary.changes.as_slice();

        // Decided before the layer touches anything: "changed" means the path was there below,
        // and dive only scores leaves of this layer's own tree.
        let before: Vec<(bool, bool)> = changes
            .iter()
            .zip(input.summary.holders())
            .map(|(c, holder)| (self.current(&c.path).is_some(), !holder))
            .collect();

        // Whiteouts and opaque markers only ever hide what lower layers had, so applying them
        // first leaves alone whatever this same layer adds at those paths.
        let mut made_opaque = HashSet::new();
        for change in changes {
            checkpoint.step()?;
            match change.what {
                What::Whiteout => {
                    let node = self.paths.insert(&change.path);
                    let was_dir = self.paths.value(node).now.map(|v| v.kind) == Some(Kind::Dir);
                    let removed = self.remove(node, true, layer);
                    facts.files_removed = facts.files_removed.saturating_add(removed.files);
                    // dive sizes a whiteout by the directory it deletes, and a deleted file as
                    // 0, which makes every byte the file ever had count as waste.
                    let size = if was_dir { removed.dive_bytes } else { 0 };
                    self.visit_gone(node, size);
                }
                What::Opaque if made_opaque.insert(&*change.path) => {
                    let node = self.paths.insert(&change.path);
                    let removed = self.remove(node, false, layer);
                    facts.files_removed = facts.files_removed.saturating_add(removed.files);
                }
                _ => {}
            }
        }

        for (change, (existed, leaf)) in changes.iter().zip(before) {
            checkpoint.step()?;
            let (mut new, dive_size) = match &change.what {
                What::Whiteout | What::Opaque => continue,
                What::Dir => (Version::without_bytes(Kind::Dir, layer), 0),
                &What::File { size, capability } => {
                    let origin = self.paths.insert(&change.path);
                    let inode = self.new_inode(size, layer, origin)?;
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
                What::HardLink { target } => (self.link_to(target, layer), 0),
                What::Symlink => (Version::without_bytes(Kind::Symlink, layer), 0),
                What::CharDevice => (Version::without_bytes(Kind::CharDevice, layer), 0),
                What::BlockDevice => (Version::without_bytes(Kind::BlockDevice, layer), 0),
                What::Fifo => (Version::without_bytes(Kind::Fifo, layer), 0),
            };
            // A hard link that found its target has the target's metadata; any other entry
            // brings its own.
            if new.metadata == NO_METADATA {
                if let Some(metadata) = &change.metadata {
                    new.metadata = self.keep(Metadata::clone(metadata))?;
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
            let node = self.paths.insert(&change.path);
            let removed = self.make_parents(node, layer).saturating_add(self.put(
                node,
                new,
                leaf.then_some(dive_size),
            ));
            facts.files_removed = facts.files_removed.saturating_add(removed);
        }
        self.layers.push(facts);
        Ok(())
    }

    /// How many nodes hold the paths: at most two per path the layers name.
    #[cfg(test)]
    pub fn nodes(&self) -> usize {
        self.paths.len()
    }

    fn current(&self, path: &str) -> Option<Version> {
        self.paths.get(path).and_then(|p| p.now)
    }

    fn new_inode(&mut self, size: u64, layer: u32, origin: NodeId) -> Result<u32> {
        let id = u32::try_from(self.inodes.len())
            .ok()
            .filter(|&id| id != NO_INODE)
            .ok_or_else(|| Error::MalformedArchive("the image has too many files".into()))?;
        self.inodes.push(Inode {
            size,
            layer,
            origin,
        });
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

    fn inode_size(&self, inode: u32) -> u64 {
        self.inodes.get(inode as usize).map_or(0, |i| i.size)
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

    /// Makes every ancestor of `node` a directory, as extracting the entry would. Returns how
    /// many files that replaced.
    fn make_parents(&mut self, node: NodeId, layer: u32) -> u32 {
        let dir = Version::without_bytes(Kind::Dir, layer);
        let mut replaced = 0u32;
        let mut child = node;
        while let Some(parent) = self.paths.parent(child) {
            self.paths.edge_mut(child).now = Some(dir);
            if parent == ROOT {
                break;
            }
            let point = self.paths.value_mut(parent);
            match point.now.replace(dir) {
                // Every present path's ancestors are present directories.
                Some(old) if old.kind == Kind::Dir => {
                    point.now = Some(old);
                    break;
                }
                Some(old) => {
                    point.past.displace(old, layer);
                    replaced = replaced.saturating_add(1);
                }
                // Brought back, with whatever past it has.
                None => {}
            }
            child = parent;
        }
        replaced
    }

    /// Sets `node` to `new`, replacing whatever was there (a directory replaced by anything
    /// else takes its whole subtree with it). `dive_size` is `Some` when dive scores this
    /// entry. Returns how many files were removed, not counting a file replaced by a file,
    /// which is a change.
    fn put(&mut self, node: NodeId, new: Version, dive_size: Option<u64>) -> u32 {
        let mut removed = 0u32;
        if self.paths.value(node).now.map(|v| v.kind) == Some(Kind::Dir) && new.kind != Kind::Dir {
            removed = self.remove(node, false, new.layer).files;
        }
        if let Some(size) = dive_size {
            self.dive_seen_bytes = self.dive_seen_bytes.saturating_add(size);
        }
        let point = self.paths.value_mut(node);
        if let Some(old) = point.now.replace(new) {
            if old.kind != Kind::Dir && new.kind == Kind::Dir {
                removed = removed.saturating_add(1);
            }
            point.past.displace(old, new.layer);
        }
        if let Some(size) = dive_size {
            point.past.see(size);
        }
        removed
    }

    /// Removes everything under `node`, and `node` itself if `with_root`, on behalf of `layer`.
    fn remove(&mut self, node: NodeId, with_root: bool, layer: u32) -> Removed {
        let mut removed = Removed::default();
        // Nothing can be under a path that is not there.
        if node != ROOT && self.paths.value(node).now.is_none() {
            return removed;
        }
        if with_root {
            self.take(node, layer, &mut removed);
        }
        let mut below: Vec<NodeId> = self.paths.children(node).collect();
        while let Some(child) = below.pop() {
            // The directories inside its edge are under `node` too, and hold nothing else.
            self.paths.edge_mut(child).now = None;
            if self.take(child, layer, &mut removed) {
                below.extend(self.paths.children(child));
            }
        }
        removed
    }

    /// Takes away what is at `node`, filing it in the node's past. Returns whether anything was.
    fn take(&mut self, node: NodeId, layer: u32, removed: &mut Removed) -> bool {
        let Some(version) = self.paths.value(node).now else {
            return false;
        };
        if version.origin {
            let size = self.inode_size(version.inode);
            removed.dive_bytes = removed.dive_bytes.saturating_add(size);
        }
        if version.kind != Kind::Dir {
            removed.files = removed.files.saturating_add(1);
        }
        let point = self.paths.value_mut(node);
        point.now = None;
        point.past.displace(version, layer);
        true
    }

    /// Records a whiteout the way dive's `Efficiency` does (see [`Past::see`]); the path is
    /// not there any more.
    fn visit_gone(&mut self, node: NodeId, size: u64) {
        self.dive_seen_bytes = self.dive_seen_bytes.saturating_add(size);
        self.paths.value_mut(node).past.see(size);
    }

    /// Every path there now, spelled out, and what is there, in path order: what a snapshot
    /// lists.
    /// Every present path, directories inside edges spelled out, in path order; `Err` once
    /// they would take more memory than `budget` allows.
    fn present_in_path_order(
        &self,
        budget: &mut SnapshotBudget,
        checkpoint: &mut Checkpoint,
    ) -> Result<Vec<(String, Version)>> {
        let mut present = Vec::new();
        let mut todo: Vec<(NodeId, String)> = self
            .paths
            .children(ROOT)
            .map(|c| (c, String::new()))
            .collect();
        while let Some((node, above)) = todo.pop() {
            let mut path = above;
            let in_edge = self.paths.edge(node).now;
            let mut names = self.paths.label(node).split('/').peekable();
            while let Some(name) = names.next() {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(name);
                match in_edge {
                    Some(dir) if names.peek().is_some() => {
                        budget.spend(&path)?;
                        checkpoint.step()?;
                        present.push((path.clone(), dir));
                    }
                    _ => {}
                }
            }
            let Some(version) = self.paths.value(node).now else {
                continue;
            };
            budget.spend(&path)?;
            checkpoint.step()?;
            todo.extend(self.paths.children(node).map(|c| (c, path.clone())));
            present.push((path, version));
        }
        present.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(present)
    }

    /// The final filesystem with each entry's metadata; empty metadata unless the layers were
    /// read with [`Reading::Everything`](super::layer::Reading::Everything).
    /// The final filesystem. `archive_bytes`, the size of the archive read, sets how much
    /// memory the snapshot may take (see [`SnapshotBudget`]).
    pub fn snapshot(&self, archive_bytes: u64, checkpoint: &mut Checkpoint) -> Result<FsSnapshot> {
        let mut budget = SnapshotBudget::for_archive(archive_bytes);
        let present = self.present_in_path_order(&mut budget, checkpoint)?;
        let entries = present.iter().map(|(path, version)| {
            let version = *version;
            let inode = self.inodes.get(version.inode as usize);
            snapshot::Final {
                path,
                kind: version.kind,
                size: inode.map_or(0, |i| i.size),
                metadata: self.metadata.get(version.metadata as usize),
                identity: version.metadata,
                layer: version.layer,
                bytes_from: inode.map(|i| (i.layer, self.paths.path(i.origin))),
            }
        });
        let mut snapshot = snapshot::build(entries, self.root.as_ref());
        snapshot.layers = self
            .layers
            .iter()
            .map(|facts| snapshot::SavedLayer {
                member: facts.member.to_string(),
                diff_id: facts.digest.clone(),
            })
            .collect();
        snapshot.config = self.config.bytes.clone();
        Ok(snapshot)
    }

    pub fn finish(self, checkpoint: &mut Checkpoint) -> Result<AuditReport> {
        let mut alive = vec![false; self.inodes.len()];
        // How many present paths name each inode: more than one makes a hard-link group.
        let mut names = vec![0u32; self.inodes.len()];
        let mut special_files = SpecialFiles::default();
        for (_, point) in self.paths.nodes() {
            checkpoint.step()?;
            let Some(version) = point.now else {
                continue;
            };
            if let Some(alive) = alive.get_mut(version.inode as usize) {
                *alive = true;
            }
            if let Some(names) = names.get_mut(version.inode as usize) {
                *names = names.saturating_add(1);
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
        let mut wasted: Vec<(u64, String, &History, Option<Version>)> = Vec::new();
        let mut dive_min_bytes = 0u64;
        for (node, point) in self.paths.nodes() {
            checkpoint.step()?;
            let past = &point.past;
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
                wasted.push((bytes, self.paths.path(node), history, point.now));
            }
        }
        wasted.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
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
        let mut first_names: HashMap<u32, (String, NodeId)> = HashMap::new();
        for (node, point) in self.paths.nodes() {
            let Some(version) = point.now else {
                continue;
            };
            if names.get(version.inode as usize).is_some_and(|&n| n > 1) {
                let path = self.paths.path(node);
                let first = first_names
                    .entry(version.inode)
                    .or_insert_with(|| (path.clone(), node));
                if path < first.0 {
                    *first = (path, node);
                }
            }
        }
        let bytes_of = |node: NodeId, inode: u32| {
            let claims = match names.get(inode as usize) {
                Some(1) => true,
                Some(_) => first_names.get(&inode).is_some_and(|first| first.1 == node),
                None => false,
            };
            if claims {
                self.inode_size(inode)
            } else {
                0
            }
        };
        let tree = self.tree(checkpoint, bytes_of)?;

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

        Ok(AuditReport {
            layer_bytes,
            filesystem_bytes,
            reclaimable_bytes: layer_bytes.saturating_sub(filesystem_bytes),
            wasted_bytes,
            efficiency,
            base_layers: self.config.base_layers,
            layers,
            wasted_files,
            tree,
            special_files,
        })
    }

    /// The final filesystem by directory, each path charged `bytes_of(node, inode)`. Only the
    /// first levels are spelled out: deeper paths add to their ancestors' totals.
    fn tree(
        &self,
        checkpoint: &mut Checkpoint,
        bytes_of: impl Fn(NodeId, u32) -> u64,
    ) -> Result<TreeNode> {
        let mut tree = tree::Builder::default();
        // The first names of the path being visited, as many as the tree spells out.
        let mut names: Vec<&str> = Vec::new();
        // Each node with the depth of its parent and how many of `names` are the parent's.
        let mut todo: Vec<(NodeId, usize, usize)> =
            self.paths.children(ROOT).map(|c| (c, 0, 0)).collect();
        while let Some((node, mut depth, kept)) = todo.pop() {
            checkpoint.step()?;
            names.truncate(kept);
            let in_edge = self.paths.edge(node).now.is_some();
            let mut labels = self.paths.label(node).split('/').peekable();
            while let Some(name) = labels.next() {
                depth += 1;
                if names.len() < tree::NAMED_LEVELS {
                    names.push(name);
                }
                // A directory deeper than the tree spells out adds nothing to it.
                if in_edge && labels.peek().is_some() && depth <= tree::NAMED_LEVELS {
                    tree.add(&names, depth, true, 0);
                }
            }
            let Some(version) = self.paths.value(node).now else {
                continue;
            };
            tree.add(
                &names,
                depth,
                version.kind == Kind::Dir,
                bytes_of(node, version.inode),
            );
            todo.extend(self.paths.children(node).map(|c| (c, depth, names.len())));
        }
        Ok(tree.finish())
    }
}
