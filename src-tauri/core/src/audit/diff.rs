//! Tells how a squashed image's filesystem differs from its source's, entry by entry.
//!
//! ```no_run
//! # fn demo(source: squashbox_core::audit::FsSnapshot, result: squashbox_core::audit::FsSnapshot) {
//! for difference in squashbox_core::audit::compare(&source, &result) {
//!     println!("{} {:?}: {} → {}", difference.path, difference.what, difference.source, difference.result);
//! }
//! # }
//! ```
//!
//! A directory that is missing, extra, or of another type on one side is one difference: what
//! it holds is counted in that difference's text, not listed again. A size that differs hides
//! the content hash (it differs too). A symlink's mode is not compared: Linux has none to set
//! (symlinks are always `0777`), and Docker ignores the one in the header.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::mem::discriminant;
use std::ops::Bound;
use ts_rs::TS;

use super::snapshot::{EntryKind, FsEntry, FsSnapshot};

/// One way in which the result's filesystem is not the source's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Difference {
    /// Absolute, as in the image (`/usr/bin/ping`).
    pub path: String,
    pub what: DifferenceKind,
    /// The source's side, for people to read (`"4755"`, `"absent"`, `"FIFO"`…).
    pub source: String,
    /// The result's side, in the same words.
    pub result: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum DifferenceKind {
    /// In the source, not in the result.
    Missing,
    /// In the result, not in the source.
    Extra,
    /// Another type of entry (a device node that became a regular file).
    Type,
    /// Permission bits, setuid, setgid or sticky.
    Mode,
    /// Owner uid or gid.
    Owner,
    Size,
    /// Same size, other bytes.
    Content,
    /// A symlink pointing elsewhere.
    LinkTarget,
    /// The `security.capability` xattr added, dropped or changed.
    Capability,
    /// The paths sharing this entry's inode are not the same ones.
    HardLinks,
    /// A device node's major or minor number.
    Device,
}

const ABSENT: &str = "absent";

/// Every difference between `source` and `result`, in path order (and, for one path, in the
/// order of [`DifferenceKind`]). Empty when the result is a faithful copy.
pub fn compare(source: &FsSnapshot, result: &FsSnapshot) -> Vec<Difference> {
    let paths: BTreeSet<&str> = source
        .entries
        .keys()
        .chain(result.entries.keys())
        .map(String::as_str)
        .collect();
    let mut comparison = Comparison {
        source,
        result,
        differences: Vec::new(),
        reported_whole: HashSet::new(),
        reported_links: HashSet::new(),
    };
    for path in paths {
        if comparison.is_under_reported(path) {
            continue;
        }
        match (source.entries.get(path), result.entries.get(path)) {
            (Some(before), Some(after)) => comparison.entry(path, before, after),
            (Some(before), None) => {
                let text = describe(source, path, before);
                comparison.whole(path, DifferenceKind::Missing, text, ABSENT.into());
            }
            (None, Some(after)) => {
                let text = describe(result, path, after);
                comparison.whole(path, DifferenceKind::Extra, ABSENT.into(), text);
            }
            (None, None) => {}
        }
    }
    comparison.differences
}

struct Comparison<'a> {
    source: &'a FsSnapshot,
    result: &'a FsSnapshot,
    differences: Vec<Difference>,
    /// Paths reported as a whole: nothing under them is reported again.
    reported_whole: HashSet<&'a str>,
    /// Hard-link differences already reported, as (source group, result group): every path
    /// of a split group would otherwise report the same split.
    reported_links: HashSet<(Vec<&'a str>, Vec<&'a str>)>,
}

impl<'a> Comparison<'a> {
    fn push(&mut self, path: &str, what: DifferenceKind, source: String, result: String) {
        self.differences.push(Difference {
            path: path.to_owned(),
            what,
            source,
            result,
        });
    }

    fn whole(&mut self, path: &'a str, what: DifferenceKind, source: String, result: String) {
        self.reported_whole.insert(path);
        self.push(path, what, source, result);
    }

    fn is_under_reported(&self, mut path: &str) -> bool {
        while let Some((parent, _)) = path.rsplit_once('/') {
            if self.reported_whole.contains(parent) {
                return true;
            }
            path = parent;
        }
        false
    }

