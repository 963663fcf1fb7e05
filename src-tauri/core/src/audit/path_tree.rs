//! The paths of a filesystem as a tree whose edges may span several components: a deep path
//! whose parent directories no entry names costs one node, not one per level, and no path is
//! spelled out whole at every level of its ancestors.
//!
//! Every *point* (a path) is a node, with a value of its own, or lies inside the edge from a
//! node up to its parent, where all points share the edge's value. A point becomes a node when
//! it needs a value of its own ([`PathTree::insert`] splits the edge), so the tree never holds
//! more than two nodes per path inserted, however deep the paths.
//!
//! ```text
//! let mut paths = PathTree::<u8>::default();
//! let file = paths.insert("a/b/c/file"); // one node; "a", "a/b" and "a/b/c" lie in its edge
//! *paths.edge_mut(file) = 1;             // …and all three read 1
//! let dir = paths.insert("a/b");         // splits the edge: "a/b" is a node, "a" still reads 1
//! ```

use std::collections::BTreeMap;

/// Stable for the tree's life: splitting an edge adds a node and moves none.
pub(super) type NodeId = usize;
/// The root directory, the path `""`.
pub(super) const ROOT: NodeId = 0;

#[derive(Debug)]
struct Node<T> {
    parent: NodeId,
    /// The components from the parent to this node, joined by `/`; empty for the root only.
    label: Box<str>,
    /// Keyed by the first component of their label.
    children: BTreeMap<Box<str>, NodeId>,
    value: T,
    /// The value of the points inside the edge up to the parent (none for a one-component
    /// label).
    edge: T,
}

impl<T: Default> Node<T> {
    fn new(parent: NodeId, label: &str, edge: T) -> Self {
        Node {
            parent,
            label: label.into(),
            children: BTreeMap::new(),
            value: T::default(),
            edge,
        }
    }
}

#[derive(Debug)]
pub(super) struct PathTree<T> {
    nodes: Vec<Node<T>>,
}

impl<T: Default> Default for PathTree<T> {
    fn default() -> Self {
        PathTree {
            nodes: vec![Node::new(ROOT, "", T::default())],
        }
    }
}

/// Where a path falls in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spot {
    Node(NodeId),
    /// Inside the edge from this node up to its parent.
    InEdge(NodeId),
    /// Nowhere: nothing was ever inserted at or below it.
    Outside,
}

impl<T: Default + Clone> PathTree<T> {
    pub fn find(&self, path: &str) -> Spot {
        let mut node = ROOT;
        let mut rest = path;
        while !rest.is_empty() {
            let Some(&child) = self.nodes[node].children.get(first_component(rest)) else {
                return Spot::Outside;
            };
            let label = &*self.nodes[child].label;
            match after_components(rest, label) {
                Some("") => return Spot::Node(child),
                Some(below) => {
                    node = child;
                    rest = below;
                }
                None if after_components(label, rest).is_some() => return Spot::InEdge(child),
                None => return Spot::Outside,
            }
        }
        Spot::Node(node)
    }

    /// The value at `path`, `None` when the tree never reached it.
    pub fn get(&self, path: &str) -> Option<&T> {
        match self.find(path) {
            Spot::Node(node) => Some(&self.nodes[node].value),
            Spot::InEdge(node) => Some(&self.nodes[node].edge),
            Spot::Outside => None,
        }
    }

    /// Makes `path` a node and returns it. A point that lay inside an edge keeps the edge's
    /// value; a new path gets the default, and so do the points between it and the tree.
    pub fn insert(&mut self, path: &str) -> NodeId {
        let mut node = ROOT;
        let mut rest = path;
        while !rest.is_empty() {
            let first = first_component(rest);
            let Some(&child) = self.nodes[node].children.get(first) else {
                let leaf = self.nodes.len();
                self.nodes.push(Node::new(node, rest, T::default()));
                self.nodes[node].children.insert(first.into(), leaf);
                return leaf;
            };
            let shared = shared_components(rest, &self.nodes[child].label);
            if shared < self.nodes[child].label.len() {
                self.split(child, shared);
            }
            // The child (or the new node in its place) now ends where `rest` and it part.
            let Some(&child) = self.nodes[node].children.get(first) else {
                return node;
            };
            node = child;
            rest = rest
                .get(shared..)
                .map_or("", |r| r.strip_prefix('/').unwrap_or(r));
        }
        node
    }

