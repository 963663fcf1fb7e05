//! The squash: a new image whose filesystem is the source's, in one layer, with the
//! configuration that the copy drops declared again.
//!
//! ```
//! # fn demo(inspect: &bollard::models::ImageInspect) -> squashbox_core::Result<()> {
//! use squashbox_core::squash::{render, SquashPlan};
//! let plan = SquashPlan::from_image(inspect, "web:1.2")?;
//! let dockerfile = render(&plan)?;
//! # Ok(()) }
//! ```
//!
//! [`plan`] holds what will be declared and checks edits; [`dockerfile`] writes it so that
//! every value reaches the new image unchanged.

pub mod dockerfile;
pub mod plan;
mod run;

pub use crate::reference::validate_tag;
pub use dockerfile::{known_differences, render, render_copying, render_stage, KnownDifference};
pub use plan::{Healthcheck, KeyValue, SquashPlan};
pub use run::{
    choose_builder, config_differences, preflight, squash, BuilderChoice, ConfigDifference,
    Preflight, SourceScan, SquashOptions, SquashOutcome, Verification,
};
