//! Clean-up with a preview: the dangling images a prune would remove (never a tagged image,
//! never one a container uses), then the removal of exactly those, with the space the daemon
//! says came back. The build cache is a separate choice.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon) -> squashbox_core::Result<()> {
//! use squashbox_core::{job::{CancelToken, Progress}, prune};
//! let preview = prune::preview_images(daemon).await?;
//! let ids: Vec<String> = preview.images.iter().map(|i| i.id.clone()).collect();
//! let result = prune::prune_images(daemon, &ids, &|_: Progress| {}, &CancelToken::new()).await?;
//! println!("{} removed, {} bytes back", result.images_deleted.len(), result.space_reclaimed);
//! # Ok(()) }
//! ```
//!
//! Images are removed one by one by ID, not by the daemon's prune endpoint, so what goes is
//! what the preview showed: an image that became dangling after the preview stays.
//!
//! The window's clean-up keeps what it showed in a [`Previewed`] list and removes nothing else:
//! an ID is put into a URL path, where `../containers/mydb` would name another object, and a
//! container's or a volume's inspect answer would pass for an untagged image.

use bollard::query_parameters::RemoveImageOptions;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use ts_rs::TS;

use crate::daemon::Daemon;
use crate::disk::{raw_usage, RawUsage};
use crate::error::{Error, Result};
use crate::images::{self, ImageSummary};
use crate::job::{CancelToken, Progress, ProgressSink};
use crate::left_behind::LeftBehind;
use crate::reference::normalise_id;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PruneCandidate {
    pub id: String,
    pub short_id: String,
    #[ts(type = "number")]
    pub created: i64,
    /// What the image's files take unpacked, layers it shares with other images included.
    #[ts(type = "number")]
    pub size: u64,
    /// The engine's own figure for the image (see [`crate::image_size`]).
    #[ts(type = "number")]
    pub engine_size: u64,
    /// Bytes only this image holds: what removing it frees, as far as the daemon tells (on the
    /// containerd store, its compressed layers too).
    #[ts(type = "number")]
    pub unique_size: u64,
    /// The image whose squash left it dangling (`app:1.2`), when Squashbox made it so.
    pub left_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PrunePreview {
    /// The dangling images a prune removes, newest first.
    pub images: Vec<PruneCandidate>,
    /// Their unique bytes added up: an estimate (layers shared only among them count nowhere).
    #[ts(type = "number")]
    pub estimated_bytes: u64,
    /// Dangling images kept because a container, running or not, uses them.
    pub kept_in_use: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PruneResult {
    /// IDs of the images removed, `sha256:…` (Podman's bare IDs are given the prefix).
    pub images_deleted: Vec<String>,
    /// Bytes the daemon's own disk usage shows freed; where it gives no images total (Podman
    /// 4.3), what the removed images alone held by its figure for each.
    #[ts(type = "number")]
    pub space_reclaimed: u64,
    /// Images of the preview that were left, and why.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CachePreview {
    pub entries: u32,
    /// What a prune of the build cache frees, by the daemon's reckoning.
    #[ts(type = "number")]
    pub reclaimable: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CachePruneResult {
    pub entries_deleted: u32,
    #[ts(type = "number")]
    pub space_reclaimed: u64,
}

/// What a prune of dangling images would remove now.
pub async fn preview_images(daemon: &Daemon) -> Result<PrunePreview> {
    let (list, unique) = tokio::try_join!(images::list(daemon), unique_sizes(daemon))?;
    let left_by = LeftBehind::default_location()
        .map(|l| l.left_by())
        .unwrap_or_default();
    Ok(preview_from(&list, &unique, &left_by))
}

fn preview_from(
    list: &[ImageSummary],
    unique: &HashMap<String, u64>,
    left_by: &HashMap<String, String>,
) -> PrunePreview {
    let images: Vec<PruneCandidate> = list
        .iter()
        .filter(|i| i.dangling && !i.in_use)
        .map(|i| PruneCandidate {
            id: i.id.clone(),
            short_id: i.short_id.clone(),
            created: i.created,
            size: i.size,
            engine_size: i.engine_size,
            // The disk usage counts what the engine counts, so its own figure bounds it.
            unique_size: unique
                .get(&i.id)
                .copied()
                .unwrap_or(i.engine_size)
                .min(i.engine_size),
            left_by: left_by.get(&i.id).cloned(),
        })
        .collect();
    PrunePreview {
        estimated_bytes: images.iter().map(|i| i.unique_size).sum(),
        kept_in_use: list.iter().filter(|i| i.dangling && i.in_use).count() as u32,
        images,
    }
}

/// The images the user was last shown as removable: a preview's, and what a squash just left
/// without a name. Removal takes no other ID.
#[derive(Debug, Default)]
pub struct Previewed(HashSet<String>);

impl Previewed {
    /// A new preview replaces what the last one showed.
    pub fn show(&mut self, preview: &PrunePreview) {
        self.0 = preview.images.iter().map(|i| i.id.clone()).collect();
    }

    /// Images shown outside a preview (a squash's result screen offers what it left).
    pub fn also_show(&mut self, ids: &[String]) {
        self.0.extend(ids.iter().cloned());
    }

    /// `Ok` when every ID is an image ID that was shown; nothing is removed otherwise.
    pub fn check(&self, ids: &[String]) -> Result<()> {
        for id in ids {
            check_image_id(id)?;
            if !self.0.contains(id) {
                return Err(Error::InvalidInput(format!(
                    "{} was not among the images shown for removal: preview again",
                    images::short_id(id)
                )));
            }
        }
        Ok(())
    }
}

/// `sha256:` and 64 lowercase hex digits: the only form an ID to remove may take.
pub fn check_image_id(id: &str) -> Result<()> {
    if crate::reference::is_image_id(id) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{:?} is not an image ID (sha256: and 64 hex digits)",
            id.chars().take(80).collect::<String>()
        )))
    }
}

