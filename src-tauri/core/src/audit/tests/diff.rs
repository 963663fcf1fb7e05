//! Comparing two snapshots (`diff.rs`): each kind of difference, hard-link groups, times, cancel.

use super::*;
use crate::audit::layer;

fn tuples(found: Vec<Difference>) -> Vec<(String, DifferenceKind, String, String)> {
    found
        .into_iter()
        .map(|d| (d.path, d.what, d.source, d.result))
        .collect()
}

/// The reference tree with `edit` applied, compared against the reference tree.
fn differences_after(
    edit: impl FnOnce(&mut Vec<Spec>),
) -> Vec<(String, DifferenceKind, String, String)> {
    let mut edited = reference_tree();
    edit(&mut edited);
    tuples(compared(
        &snapshot_of(&reference_tree()),
        &snapshot_of(&edited),
    ))
}

fn spec_at<'a>(specs: &'a mut [Spec], path: &str) -> &'a mut Spec {
    specs
        .iter_mut()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("no {path} in the tree"))
}

fn difference(
    path: &str,
    what: DifferenceKind,
    source: &str,
    result: &str,
) -> (String, DifferenceKind, String, String) {
    (path.into(), what, source.into(), result.into())
}

#[test]
fn a_changed_byte_is_a_content_difference() {
    let passwd = b"root:x:0:0::/root:/bin/sh\n";
    let changed = b"root:x:0:0::/root:/bin/zh\n";
    let found = differences_after(|tree| spec_at(tree, "etc/passwd").content = changed.to_vec());
    assert_eq!(
        found,
        vec![difference(
            "/etc/passwd",
            DifferenceKind::Content,
            &format!("sha256:{}", sha256_hex(passwd)),
            &format!("sha256:{}", sha256_hex(changed))
        )]
    );
}

#[test]
fn a_longer_file_is_a_size_difference_only() {
    let found = differences_after(|tree| spec_at(tree, "bin/busybox").content.push(b'!'));
    assert_eq!(
        found,
        vec![difference(
            "/bin/busybox",
            DifferenceKind::Size,
            "9 bytes",
            "10 bytes"
        )]
    );
}

#[test]
fn mode_changes_are_found_setuid_setgid_and_sticky_included() {
    let found = differences_after(|tree| {
        spec_at(tree, "usr/bin/su").mode = 0o755;
        spec_at(tree, "home/user").mode = 0o750;
        spec_at(tree, "tmp").mode = 0o777;
        // Linux has no symlink modes: nothing to report.
        spec_at(tree, "bin/sh").mode = 0o755;
    });
    assert_eq!(
        found,
        vec![
            difference("/home/user", DifferenceKind::Mode, "2750", "0750"),
            difference("/tmp", DifferenceKind::Mode, "1777", "0777"),
            difference("/usr/bin/su", DifferenceKind::Mode, "4755", "0755"),
        ]
    );
}

#[test]
fn owner_changes_are_found() {
    let found = differences_after(|tree| {
        spec_at(tree, "home/user/notes").owner = (0, 0);
        spec_at(tree, "bin/sh").owner = (0, 5);
    });
    assert_eq!(
        found,
        vec![
            difference("/bin/sh", DifferenceKind::Owner, "0:0", "0:5"),
            difference(
                "/home/user/notes",
                DifferenceKind::Owner,
                "1000:1001",
                "0:0"
            ),
        ]
    );
}

#[test]
fn a_retargeted_symlink_is_found() {
    let found = differences_after(|tree| spec_at(tree, "abs").link = Some("bin/busybox".into()));
    assert_eq!(
        found,
        vec![difference(
            "/abs",
            DifferenceKind::LinkTarget,
            "/bin/busybox",
            "bin/busybox"
        )]
    );
}

