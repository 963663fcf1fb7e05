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
//! every value reaches the new image unchanged; the result is checked against both the
//! source's files and the plan, by meaning (see [`Verification`]).

pub mod dockerfile;
pub mod plan;
mod run;
mod verify;

pub use dockerfile::{known_differences, render, render_copying, render_stage, KnownDifference};
pub use plan::{validate_tag, Healthcheck, KeyValue, SquashPlan};
pub use run::{
    choose_builder, preflight, squash, BuilderChoice, Preflight, SourceScan, SquashOptions,
    SquashOutcome,
};
pub use verify::{
    config_differences, Allowance, AllowedDifference, ConfigComparison, ConfigDifference,
    Verification,
};
