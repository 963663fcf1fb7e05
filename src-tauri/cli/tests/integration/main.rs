//! The CLI's integration tests against the real Docker daemon (the README's test command
//! starts one), each running `squashbox-cli` as a user would, in modules named as the core's
//! tests of the same work are (`src-tauri/core/tests/integration`), so that one filter
//! (`-- squash::`) runs both. Unix only, as the fixtures are (Linux
//! daemons; the Windows workflow lints the rest).

#![cfg(unix)]

use squashbox_test_support as support;

mod audit;
mod cli;
mod prune;
mod squash;
mod squash_direct;
mod verify;

/// The CLI binary this package builds, to run as a user would.
fn cli() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_squashbox-cli"))
}

/// Runs the CLI with `args` (which ask for `--json`), checks that it succeeded (showing its
/// stderr when not) and returns what it printed, parsed.
fn cli_json(args: &[&str]) -> serde_json::Value {
    let output = cli().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
