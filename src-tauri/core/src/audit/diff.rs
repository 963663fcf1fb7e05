//! Tells how a squashed image's filesystem differs from its source's, entry by entry.
//!
//! ```no_run
//! # fn demo(source: squashbox_core::audit::FsSnapshot, result: squashbox_core::audit::FsSnapshot) -> squashbox_core::Result<()> {
//! use squashbox_core::audit::{compare, MtimeCheck};
//! use squashbox_core::job::CancelToken;
//! let found = compare(&source, &result, MtimeCheck::WholeSeconds, &CancelToken::new())?;
//! for difference in &found.differences {
//!     println!("{} {:?}: {} → {}", difference.path, difference.what, difference.source, difference.result);
//! }
//! for lost in &found.mtimes_let_through {
//!     println!("{:?}: {} entries, the first {}", lost.why, lost.entries, lost.first.path);
//! }
//! # Ok(()) }
//! ```
//!
//! Async callers use [`compare_on_blocking_pool`]: an image of a few hundred thousand files
//! takes long enough to compare that it must not hold a runtime thread.
//!
//! A directory that is missing, extra, or of another type on one side is one difference: what
//! it holds is counted in that difference's text, not listed again. A size that differs hides
//! the content hash (it differs too). A symlink's mode is not compared: Linux has none to set
//! (symlinks are always `0777`), and Docker ignores the one in the header.
//!
//! Every xattr is compared by its bytes, POSIX ACLs included, in whichever form the layers
//! hold them: a `system.posix_acl_*` xattr and a tar ACL record (`SCHILY.acl.access`) are
//! never taken for each other. The root directory is compared when either side's layers
//! describe it; a side that does not has the root Docker makes (`0755`, owned by root, no
//! xattrs). When neither does, both roots are the runtime's and there is nothing to compare.
//!
//! Modification times are compared as closely as the caller's [`MtimeCheck`] says; what it
//! lets through is counted in [`FsComparison::mtimes_let_through`], never dropped unsaid. A
//! time only the source's layers give (the root's, when the result has no entry for it) is
//! counted there too, under any check but [`MtimeCheck::Ignore`]: the daemon stamps such a
//! directory when it unpacks the image, so no copy can be held to it.
//!
//! Hard-link groups are compared in time linear in their sizes: each group is cut to the
//! paths both sides have once, not once per member.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::mem::discriminant;
use std::ops::Bound;
use std::sync::Arc;
use ts_rs::TS;

use super::snapshot::{EntryKind, FsEntry, FsSnapshot, Mtime, CAPABILITY_XATTR};
use crate::error::{Error, Result};
use crate::job::CancelToken;

/// One way in which the result's filesystem is not the source's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Difference {
    /// Absolute, as in the image (`/usr/bin/ping`; `/` for the root directory).
    pub path: String,
    pub what: DifferenceKind,
    /// The source's side, for people to read (`"4755"`, `"absent"`, `"FIFO"`…).
    pub source: String,
    /// The result's side, in the same words.
    pub result: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum DifferenceKind {
    /// In the source, not in the result.
    Missing,
    /// In the result, not in the source.
    Extra,
    /// Another type of entry (a device node that became a regular file).
    Type,
    /// A device node's major or minor number.
    Device,
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
    /// A POSIX ACL (access or default) added, dropped or changed; the texts name the xattr or
    /// tar record that holds it (`system.posix_acl_access = user::rw-,…`).
    Acl,
    /// Any other xattr added, dropped or changed; the texts name it (`user.origin = "cli"`).
    Xattr,
    /// The paths sharing this entry's inode are not the same ones.
    HardLinks,
    /// The modification time, beyond what the [`MtimeCheck`] lets through; the texts are
    /// seconds since the epoch, as `stat -c %.9Y` prints them (`1700000003.25`).
    Mtime,
}

/// How closely [`compare`] looks at modification times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtimeCheck {
    /// To the nanosecond: what a layer written from the source's own entries keeps.
    Exact,
    /// To the second, as a copy that the daemon unpacks and packs again keeps them (measured
    /// in `squash/verify.rs`): a time cut or rounded to a whole second passes as
    /// [`MtimeLoss::Fraction`], and one the daemon's unpacker cannot set (before 1970, after
    /// 2262) that became the epoch passes as [`MtimeLoss::OutOfRange`].
    WholeSeconds,
    /// Not compared.
    Ignore,
}

/// What [`compare`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsComparison {
    /// Every difference, in path order (and, for one path, in the order of
    /// [`DifferenceKind`]). Empty when the result is a faithful copy.
    pub differences: Vec<Difference>,
    /// Modification times that differ but that the check let through, one group per reason,
    /// in the order of [`MtimeLoss`].
    pub mtimes_let_through: Vec<LostMtimes>,
}