/// Removes the given images if each is still dangling and unused; reports progress per image
/// and stops between images when cancelled. Every ID must be a full image ID (see
/// [`check_image_id`]); if one is not, nothing is removed.
pub async fn prune_images(
    daemon: &Daemon,
    ids: &[String],
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<PruneResult> {
    for id in ids {
        check_image_id(id)?;
    }
    let before = settled_usage(daemon).await?;
    let total = Some(ids.len() as u64);
    let mut deleted = Vec::new();
    let mut skipped = Vec::new();
    for (done, id) in ids.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        sink.report(Progress::new("removing", done as u64, total));
        match remove_if_still_dangling(daemon, id).await? {
            Ok(ids) => deleted.extend(ids),
            Err(reason) => skipped.push(Skipped {
                id: id.clone(),
                reason,
            }),
        }
    }
    sink.report(Progress::new("removing", ids.len() as u64, total));
    let after = settled_usage(daemon).await?;
    if cancel.is_cancelled() && deleted.is_empty() {
        return Err(Error::Cancelled);
    }
    Ok(PruneResult {
        space_reclaimed: reclaimed(&before, &after, &deleted)?,
        images_deleted: deleted,
        skipped,
    })
}

/// The daemon's disk usage of images, with each image's shared bytes (API ≤ 1.51 lists them).
const IMAGES_USAGE: &str = "type=image&verbose=1";

/// What removing `deleted` freed: how far the daemon's images total fell. An engine that gives
/// no total (Podman 4.3) is taken at its per-image figures instead: the bytes each removed image
/// alone held before the removal, which leaves out layers only the removed images shared.
fn reclaimed(before: &RawUsage, after: &RawUsage, deleted: &[String]) -> Result<u64> {
    match (
        before.reckoned_images_bytes()?,
        after.reckoned_images_bytes()?,
    ) {
        (Some(before), Some(after)) => Ok(before.saturating_sub(after)),
        _ => {
            let unique = before.unique_sizes();
            Ok(deleted.iter().filter_map(|id| unique.get(id)).sum())
        }
    }
}

