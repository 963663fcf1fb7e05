//! The final filesystem as nested directories with cumulative sizes, cut down to what a chart
//! can show: a few levels deep, the biggest entries of each directory, and the rest lumped
//! into one [`OtherEntries`] per directory.
//!
//! ```text
//! let root = tree::build(entries_of_the_final_filesystem);
//! ```

use std::collections::{HashMap, VecDeque};

use super::{OtherEntries, TreeNode, TreeNodeKind};

/// Levels below the root that are listed; deeper entries only add to their ancestors' totals.
const MAX_DEPTH: usize = 4;
/// Entries listed per directory, biggest first.
const MAX_CHILDREN: usize = 50;
/// Nodes listed in the whole tree, so a report stays small enough to send to the window.
/// Shallow levels are listed first, so only the deepest ones ever go without.
const MAX_NODES: usize = 3000;

/// A path of the final filesystem and the bytes charged to it.
pub(super) struct Entry<'a> {
    pub path: &'a str,
    pub is_dir: bool,
    pub bytes: u64,
}

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

pub(super) fn build<'a>(entries: impl Iterator<Item = Entry<'a>>) -> TreeNode {
    let mut drafts = vec![Draft::new("/", 0)];
    if let Some(root) = drafts.first_mut() {
        root.is_dir = true;
    }
    let mut index: HashMap<(usize, &'a str), usize> = HashMap::new();

    for entry in entries {
        let file = u32::from(!entry.is_dir);
        let depth = entry.path.split('/').count();
        let mut node = 0;
        add(&mut drafts, node, entry.bytes, file);
        // One level more than is listed, so the deepest listed directories know their entries.
        for (level, name) in (1..=MAX_DEPTH + 1).zip(entry.path.split('/')) {
            node = match index.get(&(node, name)) {
                Some(&child) => child,
                None => {
                    let child = drafts.len();
                    drafts.push(Draft::new(name, level));
                    if let Some(parent) = drafts.get_mut(node) {
                        parent.is_dir = true;
                        parent.children.push(child);
                    }
                    index.insert((node, name), child);
                    child
                }
            };
            add(&mut drafts, node, entry.bytes, file);
            if level == depth && entry.is_dir {
                if let Some(draft) = drafts.get_mut(node) {
                    draft.is_dir = true;
                }
            }
        }
    }
    drop(index);

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