/// The modification times [`compare`] let through for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostMtimes {
    pub why: MtimeLoss,
    pub entries: u64,
    /// The first of them in path order (the root before any other), as a
    /// [`DifferenceKind::Mtime`] difference would show it.
    pub first: Difference,
}

/// Why a modification time that differs was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MtimeLoss {
    /// Cut or rounded to a whole second.
    Fraction,
    /// Before 1970 or after 2262, now the epoch.
    OutOfRange,
    /// The result's layers have no entry for it: the daemon stamps it when it unpacks them.
    Unstamped,
}

impl MtimeCheck {
    /// Why `result` may stand for `source`, when it is not the same time; `None` when it may
    /// not.
    fn allows(self, source: Mtime, result: Mtime) -> Option<MtimeLoss> {
        if self != MtimeCheck::WholeSeconds || result.nanos != 0 {
            return None;
        }
        let rounded_up = source.nanos > 0 && source.seconds.checked_add(1) == Some(result.seconds);
        if result.seconds == source.seconds || rounded_up {
            Some(MtimeLoss::Fraction)
        } else if result == EPOCH && !(EPOCH..=LATEST_UNPACKED).contains(&source) {
            Some(MtimeLoss::OutOfRange)
        } else {
            None
        }
    }
}

const ABSENT: &str = "absent";
const ROOT: &str = "/";
/// The xattrs that hold POSIX ACLs: `system.posix_acl_access`, `system.posix_acl_default`.
const ACL_XATTR_PREFIX: &str = "system.posix_acl_";
/// How many paths the comparison goes through between two looks at the cancel token.
const PATHS_BETWEEN_CHECKS: usize = 4096;
/// How many paths of a hard-link group a difference's text names; the rest are counted.
const LINKS_NAMED: usize = 10;
const EPOCH: Mtime = Mtime {
    seconds: 0,
    nanos: 0,
};
/// The latest time the daemon's unpacker sets (Go's `time.Unix(0, 1<<63-1)`); it sets later
/// ones, and those before 1970, to the epoch (Engine 20.10 and Podman 4.3 both, seen here).
const LATEST_UNPACKED: Mtime = Mtime {
    seconds: 9_223_372_036,
    nanos: 854_775_807,
};
/// The text of a time the result's layers do not give.
const UNSTAMPED: &str = "none: stamped when unpacked";

