//! The squash's check of its result: the filesystem entry by entry against the source's, every
//! setting against the plan. Both are compared for what they mean, not for how an engine wrote
//! them, and whatever the check allows is said in [`Verification::allowed`], never passed over.
//!
//! ```
//! # fn demo(plan: &squashbox_core::squash::SquashPlan, inspection: &serde_json::Value) -> squashbox_core::Result<()> {
//! use squashbox_core::squash::{config_differences, Method};
//! // `inspection`: the daemon's JSON for the squashed image, as it sent it.
//! let found = config_differences(plan, inspection, Method::Classic, "Podman Engine")?;
//! for allowed in &found.allowed {
//!     println!("{}: {}", allowed.field, allowed.note); // Cmd: Podman Engine stored an unset Cmd as [] …
//! }
//! # Ok(()) }
//! ```
//!
//! # Settings: same meaning, other spelling
//! An unset list and an empty one mean the same for `Cmd`, `Entrypoint`, `Shell` and `OnBuild`,
//! and an unset map and an empty one for `ExposedPorts`, `Volumes` and `Labels`: no command, no
//! trigger, no port. Podman 4.3 builds through its Docker-compatible API store `Cmd` and
//! `Entrypoint` as `[]` and `Volumes` as `{}` where its own CLI (and Docker) store `null`.
//! Buildah, Podman's builder, also stamps its label `io.buildah.version` on everything it
//! builds, over any value the Dockerfile declares. Engine 20.10 and 28.5 (both builders) stored
//! what the Dockerfile said.
//!
//! # Modification times: what each builder keeps
//! Measured with an image `docker import`ed from a tar whose PAX records gave the root entry
//! (`./`), directories, files, a symlink and a hard link times with fractions of a second
//! (`1700000001.25`, `1700000003.123456789`, `1700000007.000000001`), plus `0.5`, `-1.5` and
//! `9999999999.5`, each squashed and its layer read back:
//! - The classic builder on Engine 20.10 (overlay2) cut every fraction: all 8 entries with one
//!   came back at the whole second below (`1700000005.75` → `1700000005`, `0.5` → `0`),
//!   directories and the symlink included. The root's own entry was dropped: the result's root
//!   is stamped by the daemon when it unpacks the image. `-1.5` and `9999999999.5` came back as
//!   `0`: the daemon's unpacker sets times before 1970 or after 2262 to the epoch. A GNU tar
//!   (`--format=posix`) of `/usr/share/doc` and `/etc` had 555 of its 8358 entries cut so.
//! - BuildKit on Engine 20.10 wrote the same times, entry for entry; so did both builders on
//!   Engine 28.5 with the containerd store.
//! - Podman 4.3 rounds to the nearest second instead (`1700000005.75` → `1700000006`,
//!   `1700000002.5` → `1700000003`), and sets the same out-of-range times to the epoch.
//! - A directory no entry describes (`a/b/file` alone in a layer) came back stamped with the
//!   time of the copy: its time was never the source's (see [`FsEntry::mtime`]).
//! - A hard link's own time in the tar is set on the inode it shares, so the last entry of a
//!   group wins on every engine, while a snapshot takes the target's: give every entry of a
//!   group one time, as tars written from a filesystem do.
//!
//! So both multi-stage builders are checked with [`MtimeCheck::WholeSeconds`], and each
//! fraction, out-of-range time and unstamped root it lets through becomes a note. The direct
//! method writes the layer itself, keeps every time (measured: the same tar's times all came
//! back to the nanosecond, root entry included) and is checked with [`MtimeCheck::Exact`]: its
//! result's files are read from the bytes it sent, which the daemon checked against their
//! diff ID.
//!
//! [`FsEntry::mtime`]: crate::audit::FsEntry::mtime

use bollard::models::ImageInspect;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use ts_rs::TS;

use super::dockerfile::{known_differences, DEFAULT_PATH};
use super::method::Method;
use super::plan::{KeyValue, SquashPlan};
use crate::audit::{
    compare_on_blocking_pool, snapshot_image, Difference, FsSnapshot, LostMtimes, MtimeCheck,
    MtimeLoss,
};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::job::{CancelToken, ProgressSink};
use crate::raw::get_json;

