//! The squash job: build the planned Dockerfile, check the result, and only then give it its tag.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon, plan: &squashbox_core::squash::SquashPlan) -> squashbox_core::Result<()> {
//! use squashbox_core::job::{CancelToken, Progress};
//! use squashbox_core::squash::{squash, BuilderChoice, SquashOptions};
//! let options = SquashOptions { builder: BuilderChoice::Auto, overwrite_tag: false, move_source_tag: false };
//! let outcome = squash(daemon, plan, &options, Default::default(), &|_: Progress| {}, &CancelToken::new()).await?;
//! println!("{} → {} bytes, verified: {}", outcome.size_before, outcome.size_after, outcome.verified.passed);
//! # Ok(()) }
//! ```
//!
//! Nothing is tagged until the result's filesystem and configuration are checked, so a failed,
//! cancelled or unverified squash leaves no tag and removes the images it made — and only
//! those: see [`MadeImages`] for why an ID the builder hands back is not taken on trust. The
//! source is never touched: the copy names it by ID (or, for BuildKit, by one of its own tags).
//! While the result verifies, a [`Hold`] keeps prunes run elsewhere from removing it.

use bollard::query_parameters::{PruneBuildOptions, TagImageOptions};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use ts_rs::TS;

use super::dockerfile::{known_differences, render_copying, KnownDifference, DEFAULT_PATH};
use super::plan::{KeyValue, SquashPlan};
use crate::audit::{
    compare_on_blocking_pool, snapshot_image, Difference, FsSnapshot, SpecialFiles,
};
use crate::build::{build_dockerfile, Builder};
use crate::daemon::Daemon;
use crate::disk::{host_disk, raw_usage};
use crate::error::{Error, Result};
use crate::hold::Hold;
use crate::image_size::of_images;
use crate::images::{inspect, real_tags};
use crate::job::{CancelToken, Progress, ProgressSink};
use crate::ledger::Ledger;
use crate::made::MadeImages;
use crate::reference::{validate_tag, Naming, Reference};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum BuilderChoice {
    /// BuildKit when the source holds nothing it would damage (no device nodes, no FIFOs) and
    /// has a tag to copy from; the classic builder otherwise.
    Auto,
    Classic,
    BuildKit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SquashOptions {
    pub builder: BuilderChoice,
    /// The user confirmed that the plan's tag may move from the image it names now.
    pub overwrite_tag: bool,
    /// Once the result verifies, the source's own tag (the plan's `source_name`) moves to it
    /// too; the source stays, by ID, until pruned.
    pub move_source_tag: bool,
}

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

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SquashOutcome {
    pub source_id: String,
    /// The squashed image; removed again when verification failed.
    pub result_id: String,
    pub tag: String,
    /// The tag was given to the result (only after it verified).
    pub tagged: bool,
    /// The source's tag, when it moved to the result as asked.
    pub moved_tag: Option<String>,
    pub builder: Builder,
    /// What the source's files take unpacked (see [`crate::image_size`]).
    #[ts(type = "number")]
    pub size_before: u64,
    /// What the result's files take unpacked.
    #[ts(type = "number")]
    pub size_after: u64,
    /// The engine's own figures for the two, which on the containerd store also count the
    /// compressed layers.
    #[ts(type = "number")]
    pub engine_size_before: u64,
    #[ts(type = "number")]
    pub engine_size_after: u64,
    pub layers_before: u32,
    pub layers_after: u32,
    pub verified: Verification,
    /// Differences the builder makes whatever the plan says (a default PATH, …).
    pub known_differences: Vec<KnownDifference>,
    /// Images left dangling by the squash (the one the tag moved away from), for the prune.
    pub left_dangling: Vec<String>,
    /// Wall time of the build, with the source's read for the verification running beside it.
    pub build_seconds: f64,
    /// Wall time of the verification after the build: the rest of the source's read, the
    /// result's read, the comparison.
    pub verify_seconds: f64,
}

/// What to know before starting: whether the tag is taken, and whether the disk has room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Preflight {
    /// The builder the squash will use (what `Auto` picked, or the user's choice).
    pub builder: Builder,
    /// The image the plan's tag names now, if any: squashing moves the tag off it.
    pub tag_taken_by: Option<String>,
    #[ts(type = "number")]
    pub bytes_needed: u64,
    #[ts(type = "number | null")]
    pub bytes_available: Option<u64>,
    pub warnings: Vec<String>,
}