/// Every difference between `source` and `result`, modification times compared as `mtimes`
/// says, and the times it let through.
///
/// Runs on the calling thread and stops with [`Error::Cancelled`] soon after `cancel` fires.
pub fn compare(
    source: &FsSnapshot,
    result: &FsSnapshot,
    mtimes: MtimeCheck,
    cancel: &CancelToken,
) -> Result<FsComparison> {
    let paths: BTreeSet<&str> = source
        .entries
        .keys()
        .chain(result.entries.keys())
        .map(String::as_str)
        .collect();
    let mut comparison = Comparison {
        source,
        result,
        links: Links::new(source, result),
        mtimes,
        differences: Vec::new(),
        let_through: BTreeMap::new(),
        reported_whole: HashSet::new(),
        reported_links: HashSet::new(),
    };
    if source.root.is_some() || result.root.is_some() {
        let runtime_root = FsEntry::runtime_root();
        let before = source.root.as_ref().unwrap_or(&runtime_root);
        let after = result.root.as_ref().unwrap_or(&runtime_root);
        comparison.entry(ROOT, before, after);
    }
    for (index, path) in paths.into_iter().enumerate() {
        if index % PATHS_BETWEEN_CHECKS == 0 && cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
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
    Ok(FsComparison {
        differences: comparison.differences,
        mtimes_let_through: comparison.let_through.into_values().collect(),
    })
}

/// [`compare`] on Tokio's blocking pool, so that a long comparison holds none of the
/// runtime's threads; `cancel` stops it the same way.
pub async fn compare_on_blocking_pool(
    source: Arc<FsSnapshot>,
    result: Arc<FsSnapshot>,
    mtimes: MtimeCheck,
    cancel: CancelToken,
) -> Result<FsComparison> {
    match tokio::task::spawn_blocking(move || compare(&source, &result, mtimes, &cancel)).await {
        Ok(differences) => differences,
        // A panic is a bug of the comparison's, not an answer: it goes on in the caller.
        Err(stopped) if stopped.is_panic() => std::panic::resume_unwind(stopped.into_panic()),
        // The runtime is shutting down.
        Err(_) => Err(Error::Cancelled),
    }
}

struct Comparison<'a> {
    source: &'a FsSnapshot,
    result: &'a FsSnapshot,
    links: Links<'a>,
    mtimes: MtimeCheck,
    differences: Vec<Difference>,
    let_through: BTreeMap<MtimeLoss, LostMtimes>,
    /// Paths reported as a whole: nothing under them is reported again.
    reported_whole: HashSet<&'a str>,
    /// Hard-link differences already reported, as (source group, result group) indexes into
    /// [`Links`]: every path of a split group would otherwise report the same split.
    reported_links: HashSet<(Option<usize>, Option<usize>)>,
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
        self.xattrs(path, before, after);
        if before.kind != EntryKind::Dir {
            self.hard_links(path, before, after);
        }
        self.mtime(path, before.mtime, after.mtime);
    }

    /// A time the source's layers give and the result does not keep: a difference, or let
    /// through and counted. A time only the result gives was never the source's to keep.
    fn mtime(&mut self, path: &str, before: Option<Mtime>, after: Option<Mtime>) {
        let Some(was) = before.filter(|_| self.mtimes != MtimeCheck::Ignore) else {
            return;
        };
        let why = match after {
            Some(is) if is == was => return,
            Some(is) => self.mtimes.allows(was, is),
            None => Some(MtimeLoss::Unstamped),
        };
        let shown = |time: Option<Mtime>| time.map_or_else(|| UNSTAMPED.into(), Mtime::to_pax);
        let Some(why) = why else {
            self.push(path, DifferenceKind::Mtime, was.to_pax(), shown(after));
            return;
        };
        // Only the first is spelled out: a copy may cut hundreds of thousands.
        let lost = self.let_through.entry(why).or_insert_with(|| LostMtimes {
            why,
            entries: 0,
            first: Difference {
                path: path.to_owned(),
                what: DifferenceKind::Mtime,
                source: was.to_pax(),
                result: shown(after),
            },
        });
        lost.entries += 1;
    }

    /// One difference per xattr or tar ACL record that one side has and the other has not,
    /// or has with other bytes.
    fn xattrs(&mut self, path: &str, before: &FsEntry, after: &FsEntry) {
        use DifferenceKind as D;
        let mut found = Vec::new();
        for (name, was, is) in changed(&before.xattrs, &after.xattrs) {
            if name == CAPABILITY_XATTR {
                let capability = |value: Option<&[u8]>| value.map_or_else(|| "none".into(), hex);
                found.push((D::Capability, capability(was), capability(is)));
            } else {
                let what = if name.starts_with(ACL_XATTR_PREFIX) {
                    D::Acl
                } else {
                    D::Xattr
                };
                found.push((what, xattr_text(name, was), xattr_text(name, is)));
            }
        }
        for (kind, was, is) in changed(&before.acls, &after.acls) {
            let record = format!("SCHILY.acl.{kind}");
            found.push((D::Acl, xattr_text(&record, was), xattr_text(&record, is)));
        }
        // Stable: by kind, then by name.
        found.sort_by_key(|(what, _, _)| *what);
        for (what, source, result) in found {
            self.push(path, what, source, result);
        }
    }

    /// Compares the paths `path` shares its inode with, among the paths both sides have (one
    /// that is missing is reported as missing, not as a broken link).
    fn hard_links(&mut self, path: &str, before: &FsEntry, after: &FsEntry) {
        let groups = self.links.groups(before, after);
        let same = match groups {
            (None, None) => true,
            (Some(group), Some(_)) => self.links.kept.get(group).copied().unwrap_or(false),
            _ => false,
        };
        if !same && self.reported_links.insert(groups) {
            let (source, result) = (
                links_text(Links::paths(&self.links.source, groups.0)),
                links_text(Links::paths(&self.links.result, groups.1)),
            );
            self.push(path, DifferenceKind::HardLinks, source, result);
        }
    }
}

/// Both sides' hard-link groups cut to the paths both sides have, worked out once per group
/// so that comparing a group of n paths costs O(n), not O(n²).
struct Links<'a> {
    /// Per group of the source: its paths the result has too, or none when fewer than two.
    source: Vec<Vec<&'a str>>,
    /// The same per group of the result.
    result: Vec<Vec<&'a str>>,
    /// Per group of the source: the result links exactly its cut paths together.
    kept: Vec<bool>,
}

impl<'a> Links<'a> {
    fn new(source: &'a FsSnapshot, result: &'a FsSnapshot) -> Self {
        let cut = |snapshot: &'a FsSnapshot, other: &FsSnapshot| -> Vec<Vec<&'a str>> {
            let linked = snapshot.hard_link_groups.iter().map(|group| {
                let paths: Vec<&str> = group
                    .iter()
                    .map(String::as_str)
                    .filter(|path| other.entries.contains_key(*path))
                    .collect();
                if paths.len() > 1 {
                    paths
                } else {
                    Vec::new()
                }
            });
            linked.collect()
        };
        let (source_cut, result_cut) = (cut(source, result), cut(result, source));
        // Its cut paths all in one group of the result, which the cut leaves as large: the
        // same paths.
        let kept = source_cut
            .iter()
            .map(|paths| {
                let mut groups = paths
                    .iter()
                    .map(|path| result.entries.get(*path).and_then(|e| e.hard_link_group));
                match groups.next() {
                    Some(Some(first)) => {
                        groups.all(|group| group == Some(first))
                            && result_cut.get(first).map(Vec::len) == Some(paths.len())
                    }
                    _ => false,
                }
            })
            .collect();
        Links {
            source: source_cut,
            result: result_cut,
            kept,
        }
    }

