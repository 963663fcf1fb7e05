//! The final filesystem's snapshot (`snapshot.rs`): metadata, layers resolved, times, the audit with files.

use super::*;

#[test]
fn directories_made_to_hold_a_deep_entry_are_listed_by_a_snapshot() {
    let archive = legacy(
        &[
            layer_of(&[Spec::file("a/b/c/d/file", b"abc")]),
            layer_of(&[Spec::file("a/b/.wh.c", b""), Spec::file("a/b/new", b"n")]),
        ],
        false,
    );
    let snapshot =
        snapshot_archive(archive.as_slice(), &mut |_| ControlFlow::Continue(())).expect("snapshot");
    let listed: Vec<(&str, EntryKind)> = snapshot
        .entries
        .iter()
        .map(|(path, entry)| (path.as_str(), entry.kind))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("/a", EntryKind::Dir),
            ("/a/b", EntryKind::Dir),
            ("/a/b/new", EntryKind::File)
        ]
    );
}

/// The snapshot's filesystem alone, without where in the archive each entry came from: what
/// two layouts of one image, or an image and its squash, have in common.
fn filesystem(mut snapshot: FsSnapshot) -> FsSnapshot {
    snapshot.layers.clear();
    snapshot.config.clear();
    for entry in snapshot.entries.values_mut().chain(snapshot.root.as_mut()) {
        entry.layer = None;
        entry.bytes_from = None;
    }
    snapshot
}

#[test]
fn a_snapshot_keeps_every_entrys_metadata() {
    let snapshot = snapshot_of(&reference_tree());
    let entry = |path: &str| {
        snapshot
            .entries
            .get(path)
            .unwrap_or_else(|| panic!("no {path}"))
    };
    assert_eq!(snapshot.entries.len(), reference_tree().len());
    assert!(!snapshot.entries.contains_key("/"), "the root is left out");

    let su = entry("/usr/bin/su");
    assert_eq!((su.kind, su.mode, su.size), (EntryKind::File, 0o4755, 2));
    let notes = entry("/home/user/notes");
    assert_eq!((notes.uid, notes.gid), (1000, 1001));
    let home = entry("/home/user");
    assert_eq!(
        (home.kind, home.mode, home.uid),
        (EntryKind::Dir, 0o2750, 1000)
    );
    assert_eq!(entry("/tmp").mode, 0o1777);
    assert_eq!(entry("/bin/sh").link_target.as_deref(), Some("busybox"));
    assert_eq!(entry("/abs").link_target.as_deref(), Some("/bin/busybox"));
    assert_eq!(
        entry("/dev/null").kind,
        EntryKind::CharDevice { major: 1, minor: 3 }
    );
    assert_eq!(
        entry("/dev/sda").kind,
        EntryKind::BlockDevice { major: 8, minor: 0 }
    );
    assert_eq!(entry("/run/pipe").kind, EntryKind::Fifo);
    assert_eq!(entry("/usr/bin/ping").capability(), Some(NET_RAW));
    assert_eq!(entry("/usr/bin/su").capability(), None);
    assert_eq!(
        entry("/etc/passwd")
            .xattrs
            .get("user.origin")
            .map(Vec::as_slice),
        Some(b"base".as_slice())
    );
    assert_eq!(
        entry("/home/user")
            .xattrs
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["system.posix_acl_access", "system.posix_acl_default"]
    );
    assert_eq!(
        entry("/home/user/notes")
            .acls
            .get("access")
            .map(Vec::as_slice),
        Some(TAR_ACL.as_bytes())
    );
    assert_eq!(snapshot.root, None, "no layer has a root entry");

    let a = entry("/data/a");
    let hash: String = a
        .sha256
        .expect("hashed")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, sha256_hex(b"shared bytes"));
    assert_eq!(entry("/run/pipe").sha256, None);
    // The hard links are the same inode: same bytes, one group.
    assert_eq!(entry("/data/c").sha256, a.sha256);
    assert_eq!(entry("/data/c").size, 12);
    assert_eq!(
        snapshot.hard_link_groups,
        vec![vec![
            "/data/a".to_owned(),
            "/data/b".into(),
            "/data/c".into()
        ]]
    );
    assert_eq!(
        snapshot.hard_links_of("/data/b").map(<[String]>::len),
        Some(3)
    );
    assert_eq!(snapshot.hard_links_of("/etc/passwd"), None);
}

