//! The final filesystem as nested directories with cumulative sizes, cut down to what a chart
//! can show: a few levels deep, the biggest entries of each directory, and the rest lumped
//! into one [`OtherEntries`] per directory.
//!
//! ```text
//! let mut tree = tree::Builder::default();
//! tree.add(&["usr", "bin", "env"], 3, false, 10_240); // every path of the final filesystem
//! let root = tree.finish();
//! ```

use std::collections::{HashMap, VecDeque};

use super::{OtherEntries, TreeNode, TreeNodeKind};

/// Levels below the root that are listed; deeper entries only add to their ancestors' totals.
const MAX_DEPTH: usize = 4;
/// The names of a path the tree needs: one level more than is listed, so the deepest listed
/// directories know their entries.
pub(super) const NAMED_LEVELS: usize = MAX_DEPTH + 1;
/// Entries listed per directory, biggest first.
const MAX_CHILDREN: usize = 50;
/// Nodes listed in the whole tree, so a report stays small enough to send to the window.
/// Shallow levels are listed first, so only the deepest ones ever go without.
const MAX_NODES: usize = 3000;

/// A node while the tree is counted, before it is cut down.
struct Draft<'a> {
    name: &'a str,
    is_dir: bool,
    depth: usize,
    bytes: u64,
    files: u32,
    children: Vec<usize>,
    /// How many children make it into the report; decided once all are counted.
    listed: usize,
}

impl<'a> Draft<'a> {
    fn new(name: &'a str, depth: usize) -> Self {
        Draft {
            name,
            is_dir: false,
            depth,
            bytes: 0,
            files: 0,
            children: Vec::new(),
            listed: 0,
        }
    }
}

/// Counts the final filesystem, path by path, in any order.
pub(super) struct Builder<'a> {
    drafts: Vec<Draft<'a>>,
    index: HashMap<(usize, &'a str), usize>,
}

impl Default for Builder<'_> {
    fn default() -> Self {
        let mut root = Draft::new("/", 0);
        root.is_dir = true;
        Builder {
            drafts: vec![root],
            index: HashMap::new(),
        }
    }
}

impl<'a> Builder<'a> {
    /// A path of the final filesystem, `depth` names long, of which `names` are the first
    /// (at least [`NAMED_LEVELS`] of them, or all), with the bytes charged to it.
    pub fn add(&mut self, names: &[&'a str], depth: usize, is_dir: bool, bytes: u64) {
        let drafts = &mut self.drafts;
        let file = u32::from(!is_dir);
        let mut node = 0;
        add(drafts, node, bytes, file);
        for (level, &name) in (1..=NAMED_LEVELS).zip(names) {
            node = match self.index.get(&(node, name)) {
                Some(&child) => child,
                None => {
                    let child = drafts.len();
                    drafts.push(Draft::new(name, level));
                    if let Some(parent) = drafts.get_mut(node) {
                        parent.is_dir = true;
                        parent.children.push(child);
                    }
                    self.index.insert((node, name), child);
                    child
                }
            };
            add(drafts, node, bytes, file);
            if level == depth && is_dir {
                if let Some(draft) = drafts.get_mut(node) {
                    draft.is_dir = true;
                }
            }
        }
    }

    pub fn finish(self) -> TreeNode {
        build(self.drafts)
    }
}

fn build(mut drafts: Vec<Draft>) -> TreeNode {
    // Biggest first; names break ties so the report is the same on every run.
    let order: Vec<Vec<usize>> = drafts
        .iter()
        .map(|draft| {
            let mut children = draft.children.clone();
            children.sort_by_key(|&child| {
                drafts
                    .get(child)
                    .map(|d| (std::cmp::Reverse(d.bytes), d.name))
            });
            children
        })
        .collect();
    for (draft, children) in drafts.iter_mut().zip(order) {
        draft.children = children;
    }

    // Breadth first, so the node budget goes to the shallow levels.
    let mut budget = MAX_NODES;
    let mut queue = VecDeque::from([0usize]);
    while let Some(node) = queue.pop_front() {
        let Some(draft) = drafts.get_mut(node) else {
            continue;
        };
        if draft.depth >= MAX_DEPTH {
            continue;
        }
        let listed = draft.children.len().min(MAX_CHILDREN).min(budget);
        budget -= listed;
        draft.listed = listed;
        queue.extend(draft.children.iter().take(listed));
    }

    finish(&drafts, 0)
}

fn add(drafts: &mut [Draft], node: usize, bytes: u64, files: u32) {
    if let Some(draft) = drafts.get_mut(node) {
        draft.bytes = draft.bytes.saturating_add(bytes);
        draft.files = draft.files.saturating_add(files);
    }
}

fn finish(drafts: &[Draft], node: usize) -> TreeNode {
    let Some(draft) = drafts.get(node) else {
        return TreeNode::default();
    };
    let (listed, rest) = draft
        .children
        .split_at(draft.listed.min(draft.children.len()));
    let other = (!rest.is_empty()).then(|| {
        let mut other = OtherEntries::default();
        for child in rest.iter().filter_map(|&c| drafts.get(c)) {
            other.entries = other.entries.saturating_add(1);
            other.bytes = other.bytes.saturating_add(child.bytes);
            other.files = other.files.saturating_add(child.files);
        }
        other
    });
    TreeNode {
        name: draft.name.to_string(),
        kind: if draft.is_dir {
            TreeNodeKind::Directory
        } else {
            TreeNodeKind::File
        },
        bytes: draft.bytes,
        files: draft.files,
        children: listed.iter().map(|&child| finish(drafts, child)).collect(),
        other,
    }
}
