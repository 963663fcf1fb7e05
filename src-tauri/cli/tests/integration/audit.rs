//! `squashbox-cli audit`: its JSON, its CI gate and its exit codes.

use crate::support::{wasteful_fixture, DELETED, KEPT};
use crate::{cli, cli_json};

#[test]
fn cli_json_has_the_documented_fields() {
    let fixture = wasteful_fixture();
    let json = cli_json(&["audit", &fixture.tag, "--json"]);
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