#[test]
fn missing_and_extra_entries_are_found_and_a_missing_directory_is_one_difference() {
    let found = differences_after(|tree| {
        tree.retain(|s| s.path != "etc/passwd" && !s.path.starts_with("home"));
        tree.push(Spec::file("etc/shadow", b"root:*:"));
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/etc/passwd",
                DifferenceKind::Missing,
                "regular file, 26 bytes",
                "absent"
            ),
            difference(
                "/etc/shadow",
                DifferenceKind::Extra,
                "absent",
                "regular file, 7 bytes"
            ),
            difference(
                "/home",
                DifferenceKind::Missing,
                "directory with 2 entries",
                "absent"
            ),
        ]
    );
}

/// What BuildKit does to special files: a FIFO becomes a regular file (or is dropped), a
/// device node an empty regular file.
#[test]
fn special_files_turned_into_regular_files_are_type_differences() {
    let found = differences_after(|tree| {
        *spec_at(tree, "run/pipe") = Spec::file("run/pipe", b"");
        *spec_at(tree, "dev/null") = Spec::file("dev/null", b"");
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/dev/null",
                DifferenceKind::Type,
                "character device 1:3",
                "regular file, 0 bytes"
            ),
            difference(
                "/run/pipe",
                DifferenceKind::Type,
                "FIFO",
                "regular file, 0 bytes"
            ),
        ]
    );
}

#[test]
fn a_directory_turned_into_a_file_is_one_difference() {
    let found = differences_after(|tree| {
        tree.retain(|s| !s.path.starts_with("home/"));
        *spec_at(tree, "home") = Spec::file("home", b"x");
    });
    assert_eq!(
        found,
        vec![difference(
            "/home",
            DifferenceKind::Type,
            "directory with 2 entries",
            "regular file, 1 bytes"
        )]
    );
}

#[test]
fn renumbered_devices_are_found() {
    let found = differences_after(|tree| spec_at(tree, "dev/sda").device = (8, 16));
    assert_eq!(
        found,
        vec![difference(
            "/dev/sda",
            DifferenceKind::Device,
            "8:0",
            "8:16"
        )]
    );
}

#[test]
fn a_dropped_capability_is_found() {
    let found = differences_after(|tree| spec_at(tree, "usr/bin/ping").records.clear());
    assert_eq!(
        found,
        vec![difference(
            "/usr/bin/ping",
            DifferenceKind::Capability,
            "0100000200200000000000000000000000000000",
            "none"
        )]
    );
}

#[test]
fn an_xattr_that_differs_is_found_by_name() {
    let found = differences_after(|tree| {
        spec_at(tree, "etc/passwd").records = vec![
            ("SCHILY.xattr.user.origin".into(), b"squashed".to_vec()),
            ("SCHILY.xattr.user.bytes".into(), vec![0, 0xff]),
        ];
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/etc/passwd",
                DifferenceKind::Xattr,
                "no user.bytes",
                "user.bytes = 0x00ff"
            ),
            difference(
                "/etc/passwd",
                DifferenceKind::Xattr,
                "user.origin = \"base\"",
                "user.origin = \"squashed\""
            ),
        ]
    );
    let found = differences_after(|tree| spec_at(tree, "etc/passwd").records.clear());
    assert_eq!(
        found,
        vec![difference(
            "/etc/passwd",
            DifferenceKind::Xattr,
            "user.origin = \"base\"",
            "no user.origin"
        )]
    );
}

