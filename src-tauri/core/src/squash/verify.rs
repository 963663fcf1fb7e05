//! The squash's check of its result: the filesystem entry by entry against the source's, every
//! setting against the plan.
//!
//! ```
//! # fn demo(plan: &squashbox_core::squash::SquashPlan, result: &squashbox_core::squash::SquashPlan) {
//! use squashbox_core::build::Builder;
//! use squashbox_core::squash::config_differences;
//! for difference in config_differences(plan, result, Builder::Classic) {
//!     println!("{}: {} → {}", difference.field, difference.planned, difference.result);
//! }
//! # }
//! ```

use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use ts_rs::TS;

use super::dockerfile::{known_differences, DEFAULT_PATH};
use super::plan::{KeyValue, SquashPlan};
use crate::audit::{compare_on_blocking_pool, snapshot_image, Difference, FsSnapshot};
use crate::build::Builder;
use crate::daemon::Daemon;
use crate::error::Result;
use crate::images::inspect;
use crate::job::{CancelToken, ProgressSink};

/// A config field of the result that is not what the plan declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConfigDifference {
    pub field: String,
    pub planned: String,
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Verification {
    /// The filesystem and the configuration are as planned, apart from known differences.
    pub passed: bool,
    pub filesystem: Vec<Difference>,
    pub config: Vec<ConfigDifference>,
}

/// Reads the result and checks it against the source's files and the plan.
pub(super) async fn check(
    daemon: &Daemon,
    plan: &SquashPlan,
    builder: Builder,
    source_files: Arc<FsSnapshot>,
    result_id: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<Verification> {
    let result_files = snapshot_image(daemon, result_id, "verifying result", sink, cancel).await?;
    // Hundreds of thousands of entries: off the async threads, and a cancel still heard.
    let filesystem =
        compare_on_blocking_pool(source_files, Arc::new(result_files), cancel.clone()).await?;
    let result = inspect(daemon, result_id).await?;
    let config = config_differences(plan, &SquashPlan::from_image(&result, &plan.tag)?, builder);
    // BuildKit's losses are the reason Auto avoids it; when chosen anyway they still count.
    Ok(Verification {
        passed: filesystem.is_empty() && config.is_empty(),
        filesystem,
        config,
    })
}

/// The result's configuration against the plan, leaving out what the builder is known to
/// change whatever the Dockerfile says.
pub fn config_differences(
    plan: &SquashPlan,
    result: &SquashPlan,
    builder: Builder,
) -> Vec<ConfigDifference> {
    // Env is always compared, as the builders store it (see `env_as_built`): a known PATH rule
    // must not hide a real change to another variable.
    let known: HashSet<String> = known_differences(plan, builder)
        .into_iter()
        .map(|k| k.field)
        .filter(|field| field != "Env")
        .collect();
    let shown = |value: &dyn std::fmt::Debug| format!("{value:?}");
    let fields = [
        ("Env", shown(&env_as_built(&plan.env)), shown(&result.env)),
        ("User", plan.user.clone(), result.user.clone()),
        (
            "WorkingDir",
            plan.working_dir.clone(),
            result.working_dir.clone(),
        ),
        ("Cmd", shown(&plan.cmd), shown(&result.cmd)),
        (
            "Entrypoint",
            shown(&plan.entrypoint),
            shown(&result.entrypoint),
        ),
        (
            "ExposedPorts",
            shown(&plan.exposed_ports),
            shown(&result.exposed_ports),
        ),
        ("Labels", shown(&plan.labels), shown(&result.labels)),
        ("Volumes", shown(&plan.volumes), shown(&result.volumes)),
        (
            "StopSignal",
            plan.stop_signal.clone(),
            result.stop_signal.clone(),
        ),
        (
            "Healthcheck",
            shown(&plan.healthcheck),
            shown(&result.healthcheck),
        ),
        ("Shell", shown(&plan.shell), shown(&result.shell)),
        ("OnBuild", shown(&plan.on_build), shown(&result.on_build)),
    ];
    fields
        .into_iter()
        .filter(|(field, planned, actual)| planned != actual && !known.contains(*field))
        .map(|(field, planned, result)| ConfigDifference {
            field: field.into(),
            planned,
            result,
        })
        .collect()
}

/// The environment as both builders store it: PATH first, the default one if none is set.
fn env_as_built(env: &[KeyValue]) -> Vec<KeyValue> {
    let path = env
        .iter()
        .find(|v| v.key == "PATH")
        .cloned()
        .unwrap_or_else(|| KeyValue {
            key: "PATH".into(),
            value: DEFAULT_PATH.into(),
        });
    std::iter::once(path)
        .chain(env.iter().filter(|v| v.key != "PATH").cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_environment_has_path_first() {
        let kv = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: v.into(),
        };
        assert_eq!(
            env_as_built(&[kv("A", "1")]),
            vec![kv("PATH", DEFAULT_PATH), kv("A", "1")]
        );
        assert_eq!(
            env_as_built(&[kv("A", "1"), kv("PATH", "/x")]),
            vec![kv("PATH", "/x"), kv("A", "1")]
        );
    }
}
