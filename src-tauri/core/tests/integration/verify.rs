//! The squash verifier on real images: a source with every kind of entry a squash can lose,
//! copied into one layer by each builder, then compared entry by entry from the layers.

use squashbox_core::audit::{
    compare, snapshot_image, Difference, DifferenceKind, EntryKind, FsComparison, MtimeCheck,
    MtimeLoss,
};
use squashbox_core::build::{build_dockerfile, Builder};
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::made::MadeImages;

use crate::support::{
    docker, import_layer, podman, unique_name, xattr_image, Fixture, FixtureSpec, Made,
};

async fn daemon() -> Daemon {
    Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap()
}

const LONG_NAME: &str = "/long-name-nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn";
const UNICODE_NAME: &str = "/données/naïve-文件.txt";
/// `cap_net_raw+ep` as `setcap` writes it (VFS_CAP_REVISION_2).
pub(crate) const NET_RAW: &[u8] =
    b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

/// `RUN` in exec form: the fixture has busybox and no shell on a search path.
fn run(script: &str) -> String {
    let exec = serde_json::to_string(&["/bin/busybox", "sh", "-c", script]).unwrap();
    format!("RUN {exec}")
}

/// An image holding `/caps/capped`, a file with a capability. Busybox has no `setcap`, and a
/// setcap'd file COPY'd from the build context arrived without it; `docker import` keeps the
/// xattr a tar's PAX header carries.
fn capability_image() -> Made {
    let mut layer = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    layer
        .append_data(&mut dir, "caps", std::io::empty())
        .unwrap();
    layer
        .append_pax_extensions([("SCHILY.xattr.security.capability", NET_RAW)])
        .unwrap();
    let content = b"a file with cap_net_raw\n";
    let mut header = tar::Header::new_ustar();
    header.set_mode(0o755);
    header.set_size(content.len() as u64);
    layer
        .append_data(&mut header, "caps/capped", content.as_slice())
        .unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), layer.into_inner().unwrap()).unwrap();
    Made(import_layer(file.path()))
}

/// busybox, a file with a capability, a layer with every other kind of entry, then one that
/// deletes, makes opaque, replaces and breaks some of them. The capability's image is
/// returned with the fixture, to be removed with it.
pub(crate) fn source_fixture() -> (Fixture, Made) {
    let capability = capability_image();
    // A directory: the classic builder copied a lone file without its capability (seen here,
    // Engine 20.10), a directory with it.
    // By name: BuildKit reads an image ID after --from as a registry name.
    let capability_name = docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .RepoTags 0}}",
        &capability.0,
    ]);
    let copy_capped = format!("COPY --from={capability_name} /caps /caps");
    // Podman's build refuses mknod (CAP_MKNOD is not in its default set): no device there.
    let device = if podman() {
        ""
    } else {
        "mknod /dev-null c 1 3"
    };
    let everything = run(&format!(
        "set -e
        mkdir -p /data/sub /sticky /empty /opaque/old /replaced/inner /links /données
        echo hello > /data/a
        ln /data/a /data/a-link
        ln /data/a /data/sub/a-link2
        echo su > /data/setuid && chmod 4755 /data/setuid
        chmod 2750 /data/sub && chown 1000:1000 /data/sub
        chmod 1777 /sticky
        echo mine > /data/owned && chown 1234:5678 /data/owned
        ln -s /data/a /abs-link
        ln -s ../data/a /links/rel-link
        mkfifo /fifo
        {device}
        echo long > {LONG_NAME}
        echo unicode > {UNICODE_NAME}
        echo gone > /data/deleted
        echo old > /opaque/old/file && echo kept > /opaque/kept
        echo in > /replaced/inner/file
        echo linked > /broken && ln /broken /broken-link"
    ));
    let changes = run("set -e
        rm /data/deleted
        rm -rf /opaque && mkdir /opaque && echo new > /opaque/new
        rm -rf /replaced && echo now a file > /replaced
        echo more >> /broken-link");
    let fixture = Fixture::build(&FixtureSpec {
        name: "verify",
        files: &[],
        steps: &[&copy_capped, &everything, &changes],
    });
    (fixture, capability)
}

/// `FROM scratch` + `COPY --from=<image> / /` by the classic builder, through the docker CLI
/// (which support::docker runs with DOCKER_BUILDKIT=0), as a person would squash by hand.
fn classic_copy(image: &str) -> Made {
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!("FROM scratch\nCOPY --from={image} / /\n");
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    Made(docker(&["build", "-q", context.path().to_str().unwrap()]))
}

async fn squash(daemon: &Daemon, fixture: &Fixture, builder: Builder) -> Made {
    match builder {
        Builder::Classic => classic_copy(&fixture.id),
        Builder::BuildKit => {
            // BuildKit reads `--from=sha256:…` as a registry name: it is given the tag.
            let dockerfile = format!("FROM scratch\nCOPY --from={} / /\n", fixture.tag);
            let id = build_dockerfile(
                daemon,
                &dockerfile,
                builder,
                &MadeImages::before_job(daemon, &[]).await.unwrap(),
                &|_: Progress| {},
                &CancelToken::new(),
            )
            .await
            .unwrap();
            Made(id)
        }
    }
}

