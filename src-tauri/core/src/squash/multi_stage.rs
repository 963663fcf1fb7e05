//! The multi-stage method: `FROM scratch` + `COPY --from=<source> / /` with the settings
//! declared again, built by the classic builder or BuildKit through the Engine API. Here: where
//! it cannot be exact (refused up front, with the reason), the Dockerfile for each builder, and
//! the build itself, beside a read of the source when no audit read it first; BuildKit's cache
//! records of the copy are freed after.

use bollard::query_parameters::PruneBuildOptions;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::dockerfile::render_copying;
use super::method::Method;
use super::plan::SquashPlan;
use crate::audit::{snapshot_image, FsSnapshot};
use crate::build::{build_dockerfile, Builder};
use crate::daemon::Daemon;
use crate::disk::raw_usage;
use crate::error::{Error, Result};
use crate::job::{CancelToken, Progress, ProgressSink};
use crate::made::MadeImages;

/// What a multi-stage build made, untagged, and the source's filesystem for the verification.
pub(super) struct Built {
    pub result_id: String,
    pub source_files: Result<Arc<FsSnapshot>>,
}

/// Why `method` cannot do on this daemon what it stands for, if it cannot: BuildKit on Podman,
/// and the multi-stage method on the containerd image store, where the copy of an image whose
/// `RUN` steps the classic builder ran brings the runtime's files along (`/.dockerenv`, `/dev`,
/// `/etc/hosts`, `/proc`, … are in the image's unpacked snapshot, not its layers; seen on
/// Engine 28.5 and 26.1 with either builder), and verification would only throw the result
/// away.
pub(super) async fn refusal(
    daemon: &Daemon,
    method: Method,
    source_id: &str,
) -> Result<Option<String>> {
    // Podman accepts `version=2` and builds with Buildah all the same: the result would not be
    // what the user chose, nor lose what BuildKit loses.
    if method == Method::BuildKit && daemon.info().is_podman() {
        return Ok(Some(
            "Podman has no BuildKit: Buildah builds every Dockerfile sent to it. Choose the classic builder, which Buildah stands in for there, or the direct method".into(),
        ));
    }
    if method == Method::Direct || !daemon.info().containerd_store {
        return Ok(None);
    }
    let history = daemon
        .docker()
        .image_history(source_id)
        .await
        .map_err(Error::from_docker)?;
    Ok(history
        .iter()
        .find(|step| ran_by_the_classic_builder(&step.created_by, &step.comment))
        .map(|step| {
            format!(
                "on Docker's containerd image store a multi-stage copy of this image would bring the files Docker adds to a running container (/.dockerenv, /etc/hosts, …): the classic builder ran its step {:?}. Use the direct method, which copies the layers only",
                step.created_by.chars().take(60).collect::<String>()
            )
        }))
}

/// A history step the classic builder made by running a container: not a metadata or `COPY`
/// step (`#(nop)`), not BuildKit's (its comment `buildkit.dockerfile.v0`, and `… # buildkit` on
/// its `RUN` and `COPY` steps; its `CMD`, `ENV`… read as written), not an import or a squash of
/// ours.
fn ran_by_the_classic_builder(created_by: &str, comment: &str) -> bool {
    let step = created_by.trim();
    !(step.is_empty()
        || step.contains("#(nop)")
        || step.ends_with("# buildkit")
        || comment.starts_with("buildkit.dockerfile")
        || step.starts_with("Imported from")
        || step.starts_with("squashbox:"))
}

/// The multi-stage Dockerfile for `builder`: the classic builder copies from the source's ID,
/// BuildKit from a tag (it reads an ID as a registry name).
pub(super) fn dockerfile(
    plan: &SquashPlan,
    builder: Builder,
    source_id: &str,
    source_tag: &Option<String>,
) -> Result<String> {
    let copy_from = match builder {
        Builder::Classic => source_id.to_owned(),
        Builder::BuildKit => source_tag.clone().ok_or_else(|| {
            Error::InvalidInput(
                "BuildKit needs the source to have a tag (it reads an image ID as a registry name): use the classic builder".into(),
            )
        })?,
    };
    render_copying(plan, &copy_from)
}

/// Builds the multi-stage Dockerfile. The source's files come from its audit, or from a read
/// beside the build; BuildKit's cache records of the copy are pruned after.
#[allow(clippy::too_many_arguments)]
pub(super) async fn build(
    daemon: &Daemon,
    dockerfile: &str,
    builder: Builder,
    made: &MadeImages,
    source_id: &str,
    known_files: Option<Arc<FsSnapshot>>,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<Built> {
    let cache_before = match builder {
        Builder::BuildKit => build_cache_ids(daemon).await?,
        Builder::Classic => HashSet::new(),
    };
    let (built, source_files) = match known_files {
        Some(files) => (
            build_dockerfile(daemon, dockerfile, builder, made, sink, cancel).await,
            Ok(files),
        ),
        None => {
            let (built, read) = build_beside_source_read(
                daemon, dockerfile, builder, made, source_id, sink, cancel,
            )
            .await;
            (built, read.map(Arc::new))
        }
    };
    let freed = match builder {
        // The snapshot BuildKit keeps is as large as the image: give it back, ours only.
        Builder::BuildKit => free_new_build_cache(daemon, &cache_before).await,
        Builder::Classic => Ok(()),
    };
    // A failed build says more than a failed clean-up after it.
    let result_id = built?;
    freed?;
    Ok(Built {
        result_id,
        source_files,
    })
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

/// The IDs of the daemon's build-cache records.
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
    fn steps_the_classic_builder_ran_are_told_from_the_others() {
        // As `/images/{id}/history` gives them on Engine 28.5: the classic builder's steps
        // have no comment, BuildKit's `buildkit.dockerfile.v0`.
        assert!(ran_by_the_classic_builder("/bin/busybox mkdir /x", ""));
        assert!(ran_by_the_classic_builder("/bin/sh -c apt-get update", ""));
        const KIT: &str = "buildkit.dockerfile.v0";
        for (other, comment) in [
            ("/bin/sh -c #(nop) COPY file:73e2b2d4 in /bin/busybox ", ""),
            ("/bin/sh -c #(nop)  ENV A=1", ""),
            ("RUN /bin/sh -c make # buildkit", KIT),
            ("COPY busybox /bin/busybox # buildkit", KIT),
            // BuildKit's settings carry no mark but the comment.
            ("CMD [\"/bin/sh\"]", KIT),
            ("ENV A=1", KIT),
            ("Imported from -", ""),
            ("squashbox: 3 layers of app:1 squashed into one", ""),
            ("", ""),
        ] {
            assert!(!ran_by_the_classic_builder(other, comment), "{other}");
        }
    }
}
