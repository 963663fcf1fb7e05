//! Integration tests against the real Docker daemon (the README's test command starts one).
//! One binary, so fixtures and the connection code are compiled once. They test the core and
//! the CLI together (several run `squashbox-cli` itself), so they live with the CLI, and
//! `cargo test -p squashbox-cli` runs them without compiling the app. Unix only, as the fixtures
//! are (Linux daemons; the Windows workflow lints the rest).

#![cfg(unix)]

use squashbox_test_support as support;

mod audit;
mod build;
mod cli;
mod daemon;
mod events;
mod images;
mod remote;
mod squash;
mod squash_cancel;
mod squash_config;
mod squash_direct;
mod verify;
