//! Stacking the layers (`merge.rs`): whiteouts, opaque dirs, hard links, waste, memory, cancel.

use super::*;
use crate::audit::merge;

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "{actual} is not {expected}"
    );
}

#[test]
fn a_whiteout_deletes_a_file() {
    let report = audit_layers(&[
        Layer::new()
            .dir("etc")
            .file("etc/a", 100)
            .file("etc/b", 50)
            .tar(),
        Layer::new().whiteout("etc/a").tar(),
    ]);
    assert_eq!(totals(&report), (150, 50, 100, 100));
    assert_eq!(
        per_layer(&report),
        vec![(150, 2, 0, 0, 100), (0, 0, 0, 1, 0)]
    );
    assert_eq!(wasted(&report), vec![("etc/a", 100, vec![0, 1])]);
    // dive: etc/a seen as 100 then (deleted) 0, etc/b as 50: (0 + 50) / (100 + 0 + 50).
    assert_close(report.efficiency, 50.0 / 150.0);
}

#[test]
fn a_whiteout_deletes_a_directory_and_everything_in_it() {
    let report = audit_layers(&[
        Layer::new()
            .dir("d")
            .file("d/x", 10)
            .dir("d/sub")
            .file("d/sub/y", 20)
            .symlink("d/sub/z", "y")
            .file("keep", 5)
            .tar(),
        Layer::new().whiteout("d").tar(),
    ]);
    assert_eq!(totals(&report), (35, 5, 30, 30));
    assert_eq!(per_layer(&report), vec![(35, 4, 0, 0, 30), (0, 0, 0, 3, 0)]);
    assert_eq!(
        wasted(&report),
        vec![("d/sub/y", 20, vec![0, 1]), ("d/x", 10, vec![0, 1])]
    );
    // dive sees d/x 10, d/sub/y 20, d/sub/z 0, keep 5, then the whiteout of d as the 30 bytes
    // it deletes, a path seen once: every minimum equals its sum, and the score stays 1.
    assert_close(report.efficiency, 1.0);
    assert_eq!(report.tree.files, 1);
    assert_eq!(report.tree.bytes, 5);
}

#[test]
fn an_opaque_directory_hides_what_lower_layers_had_but_not_its_own_files() {
    let report = audit_layers(&[
        Layer::new().dir("d").file("d/a", 10).file("d/b", 20).tar(),
        Layer::new()
            .dir("d")
            .opaque("d")
            .file("d/c", 5)
            .file("d/a", 7)
            .tar(),
    ]);
    assert_eq!(totals(&report), (42, 12, 30, 30));
    assert_eq!(
        per_layer(&report),
        vec![(30, 2, 0, 0, 30), (12, 1, 1, 2, 0)]
    );
    assert_eq!(
        wasted(&report),
        vec![("d/b", 20, vec![0, 1]), ("d/a", 10, vec![0, 1])]
    );
    // dive ignores the marker: d/a min(10, 7) + d/b 20 + d/c 5 over 10 + 20 + 5 + 7.
    assert_close(report.efficiency, 32.0 / 42.0);
}

#[test]
fn a_file_replaced_by_a_directory_and_a_directory_by_a_file() {
    let report = audit_layers(&[
        Layer::new()
            .file("x", 10)
            .dir("y")
            .file("y/a", 3)
            .file("y/b", 4)
            .tar(),
        Layer::new().dir("x").file("x/inner", 6).file("y", 2).tar(),
    ]);
    assert_eq!(totals(&report), (25, 8, 17, 17));
    // Layer 1 adds x/inner and changes y (a directory below); it removes the file x and the
    // two files under the directory y.
    assert_eq!(per_layer(&report), vec![(17, 3, 0, 0, 17), (8, 1, 1, 3, 0)]);
    assert_eq!(
        wasted(&report),
        vec![
            ("x", 10, vec![0, 1]),
            ("y/b", 4, vec![0, 1]),
            ("y/a", 3, vec![0, 1])
        ]
    );
    let names: Vec<(&str, TreeNodeKind, u64)> = report
        .tree
        .children
        .iter()
        .map(|c| (c.name.as_str(), c.kind, c.bytes))
        .collect();
    assert_eq!(
        names,
        vec![
            ("x", TreeNodeKind::Directory, 6),
            ("y", TreeNodeKind::File, 2)
        ]
    );
}