/// The label Buildah stamps on every image it builds, with its version as the value.
const BUILDAH_LABEL: &str = "io.buildah.version";

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
    /// The filesystem and the configuration are as planned, apart from known differences and
    /// what [`allowed`](Verification::allowed) lists.
    pub passed: bool,
    pub filesystem: Vec<Difference>,
    pub config: Vec<ConfigDifference>,
    /// What the result holds otherwise than the plan, in a way the check accepts: the same
    /// meaning in another spelling, or what the builder cannot keep (a fraction of a second).
    pub allowed: Vec<AllowedDifference>,
}

/// Something the engine or the builder did that the check let through, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AllowedDifference {
    /// The setting (`Cmd`), or `mtime` for the files' modification times.
    pub field: String,
    pub what: Allowance,
    /// For people: "Podman Engine stored an unset Cmd as [] — same meaning".
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Allowance {
    /// An unset list or map stored as an empty one.
    EmptyForUnset,
    /// An empty list or map stored as unset.
    UnsetForEmpty,
    /// The builder's own label, stamped on whatever it builds (Buildah's `io.buildah.version`).
    BuilderLabel,
    /// Modification times kept to the second: fractions cut or rounded.
    MtimeFraction,
    /// Modification times before 1970 or after 2262, set to the epoch by the daemon's unpacker.
    MtimeOutOfRange,
    /// No entry in the result holds the time (the root directory's): the daemon stamps it.
    MtimeUnstamped,
}

/// The result's settings against the plan's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigComparison {
    pub differences: Vec<ConfigDifference>,
    pub allowed: Vec<AllowedDifference>,
}

