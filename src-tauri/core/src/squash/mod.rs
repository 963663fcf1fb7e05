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

mod direct;
pub mod dockerfile;
mod method;
mod multi_stage;
pub mod plan;
mod run;
mod verify;

pub use crate::reference::validate_tag;
pub use dockerfile::{known_differences, render, render_copying, render_stage, KnownDifference};
pub use method::{choose_builder, choose_method, Method, MethodChoice, MethodPick};
pub use plan::{Healthcheck, KeyValue, PlanField, SquashPlan};
pub use run::{preflight, squash, Preflight, SourceAudit, SquashOptions, SquashOutcome};
pub use verify::{
    config_differences, Allowance, AllowedDifference, ConfigComparison, ConfigDifference,
    Verification,
};