#[test]
fn identical_trees_have_no_differences_in_any_layout() {
    let layer = layer_of(&reference_tree());
    let expected = snapshot(std::slice::from_ref(&layer));
    assert_eq!(compared(&expected, &expected), vec![]);
    let archives = [
        (
            "legacy, manifest first",
            legacy(std::slice::from_ref(&layer), true),
        ),
        ("oci, gzip", oci(&[gzip(&layer)], true)),
        ("oci, zstd, no manifest.json", oci(&[zstd(&layer)], false)),
    ];
    for (name, archive) in archives {
        let other =
            snapshot_archive(archive.as_slice(), &mut |_| ControlFlow::Continue(())).expect(name);
        assert_eq!(filesystem(other), filesystem(expected.clone()), "{name}");
    }
}

#[test]
fn layers_are_resolved_before_comparing() {
    // Three layers: whiteouts, an opaque directory, a directory replaced by a file, a file
    // whose mode a later layer changed, a hard link made across layers and one broken.
    let layers = [
        layer_of(&[
            Spec::dir("app"),
            Spec::file("app/deleted", b"gone"),
            Spec::file("app/mode", b"m"),
            Spec::dir("app/opaque"),
            Spec::file("app/opaque/old", b"old"),
            Spec::dir("app/replaced"),
            Spec::file("app/replaced/inner", b"in"),
            Spec::file("app/linked", b"one inode"),
            Spec::hardlink("app/linked-too", "app/linked"),
            Spec::file("app/base", b"base"),
            Spec::new(EntryType::Fifo, "app/pipe"),
        ]),
        layer_of(&[
            Spec::dir("app"),
            Spec::file("app/.wh.deleted", b""),
            Spec::file("app/mode", b"m").mode(0o4711).owner(7, 8),
            Spec::dir("app/opaque").mode(0o700),
            Spec::file("app/opaque/.wh..wh..opq", b""),
            Spec::file("app/opaque/new", b"new"),
            Spec::file("app/replaced", b"a file now"),
            Spec::hardlink("app/base-link", "app/base"),
        ]),
        layer_of(&[
            Spec::dir("app"),
            // Written to through one name: a copy-up breaks the link.
            Spec::file("app/linked-too", b"one inode, changed"),
            Spec::hardlink("app/pipe-link", "app/pipe"),
        ]),
    ];
    let flattened = layer_of(&[
        Spec::dir("app"),
        Spec::file("app/mode", b"m").mode(0o4711).owner(7, 8),
        Spec::dir("app/opaque").mode(0o700),
        Spec::file("app/opaque/new", b"new"),
        Spec::file("app/replaced", b"a file now"),
        Spec::file("app/linked", b"one inode"),
        Spec::file("app/linked-too", b"one inode, changed"),
        Spec::file("app/base", b"base"),
        Spec::hardlink("app/base-link", "app/base"),
        Spec::new(EntryType::Fifo, "app/pipe"),
        Spec::hardlink("app/pipe-link", "app/pipe"),
    ]);
    let source = snapshot(&layers);
    let result = snapshot(&[flattened]);
    assert_eq!(compared(&source, &result), vec![]);
    assert_eq!(filesystem(source.clone()), filesystem(result));
    assert_eq!(
        source.hard_link_groups,
        vec![
            vec!["/app/base".to_owned(), "/app/base-link".into()],
            vec!["/app/pipe".to_owned(), "/app/pipe-link".into()],
        ]
    );

    // And the other way round, a plain file where the source has a link pair is caught.
    let unlinked = layer_of(&[
        Spec::dir("app"),
        Spec::file("app/mode", b"m").mode(0o4711).owner(7, 8),
        Spec::dir("app/opaque").mode(0o700),
        Spec::file("app/opaque/new", b"new"),
        Spec::file("app/replaced", b"a file now"),
        Spec::file("app/linked", b"one inode"),
        Spec::file("app/linked-too", b"one inode, changed"),
        Spec::file("app/base", b"base"),
        Spec::file("app/base-link", b"base"),
        Spec::new(EntryType::Fifo, "app/pipe"),
        Spec::hardlink("app/pipe-link", "app/pipe"),
    ]);
    let found: Vec<(String, DifferenceKind)> = compared(&source, &snapshot(&[unlinked]))
        .into_iter()
        .map(|d| (d.path, d.what))
        .collect();
    // Once for the pair, not once per path.
    assert_eq!(
        found,
        vec![("/app/base".to_owned(), DifferenceKind::HardLinks)]
    );
}

