//! Squashbox's headless core: everything that talks to Docker, with no window in sight.
//!
//! The Tauri commands, the CLI and the tests all call this crate, so each capability is
//! written once. The usual start:
//!
//! ```no_run
//! # async fn demo() -> squashbox_core::Result<()> {
//! use squashbox_core::{endpoint::Environment, daemon::Daemon, images};
//! let daemon = Daemon::connect(&Environment::from_process(None)).await?;
//! let images = images::list(&daemon).await?;
//! println!("{} images on {}", images.len(), daemon.info().endpoint.host);
//! # Ok(()) }
//! ```

mod atomic_file;
pub mod audit;
pub mod build;
pub mod ci_gate;
pub mod daemon;
pub mod disk;
pub mod endpoint;
pub mod error;
pub mod events;
pub mod hold;
pub mod image_size;
pub mod images;
pub mod job;
pub mod left_behind;
pub mod made;
pub mod platform;
pub mod prune;
mod raw;
pub mod reference;
mod retry;
pub mod savings;
pub mod settings;
pub mod squash;
pub mod transport;
pub mod units;

pub use error::{Error, Result};
