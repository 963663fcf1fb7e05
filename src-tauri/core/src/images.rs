//! The daemon's images as the image list shows them: tags, size, layer count, and whether
//! anything uses them.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon) -> squashbox_core::Result<()> {
//! for image in squashbox_core::images::list(daemon).await? {
//!     println!("{} {:?} {} bytes", image.short_id, image.tags, image.size);
//! }
//! # Ok(()) }
//! ```
//!
//! Tags are shown as people type them (see [`ShortNames`]), and sizes as the image's files take
//! them (see [`crate::image_size`]).

use bollard::query_parameters::ListContainersOptions;
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use ts_rs::TS;

use crate::daemon::Daemon;
use crate::disk::raw_usage;
use crate::error::{Error, Result};
use crate::image_size::{list_images, ImageSize};
use crate::reference::{is_placeholder, Naming, ShortNames};
use crate::savings::{hint_from_history, Hint, Saving, Savings, Step};

/// How many image inspections run at once. The daemon answers them quickly; more in flight
/// only queues on its side.
const INSPECT_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ImageSummary {
    /// Full content ID, `sha256:…`.
    pub id: String,
    /// The 12 hex digits people see in `docker images`.
    pub short_id: String,
    /// `repo:tag` names, in Docker's short form where the engine finds the image by it
    /// (`web:1` for Podman's `docker.io/library/web:1` or `localhost/web:1`); empty for a
    /// dangling image.
    pub tags: Vec<String>,
    pub dangling: bool,
    /// A container, running or not, was made from it.
    pub in_use: bool,
    /// Unix seconds.
    #[ts(type = "number")]
    pub created: i64,
    /// What the image's files take unpacked, in bytes, layers shared with other images included.
    #[ts(type = "number")]
    pub size: u64,
    /// The engine's own figure (`docker images`' SIZE), which on the containerd image store also
    /// counts the compressed layers: see [`crate::image_size`].
    #[ts(type = "number")]
    pub engine_size: u64,
    pub layers: u32,
    /// What a squash would save: measured by an audit, or hinted at by the history.
    pub saving: Saving,
}

/// Every image on the daemon, newest first.
pub async fn list(daemon: &Daemon) -> Result<Vec<ImageSummary>> {
    let docker = daemon.docker();
    let (images, containers) = tokio::try_join!(list_images(daemon), async {
        let all = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        docker
            .list_containers(Some(all))
            .await
            .map_err(Error::from_docker)
    })?;
    let used: HashSet<String> = containers.into_iter().filter_map(|c| c.image_id).collect();
    let ids: Vec<String> = images.iter().map(|i| i.id.clone()).collect();
    let facts = image_facts(daemon, &ids).await?;
    let measured = Savings::default_location()
        .map(|savings| savings.measured())
        .unwrap_or_default();
    let names = ShortNames::new(
        Naming::of(daemon.info()),
        images.iter().flat_map(|i| &i.repo_tags),
    );

    let mut list: Vec<ImageSummary> = images
        .into_iter()
        .map(|image| {
            let size = ImageSize::of_listed(&image);
            let facts = facts.get(&image.id);
            let saving = match (measured.get(&image.id), facts.and_then(|f| f.hint.clone())) {
                (Some(measured), _) => measured.clone(),
                (None, Some(hint)) => Saving::Likely(hint),
                (None, None) => Saving::Unknown,
            };
            let mut tags: Vec<String> = real_tags(image.repo_tags)
                .iter()
                .map(|tag| names.show(tag))
                .collect();
            tags.sort();
            ImageSummary {
                short_id: short_id(&image.id),
                dangling: tags.is_empty(),
                in_use: used.contains(&image.id),
                layers: facts.map_or(0, |f| f.layers),
                saving,
                created: image.created,
                size: size.files,
                engine_size: size.engine,
                tags,
                id: image.id,
            }
        })
        .collect();
    list.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    Ok(list)
}

/// The daemon's full description of one image (name, tag or ID); a 404 is [`Error::ImageNotFound`].
pub async fn inspect(daemon: &Daemon, image: &str) -> Result<bollard::models::ImageInspect> {
    daemon
        .docker()
        .inspect_image(image)
        .await
        .map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => Error::ImageNotFound(image.to_owned()),
            other => Error::from_docker(other),
        })
}

