//! The core's integration tests, against the real Docker daemon (the README's test command
//! starts one): one binary, so fixtures and the connection code are compiled once, and
//! `cargo test -p squashbox-core` runs them without compiling the CLI or the app. The CLI's own
//! runs of the same work are in `src-tauri/cli/tests/integration`. Unix only, as the fixtures
//! are (Linux daemons; the Windows workflow lints the rest).

#![cfg(unix)]

use squashbox_test_support as support;

mod audit;
mod build;
mod daemon;
mod events;
mod images;
mod remote;
mod squash;
mod squash_cancel;
mod squash_config;
mod squash_direct;
mod verify;