/// The filesystems of two images, entry by entry, times as closely as `mtimes` says.
async fn compared(daemon: &Daemon, source: &str, result: &str, mtimes: MtimeCheck) -> FsComparison {
    let cancel = CancelToken::new();
    let quiet = |_: Progress| {};
    let source = snapshot_image(daemon, source, "reading", &quiet, &cancel).await;
    let result = snapshot_image(daemon, result, "reading", &quiet, &cancel).await;
    compare(&source.unwrap(), &result.unwrap(), mtimes, &cancel).unwrap()
}

/// What differs, as the squash job checks it: times to the second.
async fn differences(daemon: &Daemon, source: &str, result: &str) -> Vec<Difference> {
    let found = compared(daemon, source, result, MtimeCheck::WholeSeconds).await;
    found.differences
}

#[tokio::test]
async fn the_source_snapshot_has_what_the_fixture_made() {
    let (fixture, _capability) = source_fixture();
    let snapshot = snapshot_image(
        &daemon().await,
        &fixture.tag,
        "reading",
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let entry = |path: &str| {
        snapshot
            .entries
            .get(path)
            .unwrap_or_else(|| panic!("no {path} in the snapshot"))
    };
    let owner = |path: &str| (entry(path).uid, entry(path).gid);
    assert_eq!(entry("/data/setuid").mode, 0o4755);
    assert_eq!(entry("/data/sub").mode, 0o2750);
    assert_eq!(owner("/data/sub"), (1000, 1000));
    assert_eq!(entry("/sticky").mode, 0o1777);
    assert_eq!(owner("/data/owned"), (1234, 5678));
    assert_eq!(entry("/abs-link").link_target.as_deref(), Some("/data/a"));
    assert_eq!(
        entry("/links/rel-link").link_target.as_deref(),
        Some("../data/a")
    );
    assert_eq!(entry("/empty").kind, EntryKind::Dir);
    assert_eq!(entry("/fifo").kind, EntryKind::Fifo);
    assert_eq!(
        entry("/dev-null").kind,
        EntryKind::CharDevice { major: 1, minor: 3 }
    );
    assert_eq!(entry(LONG_NAME).size, 5);
    assert_eq!(entry(UNICODE_NAME).size, 8);
    assert_eq!(entry("/caps/capped").capability(), Some(NET_RAW));
    for gone in [
        "/data/deleted",
        "/opaque/old",
        "/opaque/kept",
        "/replaced/inner",
    ] {
        assert!(!snapshot.entries.contains_key(gone), "{gone} is gone");
    }
    assert_eq!(entry("/opaque/new").size, 4);
    assert_eq!(entry("/replaced").kind, EntryKind::File);
    assert_eq!(
        snapshot.hard_links_of("/data/a").map(<[String]>::to_vec),
        Some(vec![
            "/data/a".into(),
            "/data/a-link".into(),
            "/data/sub/a-link2".into()
        ])
    );
    assert_eq!(
        snapshot.hard_links_of("/broken"),
        None,
        "the append broke the link"
    );
    assert_eq!((entry("/broken").size, entry("/broken-link").size), (7, 12));
}

#[tokio::test]
async fn a_classic_squash_is_identical_to_its_source() {
    let daemon = daemon().await;
    let (fixture, _capability) = source_fixture();
    let squashed = squash(&daemon, &fixture, Builder::Classic).await;
    assert_eq!(differences(&daemon, &fixture.id, &squashed.0).await, vec![]);
}

#[tokio::test]
async fn a_buildkit_squash_loses_exactly_the_device_and_the_fifo() {
    let daemon = daemon().await;
    let (fixture, _capability) = source_fixture();
    let squashed = squash(&daemon, &fixture, Builder::BuildKit).await;
    let differences = differences(&daemon, &fixture.id, &squashed.0).await;
    let found: Vec<(&str, DifferenceKind, &str, &str)> = differences
        .iter()
        .map(|d| {
            (
                d.path.as_str(),
                d.what,
                d.source.as_str(),
                d.result.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "/dev-null",
                DifferenceKind::Type,
                "character device 1:3",
                "regular file, 0 bytes"
            ),
            ("/fifo", DifferenceKind::Missing, "FIFO", "absent"),
        ]
    );
}

#[tokio::test]
async fn a_classic_squash_loses_other_xattrs_and_the_root_entry_and_both_are_found() {
    let daemon = daemon().await;
    let source = xattr_image();
    let squashed = classic_copy(&source.0);
    let differences = differences(&daemon, &source.0, &squashed.0).await;
    let found: Vec<(&str, DifferenceKind, &str, &str)> = differences
        .iter()
        .map(|d| {
            (
                d.path.as_str(),
                d.what,
                d.source.as_str(),
                d.result.as_str(),
            )
        })
        .collect();
    // The copy has no root entry: its root is the daemon's 0755.
    assert_eq!(
        found,
        vec![
            ("/", DifferenceKind::Mode, "0700", "0755"),
            (
                "/",
                DifferenceKind::Xattr,
                "user.origin = \"root\"",
                "no user.origin"
            ),
            (
                "/origin.txt",
                DifferenceKind::Xattr,
                "user.origin = \"loaded\"",
                "no user.origin"
            ),
        ]
    );
}

/// An image imported from a tar whose PAX records give times with fractions of a second to the
/// root entry, directories, files, a symlink and a hard link (one time per group, as a
/// filesystem has it), times outside what the daemon unpacks, and a time in whole seconds.
fn timed_image() -> Made {
    let mut layer = tar::Builder::new(Vec::new());
    let mut add = |kind, path: &str, mtime: &str, content: &[u8], link: Option<&str>| {
        layer
            .append_pax_extensions([("mtime", mtime.as_bytes())])
            .unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_size(content.len() as u64);
        header.set_uid(0);
        header.set_gid(0);
        // Whole seconds, as a PAX writer puts them beside the record.
        let seconds = mtime
            .split('.')
            .next()
            .unwrap_or("0")
            .parse::<i64>()
            .unwrap();
        header.set_mtime(seconds.max(0) as u64);
        match link {
            Some(target) => layer.append_link(&mut header, path, target).unwrap(),
            None if path == "./" => {
                // The tar crate refuses to name an entry `./`.
                header.as_old_mut().name[..2].copy_from_slice(b"./");
                header.set_cksum();
                layer.append(&header, std::io::empty()).unwrap();
            }
            None => layer.append_data(&mut header, path, content).unwrap(),
        }
    };
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    add(Directory, "./", "1700000000.111111111", b"", None);
    add(Directory, "dir", "1700000001.25", b"", None);
    add(Directory, "dir/sub", "1700000002.5", b"", None);
    add(
        Regular,
        "dir/sub/file",
        "1700000003.123456789",
        b"x\n",
        None,
    );
    add(
        Link,
        "dir/hard",
        "1700000003.123456789",
        b"",
        Some("dir/sub/file"),
    );
    add(Regular, "dir/whole", "1700000004", b"w\n", None);
    add(Symlink, "dir/link", "1700000005.75", b"", Some("sub/file"));
    add(Directory, "empty", "1700000007.000000001", b"", None);
    add(Regular, "half", "0.5", b"h\n", None);
    add(Regular, "before-1970", "-1.5", b"b\n", None);
    add(Regular, "after-2262", "9999999999.5", b"a\n", None);
    // Its own content, so no other test's copy is the classic builder's cached one.
    let name = unique_name("timed");
    add(
        Regular,
        ".squashbox-fixture",
        "1700000008.9",
        name.as_bytes(),
        None,
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), layer.into_inner().unwrap()).unwrap();
    Made(docker(&["import", file.path().to_str().unwrap()]))
}