    /// Cuts the edge above `node` after the first `at` bytes of its label (a component
    /// boundary), putting a new node there with the edge's value.
    fn split(&mut self, node: NodeId, at: usize) {
        let label = std::mem::take(&mut self.nodes[node].label);
        let (upper, lower) = label.split_at(at);
        let lower = lower.strip_prefix('/').unwrap_or(lower);
        let parent = self.nodes[node].parent;
        let edge = self.nodes[node].edge.clone();
        let middle = self.nodes.len();
        let mut split = Node::new(parent, upper, edge.clone());
        split.value = edge;
        split.children.insert(first_component(lower).into(), node);
        self.nodes.push(split);
        self.nodes[parent]
            .children
            .insert(first_component(upper).into(), middle);
        let moved = &mut self.nodes[node];
        moved.parent = middle;
        moved.label = lower.into();
    }

    pub fn value(&self, node: NodeId) -> &T {
        &self.nodes[node].value
    }

    pub fn value_mut(&mut self, node: NodeId) -> &mut T {
        &mut self.nodes[node].value
    }

    pub fn edge(&self, node: NodeId) -> &T {
        &self.nodes[node].edge
    }

    pub fn edge_mut(&mut self, node: NodeId) -> &mut T {
        &mut self.nodes[node].edge
    }

    /// `None` for the root.
    pub fn parent(&self, node: NodeId) -> Option<NodeId> {
        (node != ROOT).then(|| self.nodes[node].parent)
    }

    pub fn label(&self, node: NodeId) -> &str {
        &self.nodes[node].label
    }

    /// In the order of their labels.
    pub fn children(&self, node: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes[node].children.values().copied()
    }

    /// Every node, the root first.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &T)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .map(|(id, node)| (id, &node.value))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The node's path, spelled out.
    pub fn path(&self, node: NodeId) -> String {
        let mut labels = Vec::new();
        let mut at = node;
        while let Some(parent) = self.parent(at) {
            labels.push(self.label(at));
            at = parent;
        }
        labels.reverse();
        labels.join("/")
    }
}

fn first_component(path: &str) -> &str {
    path.split_once('/').map_or(path, |(first, _)| first)
}

/// What follows `prefix` in `path` when `prefix` is whole components of it: `Some("")` for
/// `path` itself.
fn after_components<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    match path.strip_prefix(prefix)? {
        "" => Some(""),
        rest => rest.strip_prefix('/'),
    }
}

/// How many bytes of whole components `a` and `b` start with alike.
fn shared_components(a: &str, b: &str) -> usize {
    let mut shared = 0;
    for (x, y) in a.split('/').zip(b.split('/')) {
        if x != y {
            break;
        }
        shared = if shared == 0 {
            x.len()
        } else {
            shared + 1 + x.len()
        };
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deep_path_is_one_node_until_a_point_inside_it_needs_its_own() {
        let mut paths = PathTree::<u8>::default();
        let file = paths.insert("a/b/c/file");
        assert_eq!(paths.len(), 2);
        *paths.edge_mut(file) = 1;
        *paths.value_mut(file) = 2;
        assert_eq!(paths.find("a/b"), Spot::InEdge(file));
        assert_eq!(paths.get("a/b"), Some(&1));
        assert_eq!(paths.get("a/b/c/file"), Some(&2));
        assert_eq!(paths.get("a/bc"), None);
        assert_eq!(paths.get("a/b/c/file/below"), None);

        let dir = paths.insert("a/b");
        assert_eq!(paths.len(), 3);
        assert_eq!(paths.find("a/b"), Spot::Node(dir));
        assert_eq!(paths.value(dir), &1, "the new node keeps the edge's value");
        assert_eq!(paths.get("a"), Some(&1));
        assert_eq!(paths.get("a/b/c"), Some(&1));
        assert_eq!(paths.parent(file), Some(dir));
        assert_eq!(paths.label(file), "c/file");
        assert_eq!(paths.path(file), "a/b/c/file");
        assert_eq!(paths.insert("a/b/c/file"), file);
    }

    #[test]
    fn paths_that_part_inside_an_edge_split_it_there() {
        let mut paths = PathTree::<u8>::default();
        let one = paths.insert("usr/lib/one");
        let two = paths.insert("usr/share/two");
        let usr = match paths.find("usr") {
            Spot::Node(node) => node,
            other => panic!("usr is {other:?}"),
        };
        assert_eq!(paths.children(usr).collect::<Vec<_>>(), vec![one, two]);
        assert_eq!(paths.path(two), "usr/share/two");
        // Names that share bytes but not whole components do not match.
        assert_eq!(paths.get("usr/li"), None);
        let lib2 = paths.insert("usr/lib2");
        assert_eq!(paths.path(lib2), "usr/lib2");
        assert_eq!(paths.find("usr/lib/one"), Spot::Node(one));
        assert_eq!(paths.len(), 5);
    }
}