#[test]
fn an_acl_that_differs_is_found_in_either_form() {
    const ACCESS: &str = "user::rwx,user:1001:r-x,group::r-x,mask::r-x,other::---";
    let found = differences_after(|tree| {
        let mut readable = ACCESS_ACL;
        readable[4].1 = 4;
        spec_at(tree, "home/user").records = vec![(
            "SCHILY.xattr.system.posix_acl_access".into(),
            posix_acl(&readable),
        )];
        spec_at(tree, "home/user/notes").records = vec![(
            "SCHILY.acl.access".into(),
            b"user::rw-,group::r--,other::r--".to_vec(),
        )];
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/home/user",
                DifferenceKind::Acl,
                &format!("system.posix_acl_access = {ACCESS}"),
                "system.posix_acl_access = user::rwx,user:1001:r-x,group::r-x,mask::r-x,other::r--"
            ),
            difference(
                "/home/user",
                DifferenceKind::Acl,
                "system.posix_acl_default = user::rwx",
                "no system.posix_acl_default"
            ),
            difference(
                "/home/user/notes",
                DifferenceKind::Acl,
                &format!("SCHILY.acl.access = {TAR_ACL:?}"),
                "SCHILY.acl.access = \"user::rw-,group::r--,other::r--\""
            ),
        ]
    );
    // The same ACL moved from GNU tar's record to the xattr is two differences: the forms
    // are compared as data, never taken for each other.
    let found = differences_after(|tree| {
        spec_at(tree, "home/user/notes").records = vec![(
            "SCHILY.xattr.system.posix_acl_access".into(),
            posix_acl(&ACCESS_ACL),
        )];
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/home/user/notes",
                DifferenceKind::Acl,
                "no system.posix_acl_access",
                &format!("system.posix_acl_access = {ACCESS}")
            ),
            difference(
                "/home/user/notes",
                DifferenceKind::Acl,
                &format!("SCHILY.acl.access = {TAR_ACL:?}"),
                "no SCHILY.acl.access"
            ),
        ]
    );
}

#[test]
fn the_root_directorys_own_metadata_is_compared() {
    let files = vec![Spec::dir("etc"), Spec::file("etc/passwd", b"root")];
    let with_root = |root: &Spec| snapshot_of(&[vec![root.clone()], files.clone()].concat());
    let private = Spec::dir("./")
        .mode(0o700)
        .owner(5, 6)
        .xattr("user.origin", b"root");
    let source = with_root(&private);
    let root = source.root.as_ref().expect("the root entry is kept");
    assert_eq!(
        (root.kind, root.mode, root.uid, root.gid, root.size),
        (EntryKind::Dir, 0o700, 5, 6, 0)
    );
    assert!(!source.entries.contains_key("/"), "kept apart");

    // A result with no root entry has the root Docker makes.
    let without = snapshot_of(&files);
    assert_eq!(without.root, None);
    assert_eq!(
        tuples(compared(&source, &without)),
        vec![
            difference("/", DifferenceKind::Mode, "0700", "0755"),
            difference("/", DifferenceKind::Owner, "5:6", "0:0"),
            difference(
                "/",
                DifferenceKind::Xattr,
                "user.origin = \"root\"",
                "no user.origin"
            ),
        ]
    );
    assert_eq!(compared(&source, &with_root(&private)), vec![]);
    assert_eq!(compared(&with_root(&Spec::dir("/")), &without), vec![]);
    assert_eq!(compared(&without, &without), vec![]);

    // The topmost layer with a root entry wins, as for any directory.
    let files_layer = layer_of(&files);
    let over = snapshot(&[
        layer_of(std::slice::from_ref(&private)),
        layer_of(&[Spec::dir("/").mode(0o751)]),
        files_layer.clone(),
    ]);
    assert_eq!(
        over.root.map(|root| (root.mode, root.uid)),
        Some((0o751, 0))
    );
    let under = snapshot(&[layer_of(std::slice::from_ref(&private)), files_layer]);
    assert_eq!(compared(&under, &source), vec![]);

    // The audit reads no metadata, the root's neither.
    let summary =
        layer::summarise(layer_of(&[private]).as_slice(), layer::Reading::Sizes).expect("read");
    assert!(summary.root.is_none() && summary.changes.is_empty());
}