#[test]
fn a_file_where_a_later_layer_needs_a_directory_is_replaced_by_one() {
    // No entry for the directory x itself: extracting x/inner makes it.
    let report = audit_layers(&[
        Layer::new().file("x", 10).tar(),
        Layer::new().file("x/inner", 6).tar(),
    ]);
    assert_eq!(totals(&report), (16, 6, 10, 10));
    assert_eq!(per_layer(&report), vec![(10, 1, 0, 0, 10), (6, 1, 0, 1, 0)]);
}

#[test]
fn hard_links_count_once_and_keep_their_bytes_alive() {
    let base = Layer::new()
        .file("f", 100)
        .hardlink("h", "f")
        .file("g", 10)
        .tar();
    let delete_f = Layer::new().whiteout("f").tar();
    let delete_h = Layer::new().whiteout("h").tar();

    let report = audit_layers(std::slice::from_ref(&base));
    assert_eq!(totals(&report), (110, 110, 0, 0));
    assert_eq!(per_layer(&report), vec![(110, 3, 0, 0, 0)]);
    assert_eq!(report.tree.bytes, 110);
    assert_eq!(report.tree.files, 3);

    // f is gone, but its bytes live on as h.
    let report = audit_layers(&[base.clone(), delete_f.clone()]);
    assert_eq!(totals(&report), (110, 110, 0, 0));
    assert_eq!(per_layer(&report), vec![(110, 3, 0, 0, 0), (0, 0, 0, 1, 0)]);
    assert!(report.wasted_files.is_empty());
    let h = report.tree.children.iter().find(|c| c.name == "h");
    assert_eq!(h.map(|h| h.bytes), Some(100));

    // Now the last name goes too: the loss is charged to f, the path that wrote the bytes.
    let report = audit_layers(&[base, delete_f, delete_h]);
    assert_eq!(totals(&report), (110, 10, 100, 100));
    assert_eq!(
        per_layer(&report),
        vec![(110, 3, 0, 0, 100), (0, 0, 0, 1, 0), (0, 0, 0, 1, 0)]
    );
    assert_eq!(wasted(&report), vec![("f", 100, vec![0, 1])]);
}

#[test]
fn a_hard_link_to_a_lower_layers_file_adds_no_bytes() {
    let report = audit_layers(&[
        Layer::new().file("f", 100).tar(),
        Layer::new().hardlink("h", "f").tar(),
    ]);
    assert_eq!(totals(&report), (100, 100, 0, 0));
    assert_eq!(per_layer(&report), vec![(100, 1, 0, 0, 0), (0, 1, 0, 0, 0)]);
}

#[test]
fn symlinks_weigh_nothing() {
    let report = audit_layers(&[
        Layer::new()
            .dir("bin")
            .file("bin/busybox", 1000)
            .symlink("bin/sh", "busybox")
            .tar(),
        Layer::new().file("bin/sh", 5).tar(),
    ]);
    assert_eq!(totals(&report), (1005, 1005, 0, 0));
    assert_eq!(
        per_layer(&report),
        vec![(1000, 2, 0, 0, 0), (5, 0, 1, 0, 0)]
    );
    assert!(report.wasted_files.is_empty());
    assert_eq!(report.tree.files, 2);
}