/// Checks the plan against the daemon before a squash: the builder it will use (chosen as the
/// squash chooses it), the tag, and room for the copy (about the filesystem's size, twice with
/// BuildKit, whose cache holds a snapshot as large).
pub async fn preflight(
    daemon: &Daemon,
    plan: &SquashPlan,
    choice: BuilderChoice,
    scan: SourceScan<'_>,
) -> Result<Preflight> {
    plan.validate()?;
    validate_tag(&plan.tag)?;
    let source = inspect(daemon, &plan.source_id).await?;
    let source_tag = own_tag(&source, &plan.source_name, Naming::of(daemon.info()));
    let builder = choose_builder(choice, scan.special_files, source_tag.as_deref());
    let tag_taken_by = match daemon.docker().inspect_image(&plan.tag).await {
        Ok(found) => found.id,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => None,
        Err(e) => return Err(Error::from_docker(e)),
    };
    let copy = match scan.filesystem_bytes {
        Some(bytes) => bytes,
        None => of_images(daemon, &[&plan.source_id]).await?[0].files,
    };
    let bytes_needed = match builder {
        Builder::Classic => copy,
        Builder::BuildKit => copy.saturating_mul(2),
    };
    let bytes_available = daemon
        .is_local()
        .then(|| host_disk(std::path::Path::new(&daemon.info().root_dir)))
        .flatten()
        .map(|d| d.available);
    let mut warnings = Vec::new();
    if builder == Builder::BuildKit && source_tag.is_none() {
        warnings.push(
            "BuildKit needs the image to have a tag (it reads an image ID as a registry name): choose Auto or the classic builder".into(),
        );
    }
    if let Some(available) = bytes_available.filter(|a| *a < bytes_needed) {
        warnings.push(format!(
            "the squash needs about {} and the disk under Docker's data has {} free",
            crate::units::human_bytes(bytes_needed),
            crate::units::human_bytes(available)
        ));
    }
    if tag_taken_by.as_deref() == Some(plan.source_id.as_str()) {
        warnings.push(format!(
            "{} names the source itself: the tag moves to the squashed image",
            plan.tag
        ));
    }
    Ok(Preflight {
        builder,
        tag_taken_by,
        bytes_needed,
        bytes_available,
        warnings,
    })
}

/// Picks the builder: BuildKit only where it loses nothing (`special` from the audit's scan says
/// no devices or FIFOs) and the source has a tag for `--from`; otherwise the classic builder.
pub fn choose_builder(
    choice: BuilderChoice,
    special: Option<&SpecialFiles>,
    source_tag: Option<&str>,
) -> Builder {
    match choice {
        BuilderChoice::Classic => Builder::Classic,
        BuilderChoice::BuildKit => Builder::BuildKit,
        BuilderChoice::Auto => {
            let harmless = special.is_some_and(|s| s.devices == 0 && s.fifos == 0);
            if harmless && source_tag.is_some() {
                Builder::BuildKit
            } else {
                Builder::Classic
            }
        }
    }
}

/// What a read of the source before the squash found (the audit), when there was one.
#[derive(Debug, Clone, Default)]
pub struct SourceScan<'a> {
    /// Devices and FIFOs: without them `Auto` picks the classic builder, which keeps everything.
    pub special_files: Option<&'a SpecialFiles>,
    /// The source's final filesystem (a survey's): the verification then reads only the result.
    pub files: Option<Arc<FsSnapshot>>,
    /// The audit's filesystem bytes: about what the copy needs on disk.
    pub filesystem_bytes: Option<u64>,
}