#[test]
fn a_group_of_16001_hard_links_compares_in_linear_time() {
    const LINKS: usize = 16_000;
    let name = |i: usize| format!("links/f{i:05}");
    let mut specs = vec![Spec::dir("links"), Spec::file(&name(0), b"one inode")];
    specs.extend((1..=LINKS).map(|i| Spec::hardlink(&name(i), &name(0))));
    let source = snapshot_of(&specs);
    assert_eq!(
        source
            .hard_link_groups
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        [LINKS + 1]
    );
    assert_eq!(compared(&source, &source), vec![]);

    // The last name a copy instead of a link: two differences, however large the group, and
    // texts that name ten paths.
    *specs.last_mut().expect("links") = Spec::file(&name(LINKS), b"one inode");
    let ten: Vec<String> = (0..10).map(|i| format!("/{}", name(i))).collect();
    let ten = ten.join(", ");
    assert_eq!(
        tuples(compared(&source, &snapshot_of(&specs))),
        vec![
            difference(
                "/links/f00000",
                DifferenceKind::HardLinks,
                &format!("{ten} and 15991 more"),
                &format!("{ten} and 15990 more")
            ),
            difference(
                "/links/f16000",
                DifferenceKind::HardLinks,
                &format!("{ten} and 15991 more"),
                "not hard-linked"
            ),
        ]
    );
}

#[test]
fn a_fired_token_stops_the_comparison() {
    let tree = snapshot_of(&reference_tree());
    let cancel = CancelToken::new();
    cancel.cancel();
    let result = compare(&tree, &tree, MtimeCheck::Exact, &cancel);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
}

#[tokio::test]
async fn the_comparison_runs_on_the_blocking_pool() {
    let mut edited = reference_tree();
    spec_at(&mut edited, "usr/bin/su").mode = 0o755;
    let source = std::sync::Arc::new(snapshot_of(&reference_tree()));
    let result = std::sync::Arc::new(snapshot_of(&edited));
    let found = compare_on_blocking_pool(
        source.clone(),
        result.clone(),
        MtimeCheck::Exact,
        CancelToken::new(),
    )
    .await
    .expect("compared");
    assert_eq!(
        tuples(found.differences),
        vec![difference(
            "/usr/bin/su",
            DifferenceKind::Mode,
            "4755",
            "0755"
        )]
    );
    let cancel = CancelToken::new();
    cancel.cancel();
    let stopped = compare_on_blocking_pool(source, result, MtimeCheck::Exact, cancel).await;
    assert!(matches!(stopped, Err(Error::Cancelled)), "{stopped:?}");
}

#[test]
fn a_split_hard_link_group_is_found_once_per_new_group() {
    let found = differences_after(|tree| {
        *spec_at(tree, "data/c") = Spec::file("data/c", b"shared bytes");
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/data/a",
                DifferenceKind::HardLinks,
                "/data/a, /data/b, /data/c",
                "/data/a, /data/b"
            ),
            difference(
                "/data/c",
                DifferenceKind::HardLinks,
                "/data/a, /data/b, /data/c",
                "not hard-linked"
            ),
        ]
    );
    // A link made where there was none is found from the other side.
    let found = differences_after(|tree| {
        *spec_at(tree, "etc/passwd") = Spec::hardlink("etc/passwd", "bin/busybox");
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/bin/busybox",
                DifferenceKind::HardLinks,
                "not hard-linked",
                "/bin/busybox, /etc/passwd"
            ),
            difference("/etc/passwd", DifferenceKind::Size, "26 bytes", "9 bytes"),
            // A link has its target's xattrs.
            difference(
                "/etc/passwd",
                DifferenceKind::Xattr,
                "user.origin = \"base\"",
                "no user.origin"
            ),
        ]
    );
    // A missing member is reported as missing, not as a broken group.
    let found = differences_after(|tree| tree.retain(|s| s.path != "data/c"));
    assert_eq!(
        found,
        vec![difference(
            "/data/c",
            DifferenceKind::Missing,
            "regular file, 12 bytes",
            "absent"
        )]
    );
}

/// The timed tree as a copy writes it, given each entry's new time; no root entry.
fn timed_copy(times: &[(&str, &str)]) -> FsSnapshot {
    let specs: Vec<Spec> = timed_tree()
        .into_iter()
        .filter(|spec| spec.path != "./")
        .map(|spec| {
            let time = times.iter().find(|(path, _)| *path == spec.path);
            let Some((_, time)) = time else {
                panic!("no time for {}", spec.path);
            };
            let records = spec.records.iter().filter(|(key, _)| key != "mtime");
            Spec {
                records: records.cloned().collect(),
                ..spec.clone()
            }
            .mtime(time)
        })
        .collect();
    snapshot_of(&specs)
}