#[test]
fn devices_fifos_and_capabilities_are_counted() {
    let report = audit_layers(&[
        Layer::new()
            .dir("dev")
            .entry(EntryType::Char, "dev/null", 0)
            .entry(EntryType::Block, "dev/sda", 0)
            .entry(EntryType::Fifo, "run/pipe", 0)
            .pax_file(
                "usr/bin/ping",
                9,
                &[("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02")],
            )
            .pax_file("usr/bin/plain", 3, &[("mtime", b"1")])
            .entry(EntryType::Fifo, "tmp/gone", 0)
            .tar(),
        Layer::new().whiteout("tmp/gone").tar(),
    ]);
    assert_eq!(
        report.special_files,
        SpecialFiles {
            devices: 2,
            fifos: 1,
            capabilities: 1
        }
    );
    assert_eq!(totals(&report), (12, 12, 0, 0));
}

#[test]
fn efficiency_matches_dive_on_a_worked_example() {
    let report = audit_layers(&sample_layers());
    // dive: app/a seen as 100, 30, 60 (min 30); app/b as 50 then deleted (0).
    // (30 + 0) / (100 + 30 + 60 + 50 + 0).
    assert_close(report.efficiency, 30.0 / 240.0);
    assert_eq!(totals(&report), (240, 60, 180, 180));
    assert_eq!(
        per_layer(&report),
        vec![(150, 2, 0, 0, 150), (30, 0, 1, 0, 30), (60, 0, 1, 1, 0)]
    );
    assert_eq!(
        wasted(&report),
        vec![("app/a", 130, vec![0, 1, 2]), ("app/b", 50, vec![0, 2])]
    );
}

#[test]
fn wasted_files_are_largest_first_then_by_path() {
    let report = audit_layers(&[
        Layer::new()
            .file("small", 1)
            .file("b-tie", 5)
            .file("a-tie", 5)
            .file("big", 9)
            .file("kept", 4)
            .tar(),
        Layer::new()
            .whiteout("small")
            .whiteout("b-tie")
            .whiteout("a-tie")
            .whiteout("big")
            .tar(),
    ]);
    let order: Vec<&str> = report
        .wasted_files
        .iter()
        .map(|w| w.path.as_str())
        .collect();
    assert_eq!(order, vec!["/big", "/a-tie", "/b-tie", "/small"]);
}

#[test]
fn the_report_serialises_in_camel_case() {
    let report = audit_layers(&sample_layers());
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["reclaimableBytes"], 180);
    assert_eq!(json["layers"][1]["bytesLostLater"], 30);
    assert_eq!(json["specialFiles"]["fifos"], 0);
    assert_eq!(json["tree"]["kind"], "directory");
}

// Memory: what the stack keeps follows the entries, not the depth of their paths; cancel is
// heard all the way.

/// `c<i>/abcdefg/abcdefg/…`, a little over `bytes` long, as the reported image had them.
fn deep_dir(i: usize, bytes: usize) -> String {
    let mut path = format!("c{i:03}");
    while path.len() < bytes {
        path.push_str("/abcdefg");
    }
    path
}

/// How many path-tree nodes the merge of `archive` ends with.
fn stacked_nodes(archive: &[u8]) -> usize {
    merged(
        archive,
        Reading::Sizes,
        &mut |_| ControlFlow::Continue(()),
        |stack, _, _| Ok(stack.nodes()),
    )
    .expect("merge")
}

#[test]
fn deep_paths_whose_directories_no_entry_names_cost_nodes_per_entry_not_per_level() {
    const FILES: usize = 300;
    let mut first = Layer::new();
    for i in 0..FILES {
        first = first.file(&format!("{}/f.txt", deep_dir(i, 3300)), 10);
    }
    let chain = |i: usize, levels: usize| {
        let mut path = format!("c{i:03}");
        path.push_str(&"/abcdefg".repeat(levels));
        path
    };
    // A whiteout, a new file and a file over a directory, all in the middle of chains: each
    // splits a chain where no entry named a directory.
    let second = Layer::new()
        .whiteout(&chain(0, 2))
        .file(&format!("{}/x", chain(1, 1)), 5)
        .file(&chain(2, 1), 6);
    let archive = legacy(&[first.tar(), second.tar()], false);
    let report = audit(&archive).expect("audit");

    assert_eq!(totals(&report), (3011, 2991, 20, 20));
    assert_eq!(
        per_layer(&report),
        vec![(3000, 300, 0, 0, 20), (11, 1, 1, 2, 0)]
    );
    let lost = |i: usize| format!("{}/f.txt", deep_dir(i, 3300));
    assert_eq!(
        wasted(&report),
        vec![
            (lost(0).as_str(), 10, vec![0, 1]),
            (lost(2).as_str(), 10, vec![0, 1])
        ]
    );
    assert_eq!(report.tree.files, 300);
    let biggest = report.tree.children.first();
    assert_eq!(
        biggest.map(|c| (c.name.as_str(), c.bytes, c.files)),
        Some(("c001", 15, 2))
    );

    // Each of the 303 paths named costs at most two nodes (its own and one where it parts
    // from the others), whatever the 470 directories above each file.
    let nodes = stacked_nodes(&archive);
    assert!(nodes <= 2 * (FILES + 3) + 1, "{nodes} nodes");
}