/// Reads the result and checks it against the source's files and the plan.
#[allow(clippy::too_many_arguments)]
pub(super) async fn check(
    daemon: &Daemon,
    plan: &SquashPlan,
    method: Method,
    source_files: Arc<FsSnapshot>,
    result_files: Option<FsSnapshot>,
    result_id: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<Verification> {
    let result_files = match result_files {
        Some(files) => files,
        None => snapshot_image(daemon, result_id, "verifying result", sink, cancel).await?,
    };
    // Hundreds of thousands of entries: off the async threads, and a cancel still heard.
    let filesystem = compare_on_blocking_pool(
        source_files,
        Arc::new(result_files),
        mtimes_kept(method),
        cancel.clone(),
    )
    .await?;
    let inspection = get_json(daemon, &format!("/images/{result_id}/json")).await?;
    let engine = &daemon.info().product;
    let config = config_differences(plan, &inspection, method, engine)?;
    let mut allowed: Vec<AllowedDifference> = filesystem
        .mtimes_let_through
        .iter()
        .map(|lost| mtime_note(lost, method, engine))
        .collect();
    allowed.extend(config.allowed);
    // BuildKit's losses are the reason Auto avoids it; when chosen anyway they still count.
    Ok(Verification {
        passed: filesystem.differences.is_empty() && config.differences.is_empty(),
        filesystem: filesystem.differences,
        config: config.differences,
        allowed,
    })
}

/// How closely `method` keeps modification times (measured: see the module's notes).
fn mtimes_kept(method: Method) -> MtimeCheck {
    match method {
        Method::Direct => MtimeCheck::Exact,
        Method::Classic | Method::BuildKit => MtimeCheck::WholeSeconds,
    }
}

/// The result's configuration against the plan, leaving out what the builder is known to
/// change whatever the Dockerfile says, and letting through, with a note naming `engine`, what
/// only the spelling changed. `inspection` is the daemon's answer to `GET /images/{id}/json`
/// as it came: bollard's model reads an unset `Volumes` or `ExposedPorts` as an empty one, and
/// how each was stored is what the notes are about.
pub fn config_differences(
    plan: &SquashPlan,
    inspection: &Value,
    method: Method,
    engine: &str,
) -> Result<ConfigComparison> {
    let result: ImageInspect = serde_json::from_value(inspection.clone())
        .map_err(|e| Error::Stream(format!("the squashed image's inspection: {e}")))?;
    let mut built = SquashPlan::from_image(&result, &plan.tag)?;
    // Env is always compared, as the builders store it (see `env_as_built`): a known PATH rule
    // must not hide a real change to another variable. The direct method writes it as planned.
    let known: HashSet<String> = method
        .builder()
        .map(|builder| known_differences(plan, builder))
        .unwrap_or_default()
        .into_iter()
        .map(|k| k.field)
        .filter(|field| field != "Env")
        .collect();
    let planned_env = match method {
        Method::Direct => plan.env.clone(),
        Method::Classic | Method::BuildKit => env_as_built(&plan.env),
    };
    let mut allowed = Vec::new();
    let mut planned_labels = plan.labels.clone();
    if let Some(stamp) = builder_stamp(plan, &built.labels) {
        // The stamp wins over whatever the plan declared under its key.
        planned_labels.retain(|label| label.key != BUILDAH_LABEL);
        built.labels.retain(|label| label.key != BUILDAH_LABEL);
        allowed.push(AllowedDifference {
            field: "Labels".into(),
            what: Allowance::BuilderLabel,
            note: format!(
                "{engine}'s builder added its label {BUILDAH_LABEL}={stamp}, as it does to every image it builds"
            ),
        });
    }
    let shown = |value: &dyn std::fmt::Debug| format!("{value:?}");
    let (cmd, entrypoint, shell) = (
        by_meaning(&plan.cmd, &built.cmd),
        by_meaning(&plan.entrypoint, &built.entrypoint),
        by_meaning(&plan.shell, &built.shell),
    );
    let fields = [
        ("Env", shown(&planned_env), shown(&built.env)),
        ("User", plan.user.clone(), built.user.clone()),
        (
            "WorkingDir",
            plan.working_dir.clone(),
            built.working_dir.clone(),
        ),
        ("Cmd", cmd.0, cmd.1),
        ("Entrypoint", entrypoint.0, entrypoint.1),
        (
            "ExposedPorts",
            shown(&plan.exposed_ports),
            shown(&built.exposed_ports),
        ),
        ("Labels", shown(&planned_labels), shown(&built.labels)),
        ("Volumes", shown(&plan.volumes), shown(&built.volumes)),
        (
            "StopSignal",
            plan.stop_signal.clone(),
            built.stop_signal.clone(),
        ),
        (
            "Healthcheck",
            shown(&plan.healthcheck),
            shown(&built.healthcheck),
        ),
        ("Shell", shell.0, shell.1),
        ("OnBuild", shown(&plan.on_build), shown(&built.on_build)),
    ];
    let differences = fields
        .into_iter()
        .filter(|(field, planned, actual)| planned != actual && !known.contains(*field))
        .map(|(field, planned, result)| ConfigDifference {
            field: field.into(),
            planned,
            result,
        })
        .collect();
    allowed.extend(
        spellings(plan, &inspection["Config"])
            .into_iter()
            .filter(|spelling| !known.contains(spelling.field))
            .filter_map(|spelling| spelling.allowed(engine)),
    );
    Ok(ConfigComparison {
        differences,
        allowed,
    })
}

/// Both lists as shown in a difference: the same text when they mean the same (unset is
/// empty), so that only a change of meaning differs.
fn by_meaning(planned: &Option<Vec<String>>, result: &Option<Vec<String>>) -> (String, String) {
    let meaning = |list: &Option<Vec<String>>| format!("{:?}", list.as_deref().unwrap_or_default());
    let (was, is) = (meaning(planned), meaning(result));
    if was == is {
        (was, is)
    } else {
        (format!("{planned:?}"), format!("{result:?}"))
    }
}

/// The value of the result's Buildah label, when the plan did not declare it so.
fn builder_stamp(plan: &SquashPlan, labels: &[KeyValue]) -> Option<String> {
    let stamp = labels.iter().find(|label| label.key == BUILDAH_LABEL)?;
    (!plan.labels.contains(stamp)).then(|| stamp.value.clone())
}

/// How a list or map setting is written: as planned (a Dockerfile declares nothing for an
/// empty one, and the builders then store it unset) and as the result stores it, by length,
/// `None` where it is unset.
struct Spelling {
    field: &'static str,
    planned: Option<usize>,
    result: Option<usize>,
    /// How an empty one is written: `[]` or `{}`.
    empty: &'static str,
}

impl Spelling {
    /// The note for an empty value that one side has unset and the other set.
    fn allowed(&self, engine: &str) -> Option<AllowedDifference> {
        let (field, empty) = (self.field, self.empty);
        let (what, note) = match (self.planned, self.result) {
            (None, Some(0)) => (
                Allowance::EmptyForUnset,
                format!("{engine} stored an unset {field} as {empty} — same meaning"),
            ),
            (Some(0), None) => (
                Allowance::UnsetForEmpty,
                format!("{engine} stored {field} {empty} as unset — same meaning"),
            ),
            _ => return None,
        };
        Some(AllowedDifference {
            field: field.into(),
            what,
            note,
        })
    }
}

/// The list and map settings, as planned and as `stored` (the result's `Config`) holds them.
fn spellings(plan: &SquashPlan, stored: &Value) -> [Spelling; 7] {
    fn declared<T>(list: &[T]) -> Option<usize> {
        (!list.is_empty()).then_some(list.len())
    }
    let length = |list: &Option<Vec<String>>| list.as_ref().map(Vec::len);
    let spelling = |field, planned, empty| Spelling {
        field,
        planned,
        result: match &stored[field] {
            Value::Array(list) => Some(list.len()),
            Value::Object(map) => Some(map.len()),
            _ => None,
        },
        empty,
    };
    [
        spelling("Cmd", length(&plan.cmd), "[]"),
        spelling("Entrypoint", length(&plan.entrypoint), "[]"),
        spelling("Shell", length(&plan.shell), "[]"),
        spelling("OnBuild", declared(&plan.on_build), "[]"),
        spelling("ExposedPorts", declared(&plan.exposed_ports), "{}"),
        spelling("Volumes", declared(&plan.volumes), "{}"),
        spelling("Labels", declared(&plan.labels), "{}"),
    ]
}

/// The note for modification times the filesystem check let through.
fn mtime_note(lost: &LostMtimes, method: Method, engine: &str) -> AllowedDifference {
    let first = &lost.first;
    let count = match lost.entries {
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    };
    let example = format!(
        "the first: {} {} → {}",
        first.path, first.source, first.result
    );
    let builder = match method {
        Method::Direct => "The direct method",
        Method::Classic => "The classic builder",
        Method::BuildKit => "BuildKit",
    };
    let (what, note) = match lost.why {
        MtimeLoss::Fraction => (
            Allowance::MtimeFraction,
            format!("{builder} keeps modification times to the second: {count} lost a fraction of a second ({example})"),
        ),
        MtimeLoss::OutOfRange => (
            Allowance::MtimeOutOfRange,
            format!("{count} dated before 1970 or after 2262 now read 1970-01-01, as {engine} sets such times when it unpacks a layer ({example})"),
        ),
        MtimeLoss::Unstamped => {
            let others = match lost.entries {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            (
                Allowance::MtimeUnstamped,
                format!("{builder} wrote no entry for {}{others}, so {engine} stamps it with the time it unpacks the image (the original's time: {})", first.path, first.source),
            )
        }
    };
    AllowedDifference {
        field: "mtime".into(),
        what,
        note,
    }
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
    use crate::audit::DifferenceKind;
    use crate::build::Builder;
    use serde_json::json;

    const ID: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }

    /// A plan for an image whose settings are `config`, as the daemon's JSON has them.
    fn plan_of(config: serde_json::Value) -> SquashPlan {
        let inspection = serde_json::from_value(answer(config)).expect("an inspection");
        SquashPlan::from_image(&inspection, "app:1").expect("a plan")
    }

    /// The daemon's answer for an image with `config` (PATH first, as the builders store it).
    fn answer(mut config: serde_json::Value) -> serde_json::Value {
        let env = config["Env"].take();
        config["Env"] = match env {
            serde_json::Value::Null => json!([format!("PATH={DEFAULT_PATH}")]),
            env => env,
        };
        json!({ "Id": ID, "Config": config })
    }

    /// What [`config_differences`] finds for a result stored as `result`, on Podman.
    fn checked(plan: &SquashPlan, result: serde_json::Value) -> ConfigComparison {
        config_differences(plan, &answer(result), Method::Classic, "Podman Engine")
            .expect("compared")
    }

    fn allowed(found: &ConfigComparison) -> Vec<(&str, Allowance)> {
        found
            .allowed
            .iter()
            .map(|a| (a.field.as_str(), a.what))
            .collect()
    }

    #[test]
    fn the_built_environment_has_path_first() {
        assert_eq!(
            env_as_built(&[kv("A", "1")]),
            vec![kv("PATH", DEFAULT_PATH), kv("A", "1")]
        );
        assert_eq!(
            env_as_built(&[kv("A", "1"), kv("PATH", "/x")]),
            vec![kv("PATH", "/x"), kv("A", "1")]
        );
    }

    #[test]
    fn podmans_empty_lists_for_an_unset_cmd_and_entrypoint_are_allowed_and_said() {
        // A plain `podman build` image, and what Podman 4.3's Docker API built from its plan.
        let plan = plan_of(json!({ "Cmd": null, "Entrypoint": null, "Volumes": null }));
        let found = checked(&plan, json!({ "Cmd": [], "Entrypoint": [], "Volumes": {} }));
        assert_eq!(found.differences, vec![]);
        assert_eq!(
            allowed(&found),
            vec![
                ("Cmd", Allowance::EmptyForUnset),
                ("Entrypoint", Allowance::EmptyForUnset),
                ("Volumes", Allowance::EmptyForUnset),
            ]
        );
        assert_eq!(
            found.allowed[0].note,
            "Podman Engine stored an unset Cmd as [] — same meaning"
        );
        assert_eq!(
            found.allowed[2].note,
            "Podman Engine stored an unset Volumes as {} — same meaning"
        );
    }

    #[test]
    fn every_list_and_map_setting_may_be_empty_or_unset() {
        let plan = plan_of(json!({}));
        let found = checked(
            &plan,
            json!({
                "Cmd": [], "Entrypoint": [], "Shell": [], "OnBuild": [],
                "ExposedPorts": {}, "Volumes": {}, "Labels": {}
            }),
        );
        assert_eq!(found.differences, vec![]);
        let fields: Vec<&str> = found.allowed.iter().map(|a| a.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "Cmd",
                "Entrypoint",
                "Shell",
                "OnBuild",
                "ExposedPorts",
                "Volumes",
                "Labels"
            ]
        );
        assert!(found
            .allowed
            .iter()
            .all(|a| a.what == Allowance::EmptyForUnset));
        // Unset where the plan set an empty list: the other way round.
        let set_empty = plan_of(json!({ "Cmd": [] }));
        let found = checked(&set_empty, json!({ "Cmd": null }));
        assert_eq!(found.differences, vec![]);
        assert_eq!(allowed(&found), vec![("Cmd", Allowance::UnsetForEmpty)]);
        // The same spelling on both sides is nothing to say.
        assert_eq!(
            checked(&set_empty, json!({ "Cmd": [] })),
            ConfigComparison::default()
        );
        assert_eq!(checked(&plan, json!({})), ConfigComparison::default());
        // As Engine 20.10 and 28.5 answer: null, which bollard's model reads as empty maps.
        let nulls = json!({ "Cmd": null, "Volumes": null, "ExposedPorts": null, "Labels": null });
        assert_eq!(checked(&plan, nulls), ConfigComparison::default());
    }

    #[test]
    fn a_real_change_to_a_list_is_still_a_difference() {
        let plan = plan_of(json!({ "Cmd": ["a"], "Shell": ["/bin/sh", "-c"] }));
        let found = checked(&plan, json!({ "Cmd": [], "Shell": null }));
        let shown: Vec<(&str, &str, &str)> = found
            .differences
            .iter()
            .map(|d| (d.field.as_str(), d.planned.as_str(), d.result.as_str()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("Cmd", "Some([\"a\"])", "Some([])"),
                ("Shell", "Some([\"/bin/sh\", \"-c\"])", "None"),
            ]
        );
        assert_eq!(found.allowed, vec![]);
        let unset = plan_of(json!({}));
        let found = checked(
            &unset,
            json!({ "Entrypoint": ["sh"], "Volumes": { "/data": {} } }),
        );
        let fields: Vec<&str> = found.differences.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["Entrypoint", "Volumes"]);
    }

    #[test]
    fn buildahs_own_label_is_allowed_but_no_other_label_is() {
        // An image Docker made, squashed on Podman: Buildah stamps its label on the result.
        let plan = plan_of(json!({ "Labels": { "app": "web" } }));
        let stamped = json!({ "Labels": { "app": "web", "io.buildah.version": "1.28.2" } });
        let found = checked(&plan, stamped);
        assert_eq!(found.differences, vec![]);
        assert_eq!(allowed(&found), vec![("Labels", Allowance::BuilderLabel)]);
        assert_eq!(
            found.allowed[0].note,
            "Podman Engine's builder added its label io.buildah.version=1.28.2, as it does to every image it builds"
        );
        // The stamp replaces an older Buildah's.
        let older = plan_of(json!({ "Labels": { "io.buildah.version": "1.23.1" } }));
        let found = checked(
            &older,
            json!({ "Labels": { "io.buildah.version": "1.28.2" } }),
        );
        assert_eq!(found.differences, vec![]);
        assert_eq!(allowed(&found), vec![("Labels", Allowance::BuilderLabel)]);
        // A plain `podman build` image already holds it: nothing to allow.
        let podman_built = plan_of(json!({ "Labels": { "io.buildah.version": "1.28.2" } }));
        let same = json!({ "Labels": { "io.buildah.version": "1.28.2" } });
        assert_eq!(checked(&podman_built, same), ConfigComparison::default());
        // Any other label that changes is a difference, stamp or not.
        let changed = json!({ "Labels": { "app": "api", "io.buildah.version": "1.28.2" } });
        let found = checked(&plan, changed);
        assert_eq!(found.differences.len(), 1, "{found:?}");
        assert_eq!(found.differences[0].field, "Labels");
    }

    #[test]
    fn a_known_difference_is_not_said_again_as_allowed() {
        // An empty entrypoint cannot be declared: the known difference says so already.
        let plan = plan_of(json!({ "Entrypoint": [] }));
        let found = checked(&plan, json!({ "Entrypoint": null }));
        assert_eq!(found, ConfigComparison::default());
        assert!(known_differences(&plan, Builder::Classic)
            .iter()
            .any(|k| k.field == "Entrypoint"));
    }

    fn lost(why: MtimeLoss, entries: u64, path: &str, source: &str, result: &str) -> LostMtimes {
        LostMtimes {
            why,
            entries,
            first: Difference {
                path: path.into(),
                what: DifferenceKind::Mtime,
                source: source.into(),
                result: result.into(),
            },
        }
    }

    #[test]
    fn each_mtime_loss_is_said_in_a_sentence_naming_the_builder_or_the_engine() {
        let note = |lost: LostMtimes, builder| mtime_note(&lost, builder, "Docker Engine");
        let cut = note(
            lost(
                MtimeLoss::Fraction,
                312,
                "/etc/passwd",
                "1700000003.25",
                "1700000003",
            ),
            Method::Classic,
        );
        assert_eq!(
            (cut.field.as_str(), cut.what),
            ("mtime", Allowance::MtimeFraction)
        );
        assert_eq!(
            cut.note,
            "The classic builder keeps modification times to the second: 312 entries lost a fraction of a second (the first: /etc/passwd 1700000003.25 → 1700000003)"
        );
        let old = note(
            lost(MtimeLoss::OutOfRange, 1, "/old", "-1.5", "0"),
            Method::BuildKit,
        );
        assert_eq!(old.what, Allowance::MtimeOutOfRange);
        assert_eq!(
            old.note,
            "1 entry dated before 1970 or after 2262 now read 1970-01-01, as Docker Engine sets such times when it unpacks a layer (the first: /old -1.5 → 0)"
        );
        let root = note(
            lost(
                MtimeLoss::Unstamped,
                1,
                "/",
                "1700000000.111111111",
                "none: stamped when unpacked",
            ),
            Method::BuildKit,
        );
        assert_eq!(root.what, Allowance::MtimeUnstamped);
        assert_eq!(
            root.note,
            "BuildKit wrote no entry for /, so Docker Engine stamps it with the time it unpacks the image (the original's time: 1700000000.111111111)"
        );
    }

    #[test]
    fn both_builders_are_held_to_whole_seconds() {
        assert_eq!(mtimes_kept(Method::Classic), MtimeCheck::WholeSeconds);
        assert_eq!(mtimes_kept(Method::BuildKit), MtimeCheck::WholeSeconds);
        assert_eq!(mtimes_kept(Method::Direct), MtimeCheck::Exact);
    }
}
