//! Integration tests against the real Docker daemon (the README's test command starts one).
//! One binary, so fixtures and the connection code are compiled once.

#[path = "../support/mod.rs"]
mod support;

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