fn mtimes_found(found: &FsComparison) -> Vec<(MtimeLoss, u64, &str, &str, &str)> {
    found
        .mtimes_let_through
        .iter()
        .map(|lost| {
            let first = &lost.first;
            assert_eq!(first.what, DifferenceKind::Mtime);
            let (path, source, result) = (&first.path, &first.source, &first.result);
            (
                lost.why,
                lost.entries,
                path.as_str(),
                source.as_str(),
                result.as_str(),
            )
        })
        .collect()
}

/// What the classic builder wrote for the timed tree on Engine 20.10: each time cut to the
/// second, the one before 1970 set to the epoch, the root's entry dropped.
const CUT: &[(&str, &str)] = &[
    ("dir", "1700000001"),
    ("dir/file", "1700000003"),
    ("dir/hard", "1700000003"),
    ("dir/link", "1700000005"),
    ("dir/whole", "1700000004"),
    ("empty", "1700000007"),
    ("old", "0"),
];

#[test]
fn whole_seconds_let_cut_times_through_and_count_them() {
    let found = compared_by(
        &snapshot_of(&timed_tree()),
        &timed_copy(CUT),
        MtimeCheck::WholeSeconds,
    );
    assert_eq!(found.differences, vec![]);
    assert_eq!(
        mtimes_found(&found),
        vec![
            (
                MtimeLoss::Fraction,
                5,
                "/dir",
                "1700000001.25",
                "1700000001"
            ),
            (MtimeLoss::OutOfRange, 1, "/old", "-1.5", "0"),
            (
                MtimeLoss::Unstamped,
                1,
                "/",
                "1700000000.111111111",
                "none: stamped when unpacked"
            ),
        ]
    );
}

#[test]
fn whole_seconds_let_rounded_times_through_too() {
    // Podman 4.3 rounds to the nearest second.
    let rounded = [
        ("dir", "1700000001"),
        ("dir/file", "1700000003"),
        ("dir/hard", "1700000003"),
        ("dir/link", "1700000006"),
        ("dir/whole", "1700000004"),
        ("empty", "1700000007"),
        ("old", "0"),
    ];
    let found = compared_by(
        &snapshot_of(&timed_tree()),
        &timed_copy(&rounded),
        MtimeCheck::WholeSeconds,
    );
    assert_eq!(found.differences, vec![]);
    assert_eq!(found.mtimes_let_through[0].entries, 5);
}

#[test]
fn a_time_a_second_or_more_away_is_a_difference_at_any_precision_but_ignore() {
    let moved = |path: &'static str, time: &'static str| -> Vec<(&str, &str)> {
        CUT.iter()
            .map(|&(p, t)| if p == path { (p, time) } else { (p, t) })
            .collect()
    };
    let source = snapshot_of(&timed_tree());
    for (path, time, shown) in [
        ("dir/whole", "1700000005", "1700000004"),
        ("dir/whole", "1700000003", "1700000004"),
        // A whole second kept with a fraction it never had.
        ("dir/whole", "1700000004.5", "1700000004"),
        // Two seconds up is not a rounding.
        ("dir", "1700000003", "1700000001.25"),
        // The epoch stands only for a time the daemon cannot unpack.
        ("empty", "0", "1700000007.000000001"),
    ] {
        let result = timed_copy(&moved(path, time));
        let found = compared_by(&source, &result, MtimeCheck::WholeSeconds);
        assert_eq!(
            tuples(found.differences),
            vec![difference(
                &format!("/{path}"),
                DifferenceKind::Mtime,
                shown,
                time
            )],
            "{path} at {time}"
        );
        assert!(compared_by(&source, &result, MtimeCheck::Ignore) == FsComparison::default());
    }
}

