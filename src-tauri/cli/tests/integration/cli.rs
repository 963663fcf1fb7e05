//! The command-line front, run as a user would run it.

use crate::support::{Fixture, FixtureSpec};
use crate::{cli, cli_json};

#[test]
fn images_json_lists_a_fixture() {
    let fixture = Fixture::small("cli");
    let listed = cli_json(&["images", "--json"]);
    let list = listed.as_array().unwrap();
    let image = list
        .iter()
        .find(|i| i["id"] == fixture.id.as_str())
        .expect("the fixture is listed");
    assert_eq!(image["tags"], serde_json::json!([fixture.tag]));
    assert!(image["size"].as_u64().unwrap() > 0);
    assert_eq!(image["layers"], 2);
    assert_eq!(image["dangling"], false);
    assert_eq!(image["inUse"], false);
    assert!(image["created"].as_i64().unwrap() > 1_600_000_000);
}

#[test]
fn a_dead_daemon_is_one_clear_line_and_exit_code_3() {
    let output = cli()
        .args(["images", "--json"])
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Docker"), "{stderr}");
    assert!(stderr.contains("DOCKER_HOST"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn doctor_lists_each_endpoint_and_what_it_answered() {
    let output = cli().arg("doctor").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("unix:///var/run/docker.sock"), "{stdout}");
    assert!(stdout.contains("Docker Engine"), "{stdout}");
    assert!(stdout.contains("no socket there"), "{stdout}");
}

#[test]
fn doctor_with_a_dead_docker_host_says_so_and_fails() {
    let output = cli()
        .arg("doctor")
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("DOCKER_HOST"), "{stdout}");
    assert!(
        stdout.contains("no socket at /nonexistent.sock"),
        "{stdout}"
    );
}

#[test]
fn a_reader_that_stops_early_is_no_panic() {
    // `squashbox-cli doctor | head -1`: the pipe closes after the first line.
    let mut child = cli()
        .arg("doctor")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A layer can hold a file whose name is a terminal command and a build step whose text is
/// one; the table shows them escaped, and the JSON keeps them exact (serde escapes controls).
#[test]
fn escape_sequences_from_an_image_never_reach_the_terminal_raw() {
    let name = "rootfs/tmp/\x1b[2J\x1b[31mgotcha\u{202e}txt.exe";
    let fixture = Fixture::build(&FixtureSpec {
        name: "cli-escapes",
        files: &[(name, b"wasted once /tmp is removed\n")],
        steps: &["RUN rm -rf /tmp # \x1b]0;retitled\x07"],
    });

    let output = cli().args(["audit", &fixture.id]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains(['\x1b', '\x07', '\u{202e}']), "{stdout:?}");
    assert!(
        stdout.contains("/tmp/\\x1b[2J\\x1b[31mgotcha\\u{202e}txt.exe"),
        "{stdout}"
    );
    assert!(stdout.contains("# \\x1b]0;retitled\\x07"), "{stdout}");

    let output = cli()
        .args(["audit", &fixture.id, "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!output.stdout.contains(&0x1b), "serde escapes ESC in JSON");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let wasted = json["report"]["wastedFiles"].as_array().unwrap();
    assert!(
        wasted.iter().any(|f| f["path"]
            .as_str()
            .unwrap()
            .ends_with("\x1b[31mgotcha\u{202e}txt.exe")),
        "the JSON keeps the name exact: {wasted:?}"
    );
}
