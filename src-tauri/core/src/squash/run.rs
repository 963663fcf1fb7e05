//! The squash job: pick the method, have it make the squashed image (`multi_stage` builds the
//! planned Dockerfile, `direct` writes and loads the layer), check the result, and only then give
//! it its tag.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon, plan: &squashbox_core::squash::SquashPlan) -> squashbox_core::Result<()> {
//! use squashbox_core::job::{CancelToken, Progress};
//! use squashbox_core::squash::{squash, MethodChoice, SquashOptions};
//! let options = SquashOptions { method: MethodChoice::Auto, overwrite_tag: false, move_source_tag: false, keep_layers: 0 };
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

use bollard::query_parameters::TagImageOptions;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;
use ts_rs::TS;

use super::direct::load_squashed;
use super::dockerfile::{known_differences, KnownDifference};
use super::method::{choose_method, Method, MethodChoice, MethodPick};
use super::multi_stage;
use super::plan::SquashPlan;
use super::verify::{check, Verification};
use crate::audit::{
    read_saved, snapshot_image, snapshots_around, AuditFiles, AuditReport, FsSnapshot, SpecialFiles,
};
use crate::build::Builder;
use crate::daemon::{Daemon, DaemonInfo};
use crate::disk::host_disk;
use crate::error::{Error, Result};
use crate::hold::Hold;
use crate::image_size::{of_images, ImageSize};
use crate::images::{inspect, real_tags};
use crate::job::{CancelToken, Progress, ProgressSink};
use crate::left_behind::LeftBehind;
use crate::made::MadeImages;
use crate::reference::{validate_tag, Naming, Reference};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SquashOptions {
    pub method: MethodChoice,
    /// The user confirmed that the plan's tag may move from the image it names now.
    pub overwrite_tag: bool,
    /// Once the result verifies, the source's own tag (the plan's `source_name`) moves to it
    /// too; the source stays, by ID, until pruned.
    pub move_source_tag: bool,
    /// A partial squash: the source's first layers kept byte for byte (shared with other
    /// images on the same base), one layer on top with what the others changed. 0 squashes
    /// everything. Only the direct method can.
    #[serde(default)]
    pub keep_layers: u32,
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
    pub method: Method,
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
    /// Differences the builder makes whatever the plan says (a default PATH, …); none for the
    /// direct method.
    pub known_differences: Vec<KnownDifference>,
    /// Images left dangling by the squash (the one the tag moved away from), for the prune.
    pub left_behind: Vec<String>,
    /// Wall time of making the image: the build, with the source's read for the verification
    /// running beside it; for the direct method, the source's first read (when no audit made
    /// one), the writing and the load.
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
    /// The method the squash will use (what `Auto` picked, or the user's choice), and why.
    pub method: MethodPick,
    /// The image the plan's tag names now, if any: squashing moves the tag off it.
    pub tag_taken_by: Option<String>,
    #[ts(type = "number")]
    pub bytes_needed: u64,
    #[ts(type = "number | null")]
    pub bytes_available: Option<u64>,
    pub warnings: Vec<String>,
}