    /// The groups an entry is in on each side, as indexes of cut groups that still link
    /// paths together.
    fn groups(&self, before: &FsEntry, after: &FsEntry) -> (Option<usize>, Option<usize>) {
        let linked = |cut: &[Vec<&str>], group: Option<usize>| {
            group.filter(|&group| cut.get(group).is_some_and(|paths| !paths.is_empty()))
        };
        (
            linked(&self.source, before.hard_link_group),
            linked(&self.result, after.hard_link_group),
        )
    }

    fn paths<'c>(cut: &'c [Vec<&'a str>], group: Option<usize>) -> &'c [&'a str] {
        group
            .and_then(|group| cut.get(group))
            .map_or(&[], Vec::as_slice)
    }
}

fn links_text(group: &[&str]) -> String {
    if group.is_empty() {
        return "not hard-linked".into();
    }
    let (named, others) = group.split_at(group.len().min(LINKS_NAMED));
    match others.len() {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}

/// A name, with its value on each side (`None` on a side that lacks it).
type Changed<'m> = (&'m str, Option<&'m [u8]>, Option<&'m [u8]>);

/// The names whose values differ between two maps, in name order.
fn changed<'m>(
    before: &'m BTreeMap<String, Vec<u8>>,
    after: &'m BTreeMap<String, Vec<u8>>,
) -> Vec<Changed<'m>> {
    let names: BTreeSet<&str> = before
        .keys()
        .chain(after.keys())
        .map(String::as_str)
        .collect();
    names
        .into_iter()
        .map(|name| {
            let value = |map: &'m BTreeMap<String, Vec<u8>>| map.get(name).map(Vec::as_slice);
            (name, value(before), value(after))
        })
        .filter(|(_, was, is)| was != is)
        .collect()
}

/// `user.origin = "cli"`, `security.ima = 0x0304…`, `system.posix_acl_access = user::rw-,…`,
/// or `no user.origin`.
fn xattr_text(name: &str, value: Option<&[u8]>) -> String {
    let Some(value) = value else {
        return format!("no {name}");
    };
    let shown = if name.starts_with(ACL_XATTR_PREFIX) {
        acl_text(value)
    } else {
        std::str::from_utf8(value)
            .ok()
            .filter(|text| !text.contains(char::is_control))
            .map(|text| format!("{text:?}"))
    };
    format!(
        "{name} = {}",
        shown.unwrap_or_else(|| format!("0x{}", hex(value)))
    )
}

/// A `system.posix_acl_*` xattr the way `getfacl` writes it, on one line and with numeric ids
/// (`user::rw-,user:1000:r--,group::r--,mask::r--,other::r--`); `None` for bytes that are not
/// one (version 2, then 8 bytes per entry: tag, permissions, id, little-endian).
fn acl_text(bytes: &[u8]) -> Option<String> {
    let (version, entries) = bytes.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*version) != 2 || entries.len() % 8 != 0 {
        return None;
    }
    let entries = entries.chunks_exact(8).map(|entry| {
        let (tag, rest) = entry.split_first_chunk::<2>()?;
        let (permissions, id) = rest.split_first_chunk::<2>()?;
        let id = u32::from_le_bytes(id.try_into().ok()?);
        let (kind, qualifier) = match u16::from_le_bytes(*tag) {
            0x01 => ("user", String::new()),
            0x02 => ("user", id.to_string()),
            0x04 => ("group", String::new()),
            0x08 => ("group", id.to_string()),
            0x10 => ("mask", String::new()),
            0x20 => ("other", String::new()),
            _ => return None,
        };
        let permissions = u16::from_le_bytes(*permissions);
        let rwx: String = [(4, 'r'), (2, 'w'), (1, 'x')]
            .into_iter()
            .map(|(bit, letter)| if permissions & bit != 0 { letter } else { '-' })
            .collect();
        Some(format!("{kind}:{qualifier}:{rwx}"))
    });
    Some(entries.collect::<Option<Vec<_>>>()?.join(","))
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

pub(crate) fn sha256_text(digest: [u8; 32]) -> String {
    format!("sha256:{}", hex(&digest))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