/// Runs the squash, guided by what an earlier read of the source found (`scan`, empty when
/// none was made).
pub async fn squash(
    daemon: &Daemon,
    plan: &SquashPlan,
    options: &SquashOptions,
    scan: SourceScan<'_>,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<SquashOutcome> {
    plan.validate()?;
    validate_tag(&plan.tag)?;
    let source = inspect(daemon, &plan.source_id).await?;
    let source_id = source.id.clone().unwrap_or_else(|| plan.source_id.clone());
    let naming = Naming::of(daemon.info());
    let source_tag = own_tag(&source, &plan.source_name, naming);
    let builder = choose_builder(options.builder, scan.special_files, source_tag.as_deref());
    let copy_from = match builder {
        Builder::Classic => source_id.clone(),
        Builder::BuildKit => source_tag.clone().ok_or_else(|| {
            Error::InvalidInput(
                "BuildKit needs the source to have a tag (it reads an image ID as a registry name): use the classic builder".into(),
            )
        })?,
    };
    let dockerfile = render_copying(plan, &copy_from)?;
    // In the engine's spelling, which on Podman may not be the name the user gave.
    let tag_to_move = match options.move_source_tag {
        false => None,
        true if source_tag
            .as_deref()
            .is_some_and(|own| naming.names(&plan.source_name, own)) =>
        {
            source_tag
                .clone()
                .filter(|own| !naming.names(&plan.tag, own))
        }
        true => {
            return Err(Error::InvalidInput(format!(
                "{} is not a tag of the source, so there is no tag to move to the squashed image",
                plan.source_name
            )))
        }
    };

    let replaced = match daemon.docker().inspect_image(&plan.tag).await {
        Ok(found) if !options.overwrite_tag => {
            return Err(Error::InvalidInput(format!(
                "{} already names image {}: confirm to move the tag to the squashed image",
                plan.tag,
                found
                    .id
                    .as_deref()
                    .map(crate::images::short_id)
                    .unwrap_or_default()
            )))
        }
        Ok(found) => found.id,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => None,
        Err(e) => return Err(Error::from_docker(e)),
    };

    // What the job makes is noted from here on, so that a failure removes exactly that.
    let made = MadeImages::before_job(daemon, &[&source_id]).await?;
    let cache_before = match builder {
        Builder::BuildKit => build_cache_ids(daemon).await?,
        Builder::Classic => HashSet::new(),
    };
    let started = Instant::now();
    // The source's files come from the scan, or from a read beside the build.
    let (built, source_files) = match scan.files {
        Some(files) => (
            build_dockerfile(daemon, &dockerfile, builder, &made, sink, cancel).await,
            Ok(files),
        ),
        None => {
            let (built, read) = build_beside_source_read(
                daemon,
                &dockerfile,
                builder,
                &made,
                &source_id,
                sink,
                cancel,
            )
            .await;
            (built, read.map(Arc::new))
        }
    };
    let build_seconds = started.elapsed().as_secs_f64();
    let freed = match builder {
        // The snapshot BuildKit keeps is as large as the image: give it back, ours only.
        Builder::BuildKit => free_new_build_cache(daemon, &cache_before).await,
        Builder::Classic => Ok(()),
    };
    let result_id = built?;
    // Untagged until it verifies, the result is what a `docker image prune` elsewhere would
    // take: held by a container meanwhile.
    let hold = match freed {
        Ok(()) => Hold::take(daemon, &result_id).await,
        Err(err) => Err(err),
    };
    let hold = match hold {
        Ok(hold) => hold,
        Err(err) => {
            made.remove_all(daemon).await;
            return Err(err);
        }
    };
    let finished = async {
        let source_files = source_files?;
        let verified = check(
            daemon,
            plan,
            builder,
            source_files,
            &result_id,
            sink,
            cancel,
        )
        .await?;
        let verify_seconds = started.elapsed().as_secs_f64() - build_seconds;
        let result = inspect(daemon, &result_id).await?;
        let sizes = of_images(daemon, &[&source_id, &result_id]).await?;
        let moved_tag = match verified.passed {
            true => publish(daemon, &result_id, &plan.tag, tag_to_move, sink, cancel)
                .await?
                // As the user named it.
                .map(|_| plan.source_name.clone()),
            false => None,
        };
        Ok::<_, Error>((verified, verify_seconds, result, sizes, moved_tag))
    }
    .await;
    hold.release(daemon).await;
    let (verified, verify_seconds, result, sizes, moved_tag) = match finished {
        Ok(finished) => finished,
        Err(err) => {
            made.remove_all(daemon).await;
            return Err(err);
        }
    };
    let tagged = verified.passed;
    let mut left_dangling = Vec::new();
    if tagged {
        // The image the tag named before, and the source if its tag moved, may now be nameless.
        let mut previous: Vec<&String> = replaced.iter().collect();
        if moved_tag.is_some() {
            previous.push(&source_id);
        }
        previous.dedup();
        for old in previous.into_iter().filter(|old| **old != result_id) {
            left_dangling.extend(now_dangling(daemon, old).await?);
        }
        if let Some(ledger) = Ledger::default_location() {
            // The labels help a later prune preview; failing to write them stops nothing.
            let _ = ledger.record(&left_dangling, &plan.source_name);
        }
    } else {
        made.remove_all(daemon).await;
    }
    Ok(SquashOutcome {
        source_id,
        result_id,
        tag: plan.tag.clone(),
        tagged,
        moved_tag,
        builder,
        size_before: sizes[0].files,
        size_after: sizes[1].files,
        engine_size_before: sizes[0].engine,
        engine_size_after: sizes[1].engine,
        layers_before: layer_count(&source),
        layers_after: layer_count(&result),
        verified,
        // A note on extra layers only where the result has them.
        known_differences: known_differences(plan, builder)
            .into_iter()
            .filter(|k| k.field != "RootFS" || layer_count(&result) > 1)
            .collect(),
        left_dangling,
        build_seconds,
        verify_seconds,
    })
}