#[test]
fn a_snapshot_of_directories_nested_too_deep_is_refused_instead_of_filling_the_memory() {
    let deep = |files: usize| {
        let paths: Vec<String> = (0..files)
            .map(|i| format!("{}/f.txt", deep_dir(i, 3300)))
            .collect();
        let specs: Vec<Spec> = paths.iter().map(|p| Spec::file(p, b"0123456789")).collect();
        legacy(&[layer_of(&specs)], false)
    };
    let snapshot = |archive: &[u8]| snapshot_archive(archive, &mut |_| ControlFlow::Continue(()));
    // 300 files under 413 implicit directories each: the snapshot would spell out 124,000
    // paths averaging 1.6 kB; the audit of the same archive stays small.
    let too_deep = deep(300);
    assert!(audit(&too_deep).is_ok());
    match snapshot(&too_deep) {
        Err(Error::MalformedArchive(message)) => assert!(message.contains("too deep"), "{message}"),
        other => panic!(
            "expected MalformedArchive, got {:?}",
            other.map(|s| s.entries.len())
        ),
    }
    // A tenth of it fits: only what would take hundreds of megabytes is refused.
    let fits = snapshot(&deep(30)).expect("snapshot");
    let levels = deep_dir(0, 3300).split('/').count();
    assert_eq!(levels, 413);
    assert_eq!(fits.entries.len(), 30 * (levels + 1));
}

#[test]
fn a_hard_link_group_is_charged_to_its_first_path_in_path_order() {
    // "a-x" sorts before "a/…" ('-' before '/'), though "a" comes first as a directory name.
    let report = audit_layers(&[Layer::new()
        .file("a/z/target", 40)
        .hardlink("a-x", "a/z/target")
        .tar()]);
    let bytes = |name: &str| {
        report
            .tree
            .children
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.bytes)
    };
    assert_eq!((bytes("a-x"), bytes("a")), (Some(40), Some(0)));
    assert_eq!(report.tree.bytes, 40);
}

#[test]
fn cancel_is_heard_while_the_layers_are_stacked_and_the_report_is_made() {
    let mut layer = Layer::new();
    for i in 0..merge::CHECK_EVERY + 10 {
        layer = layer.file(&format!("d/f{i}"), 0);
    }
    let archive = legacy(&[layer.tar()], false);
    let mut heard = Vec::new();
    audit_archive(archive.as_slice(), &mut |n| {
        heard.push(n);
        ControlFlow::Continue(())
    })
    .expect("audit");
    // Reading ends with the total; the merge and the finish then repeat it.
    let total = heard.last().copied().expect("heard");
    let read_ends = heard.iter().position(|&n| n == total).expect("total");
    assert!(heard.len() - read_ends >= 4, "{heard:?}");

    for stop_at in read_ends + 1..heard.len() {
        let mut calls = 0;
        let result = audit_archive(archive.as_slice(), &mut |_| {
            calls += 1;
            if calls > stop_at {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(
            matches!(result, Err(Error::Cancelled)),
            "{stop_at}: {result:?}"
        );
        assert_eq!(calls, stop_at + 1, "it stops at once");
    }
}