    fn entry(&mut self, path: &'a str, before: &FsEntry, after: &FsEntry) {
        use DifferenceKind as D;
        if discriminant(&before.kind) != discriminant(&after.kind) {
            let (source, result) = (
                describe(self.source, path, before),
                describe(self.result, path, after),
            );
            self.whole(path, D::Type, source, result);
            return;
        }
        if before.kind != after.kind {
            let numbers = |kind| match kind {
                EntryKind::CharDevice { major, minor }
                | EntryKind::BlockDevice { major, minor } => {
                    format!("{major}:{minor}")
                }
                _ => String::new(),
            };
            self.push(path, D::Device, numbers(before.kind), numbers(after.kind));
        }
        if before.kind != EntryKind::Symlink && before.mode != after.mode {
            let mode = |entry: &FsEntry| format!("{:04o}", entry.mode);
            self.push(path, D::Mode, mode(before), mode(after));
        }
        if (before.uid, before.gid) != (after.uid, after.gid) {
            let owner = |entry: &FsEntry| format!("{}:{}", entry.uid, entry.gid);
            self.push(path, D::Owner, owner(before), owner(after));
        }
        if before.size != after.size {
            let size = |entry: &FsEntry| format!("{} bytes", entry.size);
            self.push(path, D::Size, size(before), size(after));
        } else if before.sha256 != after.sha256 {
            let hash = |entry: &FsEntry| entry.sha256.map_or_else(|| "none".into(), sha256_text);
            self.push(path, D::Content, hash(before), hash(after));
        }
        if before.link_target != after.link_target {
            let target = |entry: &FsEntry| entry.link_target.clone().unwrap_or_default();
            self.push(path, D::LinkTarget, target(before), target(after));
        }
        if before.capability != after.capability {
            let capability = |entry: &FsEntry| {
                entry
                    .capability
                    .as_deref()
                    .map_or_else(|| "none".into(), hex)
            };
            self.push(path, D::Capability, capability(before), capability(after));
        }
        if before.kind != EntryKind::Dir {
            self.hard_links(path);
        }
    }

    /// Compares the paths `path` shares its inode with, among the paths both sides have (one
    /// that is missing is reported as missing, not as a broken link).
    fn hard_links(&mut self, path: &str) {
        let linked = linked_on_both(self.source, self.result, path);
        let linked_after = linked_on_both(self.result, self.source, path);
        if linked != linked_after
            && self
                .reported_links
                .insert((linked.clone(), linked_after.clone()))
        {
            let (source, result) = (links_text(&linked), links_text(&linked_after));
            self.push(path, DifferenceKind::HardLinks, source, result);
        }
    }
}

/// `path`'s hard-link group in `snapshot`, cut to the paths `other` has too; empty when that
/// leaves `path` alone.
fn linked_on_both<'s>(snapshot: &'s FsSnapshot, other: &FsSnapshot, path: &str) -> Vec<&'s str> {
    let group: Vec<&str> = snapshot
        .hard_links_of(path)
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .filter(|linked| other.entries.contains_key(*linked))
        .collect();
    if group.len() > 1 {
        group
    } else {
        Vec::new()
    }
}

fn links_text(group: &[&str]) -> String {
    if group.is_empty() {
        "not hard-linked".into()
    } else {
        group.join(", ")
    }
}

/// An entry in a few words, for missing, extra and retyped entries.
fn describe(snapshot: &FsSnapshot, path: &str, entry: &FsEntry) -> String {
    match entry.kind {
        EntryKind::File => format!("regular file, {} bytes", entry.size),
        EntryKind::Dir => {
            // Exactly the paths that start with `path/`: '0' is the character after '/'.
            let (from, to) = (format!("{path}/"), format!("{path}0"));
            let below = (Bound::Included(from.as_str()), Bound::Excluded(to.as_str()));
            match snapshot.entries.range::<str, _>(below).count() {
                0 => "empty directory".into(),
                1 => "directory with 1 entry".into(),
                n => format!("directory with {n} entries"),
            }
        }
        EntryKind::Symlink => format!(
            "symlink to {}",
            entry.link_target.as_deref().unwrap_or_default()
        ),
        EntryKind::CharDevice { major, minor } => format!("character device {major}:{minor}"),
        EntryKind::BlockDevice { major, minor } => format!("block device {major}:{minor}"),
        EntryKind::Fifo => "FIFO".into(),
    }
}

fn sha256_text(digest: [u8; 32]) -> String {
    format!("sha256:{}", hex(&digest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