/// Gives the verified result the plan's tag and, when asked, the source's. A cancel counts
/// until the first tag is given; after it the second follows, so no name is left half moved.
async fn publish(
    daemon: &Daemon,
    result_id: &str,
    plan_tag: &str,
    tag_to_move: Option<String>,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<Option<String>> {
    sink.report(Progress::new("tagging", 0, None));
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    tag(daemon, result_id, plan_tag).await?;
    if let Some(name) = &tag_to_move {
        tag(daemon, result_id, name).await?;
    }
    Ok(tag_to_move)
}

/// Builds the Dockerfile and reads the source's filesystem for the verification at the same
/// time: the read needs nothing from the build, so it overlaps it instead of following it. Its
/// progress waits for the build to end, so the user sees one stage at a time, and a failed build
/// stops it.
async fn build_beside_source_read(
    daemon: &Daemon,
    dockerfile: &str,
    builder: Builder,
    made: &MadeImages,
    source_id: &str,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> (Result<String>, Result<FsSnapshot>) {
    let held = HeldBack::new(sink);
    let build_failed = CancelToken::new();
    let building = async {
        let built = build_dockerfile(daemon, dockerfile, builder, made, sink, cancel).await;
        if built.is_err() {
            build_failed.cancel();
        }
        held.release();
        built
    };
    let reading = async {
        tokio::select! {
            read = snapshot_image(daemon, source_id, "verifying source", &held, cancel) => read,
            _ = build_failed.cancelled() => Err(Error::Cancelled),
        }
    };
    tokio::join!(building, reading)
}

/// Forwards progress only once released, then the latest report held meanwhile first.
struct HeldBack<'a> {
    sink: &'a dyn ProgressSink,
    latest: Mutex<Option<Progress>>,
    released: AtomicBool,
}

impl<'a> HeldBack<'a> {
    fn new(sink: &'a dyn ProgressSink) -> Self {
        HeldBack {
            sink,
            latest: Mutex::new(None),
            released: AtomicBool::new(false),
        }
    }

    fn release(&self) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        self.released.store(true, Ordering::SeqCst);
        if let Some(progress) = latest.take() {
            self.sink.report(progress);
        }
    }
}