/// `Ok(Ok(deleted IDs))`, or `Ok(Err(why it was left))`; `Err` only when the daemon fails.
async fn remove_if_still_dangling(
    daemon: &Daemon,
    id: &str,
) -> Result<Result<Vec<String>, String>> {
    let docker = daemon.docker();
    let inspect = match docker.inspect_image(id).await {
        Ok(inspect) => inspect,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => return Ok(Err("already gone".into())),
        Err(e) => return Err(Error::from_docker(e)),
    };
    // Deleting by ID would also untag a tagged image: check right before, not only at preview.
    let tags = images::real_tags(inspect.repo_tags.unwrap_or_default());
    if !tags.is_empty() {
        return Ok(Err(format!(
            "tagged since the preview ({})",
            tags.join(", ")
        )));
    }
    let keep_tagged_and_used = RemoveImageOptions {
        force: false,
        noprune: false,
        ..Default::default()
    };
    match docker
        .remove_image(id, Some(keep_tagged_and_used), None)
        .await
    {
        Ok(items) => Ok(Ok(items
            .into_iter()
            .filter_map(|item| item.deleted)
            .map(|id| normalise_id(&id))
            .collect())),
        // The daemon refuses to remove an image a container uses: that is the rule we want.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message,
        }) => Ok(Err(message)),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(Err("already gone".into())),
        Err(e) => Err(Error::from_docker(e)),
    }
}

/// The images' disk usage once it holds still. On the containerd image store the content of
/// removed images is collected in the background, so the total keeps falling for a moment after
/// a removal (seen on Engine 28.5: a first reading gave half of what was freed); it is read
/// again until two readings agree. Other stores free at once: one reading.
async fn settled_usage(daemon: &Daemon) -> Result<RawUsage> {
    let mut usage = raw_usage(daemon, IMAGES_USAGE).await?;
    if !daemon.info().containerd_store {
        return Ok(usage);
    }
    for _ in 0..SETTLE_READS {
        tokio::time::sleep(SETTLE_PAUSE).await;
        let again = raw_usage(daemon, IMAGES_USAGE).await?;
        let settled = again.reckoned_images_bytes()? == usage.reckoned_images_bytes()?;
        usage = again;
        if settled {
            break;
        }
    }
    Ok(usage)
}

/// At most this many more readings, this far apart, for the total to hold still: 3 s in all.
const SETTLE_READS: u32 = 10;
const SETTLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(300);

/// Unique bytes per image ID, from the daemon's disk usage.
async fn unique_sizes(daemon: &Daemon) -> Result<HashMap<String, u64>> {
    Ok(raw_usage(daemon, IMAGES_USAGE).await?.unique_sizes())
}

/// What a build-cache prune would free now.
pub async fn preview_build_cache(daemon: &Daemon) -> Result<CachePreview> {
    let usage = crate::disk::usage(daemon).await?;
    Ok(CachePreview {
        entries: usage.build_cache.count - usage.build_cache.active,
        reclaimable: usage.build_cache.reclaimable,
    })
}