#[test]
fn exact_takes_nothing_but_the_same_time() {
    let source = snapshot_of(&timed_tree());
    let found = compared_by(&source, &timed_copy(CUT), MtimeCheck::Exact);
    let paths: Vec<&str> = found.differences.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/dir",
            "/dir/file",
            "/dir/hard",
            "/dir/link",
            "/empty",
            "/old"
        ]
    );
    assert!(found
        .differences
        .iter()
        .all(|d| d.what == DifferenceKind::Mtime));
    // Only the root, which no copy can be held to, is let through.
    assert_eq!(
        mtimes_found(&found)
            .iter()
            .map(|(why, ..)| *why)
            .collect::<Vec<_>>(),
        [MtimeLoss::Unstamped]
    );
    let tree = timed_tree();
    let kept: Vec<(&str, &str)> = tree
        .iter()
        .filter(|spec| spec.path != "./")
        .map(|spec| {
            (
                spec.path.as_str(),
                std::str::from_utf8(&spec.records[0].1).unwrap(),
            )
        })
        .collect();
    let exact = compared_by(&source, &timed_copy(&kept), MtimeCheck::Exact);
    assert_eq!(exact.differences, vec![]);
    let with_root = snapshot_of(&timed_tree());
    assert_eq!(
        compared_by(&source, &with_root, MtimeCheck::Exact),
        FsComparison::default()
    );
}

#[test]
fn a_time_only_one_side_describes_is_never_a_difference() {
    let implied = snapshot_of(&[Spec::file("a/b/file", b"x").mtime("1700000003")]);
    let described = snapshot_of(&[
        Spec::dir("a").mtime("1796194170"),
        Spec::dir("a/b").mtime("1796194170"),
        Spec::file("a/b/file", b"x").mtime("1700000003"),
    ]);
    // The source never gave `a` a time: the copy's stamp is no loss.
    let found = compared_by(&implied, &described, MtimeCheck::Exact);
    assert_eq!(found, FsComparison::default());
    // The other way round the source's times are lost, and counted.
    let found = compared_by(&described, &implied, MtimeCheck::WholeSeconds);
    assert_eq!(found.differences, vec![]);
    assert_eq!(
        mtimes_found(&found),
        vec![(
            MtimeLoss::Unstamped,
            2,
            "/a",
            "1796194170",
            "none: stamped when unpacked"
        )]
    );
}

#[test]
fn a_whole_difference_hides_the_time_and_other_differences_come_first() {
    let source = snapshot_of(&[Spec::file("f", b"x").mode(0o600).mtime("5")]);
    let retyped = snapshot_of(&[Spec::dir("f").mtime("9")]);
    assert_eq!(
        tuples(compared(&source, &retyped)),
        vec![difference(
            "/f",
            DifferenceKind::Type,
            "regular file, 1 bytes",
            "empty directory"
        )]
    );
    let changed = snapshot_of(&[Spec::file("f", b"x").mode(0o644).mtime("9")]);
    assert_eq!(
        tuples(compared(&source, &changed)),
        vec![
            difference("/f", DifferenceKind::Mode, "0600", "0644"),
            difference("/f", DifferenceKind::Mtime, "5", "9"),
        ]
    );
}

#[test]
fn differences_serialise_in_camel_case() {
    let found = compared(
        &snapshot_of(&[Spec::symlink("l", "a")]),
        &snapshot_of(&[Spec::symlink("l", "b")]),
    );
    let json = serde_json::to_value(&found).expect("json");
    assert_eq!(
        json,
        serde_json::json!([{ "path": "/l", "what": "linkTarget", "source": "a", "result": "b" }])
    );
    let timed = compared(
        &snapshot_of(&[Spec::file("f", b"").mtime("1.5")]),
        &snapshot_of(&[Spec::file("f", b"").mtime("1")]),
    );
    assert_eq!(
        serde_json::to_value(&timed).expect("json")[0]["what"],
        "mtime"
    );
}
