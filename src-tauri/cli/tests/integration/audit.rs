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

use crate::support::{docker, Fixture, FixtureSpec};

const DELETED: usize = 3000;
const KEPT: usize = 700;

/// busybox, then a file written and deleted later, a file kept with a hard link to it. By the
/// classic builder on every engine: the figures below follow from how it stores a link made in
/// a later step (BuildKit on Engine 28.5's containerd store does not store the file again).
fn wasteful_fixture() -> Fixture {
    let deleted = vec![b'd'; DELETED];
    let kept = vec![b'k'; KEPT];
    Fixture::build_classic(&FixtureSpec {
        name: "audit",
        files: &[("deleted.bin", &deleted), ("kept.bin", &kept)],
        steps: &[
            "COPY deleted.bin /data/deleted.bin",
            "RUN [\"/bin/busybox\", \"rm\", \"/data/deleted.bin\"]",
            "COPY kept.bin /data/kept.bin",
            "RUN [\"/bin/busybox\", \"ln\", \"/data/kept.bin\", \"/data/kept-link\"]",
        ],
    })
}

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

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_squashbox-cli"))
}

#[test]
fn cli_json_has_the_documented_fields() {
    let fixture = wasteful_fixture();
    let output = cli()
        .args(["audit", &fixture.tag, "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let report = &json["report"];
    for field in [
        "layerBytes",
        "filesystemBytes",
        "reclaimableBytes",
        "efficiency",
        "layers",
        "wastedFiles",
    ] {
        assert!(!report[field].is_null(), "{field} missing: {report}");
    }
    assert_eq!(report["reclaimableBytes"], DELETED + KEPT);
    assert!(json["ci"].is_null(), "no gate without --ci");
}

#[test]
fn cli_ci_gate_passes_and_fails_on_its_limits() {
    let fixture = wasteful_fixture();
    let gate = |limits: &[&str]| {
        let mut command = cli();
        command.args(["audit", &fixture.tag, "--ci"]).args(limits);
        command.output().unwrap()
    };
    let lenient = gate(&[
        "--lowest-efficiency",
        "0",
        "--highest-user-wasted-percent",
        "1",
    ]);
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lenient.stdout)
    );
    assert!(String::from_utf8_lossy(&lenient.stdout)
        .trim_end()
        .ends_with("PASS"));

    let strict = gate(&[
        "--lowest-efficiency",
        "0",
        "--highest-user-wasted-percent",
        "1",
        "--highest-wasted-bytes",
        "1kB",
    ]);
    assert_eq!(strict.status.code(), Some(10));
    let stdout = String::from_utf8_lossy(&strict.stdout);
    assert!(stdout.contains("FAIL  highestWastedBytes"), "{stdout}");
    assert!(stdout.trim_end().ends_with("FAIL"), "{stdout}");
}

#[test]
fn cli_ci_gate_reads_a_dive_ci_file() {
    let fixture = wasteful_fixture();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".dive-ci"),
        "rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: 2KB\n  highestUserWastedPercent: disabled\n",
    )
    .unwrap();
    let output = cli()
        .current_dir(dir.path())
        .args(["audit", &fixture.tag, "--ci"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("SKIP  lowestEfficiency"), "{stdout}");
    assert!(stdout.contains("FAIL  highestWastedBytes"), "{stdout}");
}

#[test]
fn cli_reports_an_unknown_image_with_exit_code_4() {
    let output = cli()
        .args(["audit", "squashbox-test/no-such-image:1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-image"));
}