/// Frees the build cache no build is using.
pub async fn prune_build_cache(daemon: &Daemon) -> Result<CachePruneResult> {
    let response = daemon
        .docker()
        .prune_build(None::<bollard::query_parameters::PruneBuildOptions>)
        .await
        .map_err(Error::from_docker)?;
    Ok(CachePruneResult {
        entries_deleted: response.caches_deleted.map_or(0, |c| c.len() as u32),
        space_reclaimed: response.space_reclaimed.unwrap_or(0).max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, dangling: bool, in_use: bool, size: u64) -> ImageSummary {
        ImageSummary {
            id: id.into(),
            short_id: id.into(),
            tags: if dangling {
                vec![]
            } else {
                vec![format!("{id}:1")]
            },
            dangling,
            in_use,
            created: 1,
            size,
            engine_size: size,
            layers: 1,
            saving: crate::savings::Saving::Unknown,
        }
    }

    #[test]
    fn only_unused_dangling_images_are_candidates() {
        let list = vec![
            image("a", true, false, 100),
            image("b", true, true, 200),
            image("c", false, false, 300),
        ];
        let unique = HashMap::from([("a".to_string(), 60)]);
        let left_by = HashMap::from([("a".to_string(), "app:1".to_string())]);
        let preview = preview_from(&list, &unique, &left_by);
        assert_eq!(preview.images.len(), 1);
        assert_eq!(preview.images[0].id, "a");
        assert_eq!(preview.images[0].unique_size, 60);
        assert_eq!(preview.images[0].left_by.as_deref(), Some("app:1"));
        assert_eq!(preview.estimated_bytes, 60);
        assert_eq!(preview.kept_in_use, 1);
    }

    const ID: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn only_full_image_ids_pass() {
        assert!(check_image_id(ID).is_ok());
        for bad in [
            "../containers/mydb",
            "sha256:../../containers/mydb",
            &ID[7..],
            &ID[..70],
            &ID.to_uppercase().replace("SHA256", "sha256"),
            &format!("{ID}/../x"),
            &format!("{ID}?force=1"),
            "",
        ] {
            assert!(
                matches!(check_image_id(bad), Err(Error::InvalidInput(_))),
                "{bad:?} passed"
            );
        }
    }

    #[test]
    fn only_what_was_shown_may_be_removed() {
        let list = vec![image(ID, true, false, 10)];
        let mut shown = Previewed::default();
        assert!(shown.check(&[ID.to_string()]).is_err(), "nothing shown yet");
        shown.show(&preview_from(&list, &HashMap::new(), &HashMap::new()));
        assert!(shown.check(&[ID.to_string()]).is_ok());
        let other = ID.replace('0', "f");
        assert!(shown.check(&[ID.to_string(), other.clone()]).is_err());
        shown.also_show(std::slice::from_ref(&other));
        assert!(shown.check(&[ID.to_string(), other.clone()]).is_ok());
        // A new preview forgets what the last one showed.
        shown.show(&preview_from(&[], &HashMap::new(), &HashMap::new()));
        assert!(shown.check(&[other]).is_err());
        assert!(shown.check(&["../containers/mydb".to_string()]).is_err());
    }

    fn usage(total: i64, images: &[(&str, i64, i64)]) -> RawUsage {
        RawUsage {
            layers_size: Some(total),
            images: Some(
                images
                    .iter()
                    .map(|(id, size, shared_size)| crate::disk::RawImage {
                        id: (*id).into(),
                        size: *size,
                        shared_size: *shared_size,
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn what_came_back_is_the_fall_of_the_daemons_total() {
        let before = usage(1_000, &[("sha256:a", 600, 100), ("sha256:b", 500, 100)]);
        let after = usage(520, &[("sha256:b", 500, 0)]);
        assert_eq!(
            reclaimed(&before, &after, &["sha256:a".into()]).unwrap(),
            480
        );
        let emptied = usage(0, &[]);
        assert_eq!(
            reclaimed(&before, &emptied, &["sha256:a".into(), "sha256:b".into()]).unwrap(),
            1_000
        );
    }

    #[test]
    fn without_a_total_the_removed_images_own_bytes_count() {
        // Podman 4.3: `LayersSize: 0`, bare IDs, each image's size and what it shares.
        let before = usage(0, &[("a", 600, 100), ("b", 500, 100), ("c", 50, 50)]);
        let after = usage(0, &[("c", 50, 50)]);
        let deleted = ["sha256:a".to_string(), "sha256:b".to_string()];
        assert_eq!(reclaimed(&before, &after, &deleted).unwrap(), 900);
    }
}