/// Checks the plan against the daemon before a squash: the method it will use (chosen as the
/// squash chooses it), the tag, and room for the copy (about the filesystem's size; twice with
/// BuildKit, whose cache holds a snapshot as large, and with the direct method, whose archive
/// the daemon unpacks before it stores the layer).
pub async fn preflight(
    daemon: &Daemon,
    plan: &SquashPlan,
    choice: MethodChoice,
    source_audit: SourceAudit,
) -> Result<Preflight> {
    plan.validate()?;
    validate_tag(&plan.tag)?;
    let source = inspect(daemon, &plan.source_id).await?;
    let source_tag = own_tag(&source, &plan.source_name, Naming::of(daemon.info()));
    let method = pick_method(choice, &source_audit, source_tag.as_deref(), daemon.info());
    let tag_taken_by = match daemon.docker().inspect_image(&plan.tag).await {
        Ok(found) => found.id,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => None,
        Err(e) => return Err(Error::from_docker(e)),
    };
    let copy = match source_audit.filesystem_bytes {
        Some(bytes) => bytes,
        None => of_images(daemon, &[&plan.source_id]).await?[0].files,
    };
    let bytes_needed = match method.method {
        Method::Classic => copy,
        Method::BuildKit | Method::Direct => copy.saturating_mul(2),
    };
    let bytes_available = daemon
        .data_dir_here()
        .and_then(host_disk)
        .map(|d| d.available);
    let mut warnings = Vec::new();
    warnings.extend(multi_stage::refusal(daemon, method.method, &plan.source_id).await?);
    if method.method == Method::BuildKit && source_tag.is_none() {
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
    Ok(Preflight {
        method,
        tag_taken_by,
        bytes_needed,
        bytes_available,
        warnings,
    })
}

/// What an audit of the source before the squash found, when there was one.
#[derive(Debug, Clone, Default)]
pub struct SourceAudit {
    /// Devices and FIFOs: with them a multi-stage squash takes the classic builder, which keeps
    /// everything.
    pub special_files: Option<SpecialFiles>,
    /// The source's final filesystem (an audit's with files): the verification then reads only
    /// the result, and the direct method reads nothing of the saved source again (its files come
    /// from a container's export).
    pub files: Option<Arc<FsSnapshot>>,
    /// The filesystem of the base image's layers (how many, and what they make), from the
    /// same audit: a partial squash keeping just those reads the source once, not twice.
    pub base_files: Option<(u32, Arc<FsSnapshot>)>,
    /// The audit's filesystem bytes: about what the copy needs on disk.
    pub filesystem_bytes: Option<u64>,
}

impl SourceAudit {
    /// What `report` says, with the final filesystem when the audit kept it.
    pub fn of(report: &AuditReport, files: Option<AuditFiles>) -> SourceAudit {
        let (files, base_files) = match files {
            Some(kept) => (Some(kept.files), kept.base),
            None => (None, None),
        };
        SourceAudit {
            special_files: Some(report.special_files.clone()),
            files,
            base_files,
            filesystem_bytes: Some(report.filesystem_bytes),
        }
    }
}

/// Runs the squash, guided by what an earlier audit of the source found (`source_audit`,
/// empty when none was made), in four steps: `resolve` settles what it will do (every refusal
/// comes before anything is made), `make` builds or writes the image, `check_and_tag` verifies
/// it and tags it only when it passed, and `note_left_behind` says what lost its name. A
/// failure after the first step removes what the job made, and only that.
pub async fn squash(
    daemon: &Daemon,
    plan: &SquashPlan,
    options: &SquashOptions,
    source_audit: SourceAudit,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<SquashOutcome> {
    let job = resolve(daemon, plan, options, &source_audit).await?;
    // Holds a killed Squashbox left would keep their images from ever being removed. The sweep
    // is a courtesy: its failure is no reason to stop, and the next call to the daemon says so.
    let _ = crate::hold::sweep(daemon).await;
    // What the job makes is noted from here on, so that a failure removes exactly that.
    let made = MadeImages::before_job(daemon, &[&job.source_id]).await?;
    let started = Instant::now();
    let checked = async {
        let image = make(
            daemon,
            plan,
            options,
            &job,
            &made,
            source_audit,
            sink,
            cancel,
        )
        .await?;
        let build_seconds = started.elapsed().as_secs_f64();
        // Untagged until it verifies, the result is what a `docker image prune` elsewhere
        // would take: held by a container while the check reads it back from the daemon
        // (seconds). The direct method's check reads nothing back: its tag follows at once,
        // sooner than a hold could be made (0.12 s here).
        let hold = match image.result_files {
            Some(_) => None,
            None => Some(Hold::take(daemon, &image.result_id).await?),
        };
        let checked = check_and_tag(daemon, plan, options, &job, image, sink, cancel).await;
        if let Some(hold) = hold {
            hold.release(daemon).await;
        }
        Ok::<_, Error>((checked?, build_seconds))
    }
    .await;
    let (checked, build_seconds) = match checked {
        Ok(checked) => checked,
        Err(err) => {
            made.remove_all(daemon).await;
            return Err(err);
        }
    };
    let left_behind = match checked.verified.passed {
        true => note_left_behind(daemon, plan, &job, &checked).await?,
        false => {
            made.remove_all(daemon).await;
            Vec::new()
        }
    };
    let Checked {
        result_id,
        result,
        verified,
        verify_seconds,
        sizes,
        moved_tag,
    } = checked;
    Ok(SquashOutcome {
        source_id: job.source_id,
        result_id,
        tag: plan.tag.clone(),
        tagged: verified.passed,
        moved_tag,
        method: job.method,
        size_before: sizes[0].files,
        size_after: sizes[1].files,
        engine_size_before: sizes[0].engine,
        engine_size_after: sizes[1].engine,
        layers_before: layer_count(&job.source),
        layers_after: layer_count(&result),
        verified,
        // A note on extra layers only where the result has them.
        known_differences: job
            .method
            .builder()
            .map(|builder| known_differences(plan, builder))
            .unwrap_or_default()
            .into_iter()
            .filter(|k| k.field != "RootFS" || layer_count(&result) > 1)
            .collect(),
        left_behind,
        build_seconds,
        verify_seconds,
    })
}

/// What a squash will do, settled before anything is made.
struct Resolved {
    source: bollard::models::ImageInspect,
    source_id: String,
    method: Method,
    /// The multi-stage method's builder and Dockerfile; `None` for the direct method.
    dockerfile: Option<(Builder, String)>,
    /// The source's own tag, to move to the result too, in the engine's spelling.
    tag_to_move: Option<String>,
    /// The image the plan's tag names now, which the user agreed it may move from.
    replaced: Option<String>,
}

/// Reads the source and the plan's tag and settles the method, the Dockerfile and the tags;
/// refuses here whatever the squash could not do as asked.
async fn resolve(
    daemon: &Daemon,
    plan: &SquashPlan,
    options: &SquashOptions,
    source_audit: &SourceAudit,
) -> Result<Resolved> {
    plan.validate()?;
    validate_tag(&plan.tag)?;
    let source = inspect(daemon, &plan.source_id).await?;
    let source_id = source.id.clone().unwrap_or_else(|| plan.source_id.clone());
    let naming = Naming::of(daemon.info());
    let source_tag = own_tag(&source, &plan.source_name, naming);
    let method = pick_method(
        options.method,
        source_audit,
        source_tag.as_deref(),
        daemon.info(),
    )
    .method;
    if options.keep_layers > 0 && method != Method::Direct {
        return Err(Error::InvalidInput(
            "only the direct method keeps layers: a multi-stage copy makes one layer of everything"
                .into(),
        ));
    }
    if let Some(why) = multi_stage::refusal(daemon, method, &source_id).await? {
        return Err(Error::InvalidInput(why));
    }
    // A Dockerfile the plan cannot be written as is refused here too.
    let dockerfile = match method.builder() {
        Some(builder) => Some((
            builder,
            multi_stage::dockerfile(plan, builder, &source_id, &source_tag)?,
        )),
        None => None,
    };
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
    Ok(Resolved {
        source,
        source_id,
        method,
        dockerfile,
        tag_to_move,
        replaced,
    })
}

/// Builds (multi-stage) or writes and loads (direct) the squashed image, untagged.
#[allow(clippy::too_many_arguments)]
async fn make(
    daemon: &Daemon,
    plan: &SquashPlan,
    options: &SquashOptions,
    job: &Resolved,
    made: &MadeImages,
    source_audit: SourceAudit,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<MadeImage> {
    match &job.dockerfile {
        Some((builder, dockerfile)) => {
            let built = multi_stage::build(
                daemon,
                dockerfile,
                *builder,
                made,
                &job.source_id,
                source_audit.files,
                sink,
                cancel,
            )
            .await?;
            Ok(MadeImage {
                result_id: built.result_id,
                source_files: built.source_files,
                result_files: None,
            })
        }
        None => {
            load_direct(
                daemon,
                plan,
                options.keep_layers,
                made,
                &job.source_id,
                source_audit,
                sink,
                cancel,
            )
            .await
        }
    }
}

/// The made image after its check, tagged when it passed.
struct Checked {
    result_id: String,
    result: bollard::models::ImageInspect,
    verified: Verification,
    /// The check's wall time (see [`SquashOutcome::verify_seconds`]).
    verify_seconds: f64,
    /// The source's and the result's.
    sizes: Vec<ImageSize>,
    /// The source's tag, as the user named it, when it moved to the result.
    moved_tag: Option<String>,
}

/// Compares the made image with the source and, only when it is the same, gives it its tags.
async fn check_and_tag(
    daemon: &Daemon,
    plan: &SquashPlan,
    options: &SquashOptions,
    job: &Resolved,
    image: MadeImage,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<Checked> {
    let checking = Instant::now();
    let result_id = image.result_id;
    let source_files = image.source_files?;
    if image.result_files.is_some() {
        check_layer_count(daemon, &result_id, options.keep_layers + 1).await?;
    }
    let verified = check(
        daemon,
        plan,
        job.method,
        source_files,
        image.result_files,
        &result_id,
        sink,
        cancel,
    )
    .await?;
    let verify_seconds = checking.elapsed().as_secs_f64();
    let result = inspect(daemon, &result_id).await?;
    let sizes = of_images(daemon, &[&job.source_id, &result_id]).await?;
    let moved_tag = match verified.passed {
        true => publish(
            daemon,
            &result_id,
            &plan.tag,
            job.tag_to_move.clone(),
            sink,
            cancel,
        )
        .await?
        .map(|_| plan.source_name.clone()),
        false => None,
    };
    Ok(Checked {
        result_id,
        result,
        verified,
        verify_seconds,
        sizes,
        moved_tag,
    })
}

/// The images a tagged result left without a name (the one the tag named before, and the
/// source if its tag moved), remembered for a later prune preview.
async fn note_left_behind(
    daemon: &Daemon,
    plan: &SquashPlan,
    job: &Resolved,
    checked: &Checked,
) -> Result<Vec<String>> {
    let mut previous: Vec<&String> = job.replaced.iter().collect();
    if checked.moved_tag.is_some() {
        previous.push(&job.source_id);
    }
    previous.dedup();
    let mut left_behind = Vec::new();
    for old in previous
        .into_iter()
        .filter(|old| **old != checked.result_id)
    {
        left_behind.extend(now_dangling(daemon, old).await?);
    }
    if let Some(record) = LeftBehind::default_location() {
        // The labels help a later prune preview; failing to write them stops nothing.
        let _ = record.record(&left_behind, &plan.source_name);
    }
    Ok(left_behind)
}

/// The method for `choice`, as [`choose_method`] picks it, except that Auto leaves the direct
/// method for the multi-stage one when the audit's reading shows names the direct one cannot
/// write back as they are, and that a multi-stage squash on Podman is its Buildah's build
/// (sent as the classic builder's: Podman has no BuildKit).
fn pick_method(
    choice: MethodChoice,
    source_audit: &SourceAudit,
    source_tag: Option<&str>,
    engine: &DaemonInfo,
) -> MethodPick {
    let multi_stage = || {
        match engine.is_podman() {
        true => MethodPick {
            method: Method::Classic,
            reason: "Podman's builder, Buildah, which keeps device nodes and FIFOs (Podman has no BuildKit)".into(),
        },
        false => choose_method(MethodChoice::MultiStage, source_audit.special_files.as_ref(), source_tag),
    }
    };
    let uncopyable = source_audit
        .files
        .as_deref()
        .and_then(|files| super::direct::copyable(files).err());
    match (choice, uncopyable) {
        (MethodChoice::Auto, Some(why)) => {
            let multi_stage = multi_stage();
            MethodPick {
                reason: format!("{why}; so {}", multi_stage.reason),
                ..multi_stage
            }
        }
        (MethodChoice::MultiStage, _) => multi_stage(),
        _ => choose_method(choice, source_audit.special_files.as_ref(), source_tag),
    }
}

/// The image a method made, untagged, and what the verification compares.
struct MadeImage {
    result_id: String,
    source_files: Result<Arc<FsSnapshot>>,
    /// The result's filesystem when the method already knows it (the direct one, which read
    /// it from the bytes it sent); `None` when it must be read from the daemon.
    result_files: Option<FsSnapshot>,
}

/// Writes and loads the squashed image with the direct method, keeping the first `keep`
/// layers. It needs a snapshot of the source read from its saved archive: the audit's when it
/// kept one (for a partial squash, one that kept the filesystem of those layers too, as it
/// does for the base image's), else one read now.
#[allow(clippy::too_many_arguments)]
async fn load_direct(
    daemon: &Daemon,
    plan: &SquashPlan,
    keep: u32,
    made: &MadeImages,
    source_id: &str,
    known: SourceAudit,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<MadeImage> {
    let known_files = known.files.filter(|files| !files.layers.is_empty());
    let known_base = known.base_files.filter(|(layers, _)| *layers == keep);
    let (source_files, base) = match (known_files, known_base) {
        (Some(files), _) if keep == 0 => (files, None),
        (Some(files), Some((_, base))) => (files, Some(base)),
        _ if keep == 0 => {
            let files = snapshot_image(daemon, source_id, "reading source", sink, cancel).await?;
            (Arc::new(files), None)
        }
        _ => {
            let read = move |saved, progress: &mut dyn FnMut(u64) -> ControlFlow<()>| {
                snapshots_around(saved, keep as usize, progress)
            };
            let (_, (base, files)) =
                read_saved(daemon, source_id, "reading source", sink, cancel, read).await?;
            (Arc::new(files), Some(Arc::new(base)))
        }
    };
    let loaded = load_squashed(
        daemon,
        plan,
        Arc::clone(&source_files),
        base,
        made,
        sink,
        cancel,
    )
    .await?;
    Ok(MadeImage {
        result_id: loaded.result_id,
        source_files: Ok(source_files),
        result_files: Some(loaded.result_files),
    })
}

/// The daemon checked the bytes a direct squash loaded against the diff IDs in its config,
/// which are the bytes' own; what is left to check is that it stored them as that many layers.
async fn check_layer_count(daemon: &Daemon, result_id: &str, expected: u32) -> Result<()> {
    let result = inspect(daemon, result_id).await?;
    if layer_count(&result) != expected {
        return Err(Error::Stream(format!(
            "Docker stored the squashed image with {} layers, not {expected}",
            layer_count(&result)
        )));
    }
    Ok(())
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