impl ProgressSink for HeldBack<'_> {
    fn report(&self, progress: Progress) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if self.released.load(Ordering::SeqCst) {
            drop(latest);
            self.sink.report(progress);
        } else {
            *latest = Some(progress);
        }
    }
}

async fn check(
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

/// A tag of the source that names exactly it, in the engine's spelling: the one the plan's name
/// reads as if there is one, else its first tag.
fn own_tag(source: &bollard::models::ImageInspect, name: &str, naming: Naming) -> Option<String> {
    let tags = real_tags(source.repo_tags.clone().unwrap_or_default());
    naming.find(name, &tags).or(tags.first()).cloned()
}

fn layer_count(image: &bollard::models::ImageInspect) -> u32 {
    image
        .root_fs
        .as_ref()
        .and_then(|r| r.layers.as_ref())
        .map_or(0, |l| l.len() as u32)
}

async fn tag(daemon: &Daemon, id: &str, name: &str) -> Result<()> {
    let reference = Reference::parse(name)?;
    let options = TagImageOptions {
        repo: Some(reference.repository()),
        tag: reference.tag().map(str::to_owned),
    };
    daemon
        .docker()
        .tag_image(id, Some(options))
        .await
        .map_err(Error::from_docker)
}

/// `[id]` when the image has no tag left and no container uses it.
async fn now_dangling(daemon: &Daemon, id: &str) -> Result<Vec<String>> {
    let image = inspect(daemon, id).await?;
    let tagless = real_tags(image.repo_tags.unwrap_or_default()).is_empty();
    let in_use = crate::images::list(daemon)
        .await?
        .iter()
        .any(|i| i.id == id && i.in_use);
    Ok(if tagless && !in_use {
        vec![id.to_owned()]
    } else {
        Vec::new()
    })
}

async fn build_cache_ids(daemon: &Daemon) -> Result<HashSet<String>> {
    let usage = raw_usage(daemon, "type=build-cache").await?;
    Ok(usage
        .build_cache
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect())
}

/// Prunes the build-cache records that appeared since `before`, and no others (the daemon takes
/// one ID per prune filter). A record another one rests on goes only once that one has, so
/// this goes round again while new records remain and each round frees some.
async fn free_new_build_cache(daemon: &Daemon, before: &HashSet<String>) -> Result<()> {
    let mut left = usize::MAX;
    loop {
        let new: Vec<String> = build_cache_ids(daemon)
            .await?
            .difference(before)
            .cloned()
            .collect();
        if new.is_empty() || new.len() >= left {
            return Ok(());
        }
        left = new.len();
        for id in new {
            let options = PruneBuildOptions {
                filters: Some(HashMap::from([("id".to_string(), vec![id])])),
                // Without `all` the daemon keeps records it counts as shared, the copy among them.
                all: Some(true),
                ..Default::default()
            };
            daemon
                .docker()
                .prune_build(Some(options))
                .await
                .map_err(Error::from_docker)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_buildkit_only_when_it_loses_nothing_and_has_a_tag() {
        let clean = SpecialFiles::default();
        let fifo = SpecialFiles {
            fifos: 1,
            ..SpecialFiles::default()
        };
        assert_eq!(
            choose_builder(BuilderChoice::Auto, Some(&clean), Some("a:1")),
            Builder::BuildKit
        );
        assert_eq!(
            choose_builder(BuilderChoice::Auto, Some(&fifo), Some("a:1")),
            Builder::Classic
        );
        assert_eq!(
            choose_builder(BuilderChoice::Auto, None, Some("a:1")),
            Builder::Classic
        );
        assert_eq!(
            choose_builder(BuilderChoice::Auto, Some(&clean), None),
            Builder::Classic
        );
        assert_eq!(
            choose_builder(BuilderChoice::BuildKit, Some(&fifo), None),
            Builder::BuildKit
        );
    }

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