/// Bytes the daemon's images take on disk, each shared layer counted once (what `docker system
/// df` calls the images' size). Asks for the images only: containers' and volumes' sizes can
/// take the daemon a long while.
pub async fn disk_bytes(daemon: &Daemon) -> Result<u64> {
    let usage = raw_usage(daemon, "type=image").await?;
    usage.images_bytes()
}

/// What the list reads of an image once: an ID names its content, so none of it changes.
#[derive(Debug, Clone)]
pub(crate) struct ImageFacts {
    layers: u32,
    hint: Option<Hint>,
}

/// The facts of each image by ID. The daemon remembers them, so a refresh only reads images it
/// has not seen.
/// An inspect answer that does not have an image's shape: the containerd store keeps an image
/// whose content it lost (seen on Engine 28.5 after a build failed under it, "Available": false)
/// and describes it without `RootFS.Type`.
fn undescribed(err: &bollard::errors::Error) -> bool {
    matches!(err, bollard::errors::Error::JsonDataError { .. })
}

async fn image_facts(daemon: &Daemon, ids: &[String]) -> Result<HashMap<String, ImageFacts>> {
    let cache = daemon.image_facts_cache();
    // Owned IDs: futures borrowing from the caller would not be `Send` for every lifetime,
    // which Tauri's async commands need.
    let missing: Vec<String> = {
        let known = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ids.iter()
            .filter(|id| !known.contains_key(*id))
            .cloned()
            .collect()
    };
    let fetched: Vec<(String, ImageFacts)> = stream::iter(missing)
        .map(|id| async move {
            let docker = daemon.docker();
            let (inspected, history) =
                tokio::join!(docker.inspect_image(&id), docker.image_history(&id));
            match inspected {
                Ok(inspect) => {
                    let layers = inspect
                        .root_fs
                        .and_then(|r| r.layers)
                        .map_or(0, |l| l.len()) as u32;
                    // A history the engine cannot give costs the hint, not the list.
                    let hint = history.ok().and_then(|newest_first| {
                        let steps: Vec<Step> = newest_first
                            .into_iter()
                            .rev()
                            .map(|item| Step {
                                created_by: item.created_by,
                                size: item.size.max(0) as u64,
                            })
                            .collect();
                        hint_from_history(&steps)
                    });
                    Ok(Some((id, ImageFacts { layers, hint })))
                }
                // An image the engine keeps but cannot describe is listed without its facts.
                Err(e) if undescribed(&e) => Ok(None),
                // Removed between the list and the inspection: not an error, just gone.
                Err(e) => match Error::from_docker(e) {
                    gone if crate::image_size::lost_an_image(&gone) => Ok(None),
                    other => Err(other),
                },
            }
        })
        .buffer_unordered(INSPECT_CONCURRENCY)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await?;
    let mut known = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    known.extend(fetched);
    Ok(ids
        .iter()
        .filter_map(|id| known.get(id).map(|facts| (id.clone(), facts.clone())))
        .collect())
}

/// The image's tags, sorted, without the names engines give a dangling image (newer ones list
/// none at all).
pub(crate) fn real_tags(tags: Vec<String>) -> Vec<String> {
    let mut tags: Vec<String> = tags.into_iter().filter(|t| !is_placeholder(t)).collect();
    tags.sort();
    tags
}

pub fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_without_an_images_shape_is_an_undescribed_image() {
        let broken = bollard::errors::Error::JsonDataError {
            message: "missing field `Type`".into(),
            column: 266,
        };
        assert!(undescribed(&broken));
        let gone = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "No such image".into(),
        };
        assert!(!undescribed(&gone));
    }

    #[test]
    fn short_ids_drop_the_algorithm_and_keep_twelve_digits() {
        assert_eq!(short_id("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn none_tags_mean_dangling() {
        assert!(real_tags(vec!["<none>:<none>".into()]).is_empty());
        assert!(real_tags(vec!["moby-dangling@sha256:abcd".into()]).is_empty());
        assert_eq!(
            real_tags(vec!["b:1".into(), "a:2".into()]),
            vec!["a:2".to_string(), "b:1".to_string()]
        );
    }
}
