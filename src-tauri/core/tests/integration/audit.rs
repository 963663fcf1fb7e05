//! The audit on real images, its figures checked against ones computed another way: the final
//! filesystem from `docker export` of a created (never started) container, the layers from what
//! the fixture wrote.

use squashbox_core::audit::audit_image;
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::Error;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::support::{docker, wasteful_fixture, Fixture, FixtureSpec, DELETED, KEPT};

/// Bytes of regular files in the image's filesystem as `docker export` gives it, each hard-link
/// group once (a tar's hard-link entries carry no bytes).
fn exported_filesystem_bytes(image: &str) -> u64 {
    let container = docker(&["create", image, "/bin/sh"]);
    let mut child = Command::new("docker")
        .args(["export", &container])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut archive = tar::Archive::new(child.stdout.take().unwrap());
    let mut bytes = 0;
    let mut seen = HashSet::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        if entry.header().entry_type().is_file() && seen.insert(entry.path().unwrap().into_owned())
        {
            bytes += entry.header().size().unwrap();
        }
    }
    child.wait().unwrap();
    docker(&["rm", &container]);
    bytes
}

async fn daemon() -> Daemon {
    Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap()
}

#[tokio::test]
async fn figures_match_docker_export_and_what_the_fixture_wrote() {
    let fixture = wasteful_fixture();
    let expected_filesystem = exported_filesystem_bytes(&fixture.tag);
    let progress = Mutex::new(Vec::new());
    let audited = audit_image(
        &daemon().await,
        &fixture.tag,
        &|p: Progress| progress.lock().unwrap().push(p),
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let report = audited.report;

    // Linking a file in a later step stores it again in that step's layer (overlay copies it
    // up to change its link count; seen in `docker save` here), so the first copy is waste too.
    let wasted = (DELETED + KEPT) as u64;
    assert_eq!(audited.id, fixture.id);
    assert_eq!(report.filesystem_bytes, expected_filesystem);
    assert_eq!(report.layer_bytes, expected_filesystem + wasted);
    assert_eq!(report.reclaimable_bytes, wasted);
    assert_eq!(report.wasted_bytes, wasted);
    let files: Vec<(&str, u64, Vec<u32>)> = report
        .wasted_files
        .iter()
        .map(|w| (w.path.as_str(), w.wasted_bytes, w.layers.clone()))
        .collect();
    assert_eq!(
        files,
        vec![
            ("/data/deleted.bin", DELETED as u64, vec![1, 2]),
            ("/data/kept.bin", KEPT as u64, vec![3, 4]),
        ]
    );

    // busybox, copy, rm, copy, ln: five layers, each with the step that made it.
    assert_eq!(report.layers.len(), 5);
    assert_eq!(report.layers[1].bytes_lost_later, DELETED as u64);
    assert_eq!(report.layers[2].files_removed, 1);
    assert_eq!(report.layers[3].bytes_added, KEPT as u64);
    assert_eq!(report.layers[3].bytes_lost_later, KEPT as u64);
    assert_eq!(
        report.layers[4].bytes_added, KEPT as u64,
        "the linked pair, once"
    );
    assert!(report.layers[2]
        .created_by
        .as_deref()
        .unwrap_or("")
        .contains("rm"));

    let progress = progress.into_inner().unwrap();
    let last = progress.last().expect("progress was reported");
    assert!(last.done > 0);
    assert!(progress.windows(2).all(|w| w[0].done <= w[1].done));
}

/// A base image's history ends with the command it runs; the audit finds where from that.
#[tokio::test]
async fn the_history_says_where_the_base_image_ends() {
    let fixture = Fixture::build(&FixtureSpec {
        name: "audit-base",
        files: &[("app.txt", b"the image's own file\n")],
        steps: &["CMD [\"/bin/sh\"]", "COPY app.txt /app.txt"],
    });
    let audited = audit_image(
        &daemon().await,
        &fixture.tag,
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let layers = audited.report.layers.len() as u32;
    assert_eq!(
        audited.report.base_layers,
        Some(layers - 1),
        "{:?}",
        audited.report.layers
    );
    // The wasteful fixture's history has no CMD: no guess.
    let plain = wasteful_fixture();
    let audited = audit_image(
        &daemon().await,
        &plain.tag,
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(audited.report.base_layers, None);
}

#[tokio::test]
async fn an_unknown_image_is_named_in_the_error() {
    let err = audit_image(
        &daemon().await,
        "squashbox-test/no-such-image:1",
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await
    .err()
    .expect("an error");
    assert!(
        matches!(&err, Error::ImageNotFound(name) if name == "squashbox-test/no-such-image:1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_cancelled_audit_stops_with_cancelled() {
    let fixture = Fixture::small("audit-cancel");
    let cancel = CancelToken::new();
    cancel.cancel();
    let result = audit_image(&daemon().await, &fixture.tag, &|_: Progress| {}, &cancel).await;
    assert!(
        matches!(result, Err(Error::Cancelled)),
        "{:?}",
        result.err()
    );
}