#[tokio::test]
async fn a_classic_squash_keeps_times_to_the_second_and_not_the_roots() {
    let daemon = daemon().await;
    let source = timed_image();
    let squashed = classic_copy(&source.0);
    let found = compared(&daemon, &source.0, &squashed.0, MtimeCheck::WholeSeconds).await;
    assert_eq!(found.differences, vec![]);
    let lost: Vec<(MtimeLoss, u64, &str, &str, &str)> = found
        .mtimes_let_through
        .iter()
        .map(|lost| {
            let first = &lost.first;
            let (path, source, result) = (&first.path, &first.source, &first.result);
            (
                lost.why,
                lost.entries,
                path.as_str(),
                source.as_str(),
                result.as_str(),
            )
        })
        .collect();
    // Every fraction cut (Engine 20.10 cuts; Podman 4.3 rounds), the times before 1970 and
    // after 2262 now the epoch, the root's own entry gone.
    assert_eq!(
        lost,
        vec![
            (
                MtimeLoss::Fraction,
                8,
                "/.squashbox-fixture",
                "1700000008.9",
                "1700000008"
            ),
            (MtimeLoss::OutOfRange, 2, "/after-2262", "9999999999.5", "0"),
            (
                MtimeLoss::Unstamped,
                1,
                "/",
                "1700000000.111111111",
                "none: stamped when unpacked"
            ),
        ]
    );
    // Looked at exactly, each of those is a difference; the whole second is kept.
    let exact = compared(&daemon, &source.0, &squashed.0, MtimeCheck::Exact).await;
    let paths: Vec<&str> = exact.differences.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/.squashbox-fixture",
            "/after-2262",
            "/before-1970",
            "/dir",
            "/dir/hard",
            "/dir/link",
            "/dir/sub",
            "/dir/sub/file",
            "/empty",
            "/half",
        ]
    );
}