#[test]
fn a_directory_only_implied_by_a_deeper_entry_is_0755_root() {
    let snapshot = snapshot_of(&[Spec::file("implied/dir/file", b"x").owner(5, 5)]);
    let dir = snapshot.entries.get("/implied/dir").expect("made");
    assert_eq!(
        (dir.kind, dir.mode, dir.uid, dir.gid, dir.mtime),
        (EntryKind::Dir, 0o755, 0, 0, None),
        "its time is the unpacking's"
    );
}

#[test]
fn a_snapshot_keeps_each_entrys_time_to_the_nanosecond() {
    let snapshot = snapshot_of(&timed_tree());
    let time = |path: &str| snapshot.entries[path].mtime.map(Mtime::to_pax);
    assert_eq!(time("/dir/file").as_deref(), Some("1700000003.123456789"));
    assert_eq!(time("/dir/link").as_deref(), Some("1700000005.75"));
    assert_eq!(time("/empty").as_deref(), Some("1700000007.000000001"));
    assert_eq!(time("/old").as_deref(), Some("-1.5"));
    let root = snapshot.root.expect("a root entry").mtime;
    assert_eq!(
        root.map(Mtime::to_pax).as_deref(),
        Some("1700000000.111111111")
    );
    // Without a PAX record, the header's whole seconds.
    let plain = snapshot_of(&[Spec::file("f", b"")]);
    assert_eq!(plain.entries["/f"].mtime, Some(Mtime::default()));
}

#[test]
fn a_snapshot_fails_like_an_audit_on_a_bad_archive() {
    let archive = legacy(&[layer_of(&reference_tree())], false);
    let result = snapshot_archive(&archive[..archive.len() / 2], &mut |_| {
        ControlFlow::Continue(())
    });
    assert!(
        matches!(result, Err(Error::MalformedArchive(_))),
        "{result:?}"
    );
    let result = snapshot_archive(archive.as_slice(), &mut |_| ControlFlow::Break(()));
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
}

#[test]
fn an_audit_with_files_is_the_audit_and_the_snapshot_from_one_reading() {
    let layers = [
        layer_of(&reference_tree()),
        layer_of(&[
            Spec::file("data/.wh.b", b""),
            Spec::file("etc/extra", b"later"),
        ]),
    ];
    let archive = legacy(&layers, false);
    let (report, files) =
        audit_archive_with_files(archive.as_slice(), &mut |_| ControlFlow::Continue(()))
            .expect("audit with files");
    assert_eq!(report, audit(&archive).expect("audit"));
    assert_eq!(*files.files, snapshot(&layers));
    assert!(files.files.entries.contains_key("/etc/extra"));
    assert!(!files.files.entries.contains_key("/data/b"));
    assert_eq!(files.base, None, "the history names no base image");
}
