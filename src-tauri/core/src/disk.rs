//! Where the disk went: Docker's own usage by kind (images, containers, volumes, build cache),
//! what of it could be freed, and, when the daemon runs on this machine, the free space of the
//! disk holding its data.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon) -> squashbox_core::Result<()> {
//! let usage = squashbox_core::disk::usage(daemon).await?;
//! println!("images {} bytes, {} reclaimable", usage.images.size, usage.images.reclaimable);
//! # Ok(()) }
//! ```
//!
//! `/system/df` changed shape in API 1.52 (per-kind `…Usage` objects instead of `LayersSize`
//! and item lists), and bollard's model reads only the new one, so both are read here.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use ts_rs::TS;

use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::reference::normalise_id;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct KindUsage {
    pub count: u32,
    /// Items in use: images with containers, running containers, mounted volumes, cache in use.
    pub active: u32,
    #[ts(type = "number")]
    pub size: u64,
    /// What a prune of this kind would free, by the daemon's reckoning.
    #[ts(type = "number")]
    pub reclaimable: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct HostDisk {
    pub mount_point: String,
    #[ts(type = "number")]
    pub total: u64,
    #[ts(type = "number")]
    pub available: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DiskUsage {
    pub images: KindUsage,
    pub containers: KindUsage,
    pub volumes: KindUsage,
    pub build_cache: KindUsage,
    /// The disk under the daemon's data folder; None when the daemon is not on this machine.
    pub host_disk: Option<HostDisk>,
}

/// Docker's usage by kind, plus the host disk when the daemon is local.
pub async fn usage(daemon: &Daemon) -> Result<DiskUsage> {
    let raw = raw_usage(daemon, "verbose=1").await?;
    let mut usage = raw.into_usage()?;
    usage.host_disk = daemon.data_dir_here().and_then(host_disk);
    Ok(usage)
}

/// `/system/df` with `query`, one request at a time (the daemon refuses a second while one
/// runs). The daemon fails the count when an image it is counting is removed meanwhile (404
/// "snapshot … does not exist" on Engine 28.5's containerd store, Podman's 500 "image not
/// known", seen while another program removed images): that answer says nothing about the
/// images left, so it is asked again.
pub(crate) async fn raw_usage(daemon: &Daemon, query: &str) -> Result<RawUsage> {
    let _turn = daemon.disk_usage_turn().lock().await;
    let path = format!("/system/df?{query}");
    // Ours take turns, but another program's count (`docker system df`, a second window, a
    // test run sharing the daemon) makes the daemon refuse: 500 "a disk usage operation is
    // already running". It ends in seconds, so it is waited out too.
    let passing = |err: &Error| match err {
        Error::Daemon {
            status: 500,
            message,
        } if message.contains("already running") => true,
        other => crate::image_size::lost_an_image(other),
    };
    crate::retry::while_passing(USAGE_TRIES, Duration::from_millis(250), passing, || {
        crate::raw::get_json(daemon, &path)
    })
    .await
}

/// How often a count that lost an image under it, or met another program's, is asked for
/// before the daemon's answer is reported: 5 s in all.
const USAGE_TRIES: u32 = 20;

/// The mounted disk holding `path`: the mount point that is the longest prefix of it.
pub fn host_disk(path: &Path) -> Option<HostDisk> {
    let disks = sysinfo::Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| HostDisk {
            mount_point: d.mount_point().display().to_string(),
            total: d.total_space(),
            available: d.available_space(),
        })
}

/// Both shapes of `/system/df`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawUsage {
    // API ≤ 1.51
    pub layers_size: Option<i64>,
    pub images: Option<Vec<RawImage>>,
    pub containers: Option<Vec<RawContainer>>,
    pub volumes: Option<Vec<RawVolume>>,
    pub build_cache: Option<Vec<RawCache>>,
    // API ≥ 1.52
    pub image_usage: Option<RawKind>,
    pub container_usage: Option<RawKind>,
    pub volume_usage: Option<RawKind>,
    pub build_cache_usage: Option<RawKind>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawKind {
    pub active_count: Option<i64>,
    pub total_count: Option<i64>,
    pub reclaimable: Option<i64>,
    pub total_size: Option<i64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawImage {
    pub id: String,
    pub containers: i64,
    pub size: i64,
    pub shared_size: i64,
    pub created: i64,
    pub repo_tags: Option<Vec<String>>,
}

impl RawImage {
    /// Bytes only this image holds: what removing it alone frees.
    pub fn unique_size(&self) -> u64 {
        let shared = self.shared_size.max(0);
        bytes(self.size - shared)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawContainer {
    pub state: String,
    pub size_rw: Option<i64>,
    pub size_root_fs: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawVolume {
    pub usage_data: Option<RawVolumeUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawVolumeUsage {
    pub size: i64,
    pub ref_count: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawCache {
    #[serde(rename = "ID")]
    pub id: String,
    pub size: i64,
    pub in_use: bool,
    pub shared: bool,
}

impl RawUsage {
    /// The images' bytes on disk, in either shape.
    pub fn images_bytes(&self) -> Result<u64> {
        self.image_usage
            .as_ref()
            .and_then(|u| u.total_size)
            .or(self.layers_size)
            .map(bytes)
            .ok_or_else(|| Error::Stream("the daemon's disk usage had no image size".into()))
    }

    /// [`RawUsage::images_bytes`] where the engine reckons it: Podman 4.3's Docker-compatible API
    /// answers `LayersSize: 0` whatever its images hold, next to the images it lists with their
    /// sizes, and that zero is `None` here.
    pub fn reckoned_images_bytes(&self) -> Result<Option<u64>> {
        let total = self.images_bytes()?;
        let listed_bytes = self.images.iter().flatten().any(|i| i.size > 0);
        Ok((total > 0 || !listed_bytes).then_some(total))
    }

    /// Bytes only this image holds, by image ID (`sha256:…`, which Podman leaves out here).
    pub fn unique_sizes(&self) -> HashMap<String, u64> {
        self.images
            .iter()
            .flatten()
            .map(|i| (normalise_id(&i.id), i.unique_size()))
            .collect()
    }

    fn into_usage(self) -> Result<DiskUsage> {
        if let Some(images) = &self.image_usage {
            return Ok(DiskUsage {
                images: from_kind(images),
                containers: self
                    .container_usage
                    .as_ref()
                    .map(from_kind)
                    .unwrap_or_default(),
                volumes: self
                    .volume_usage
                    .as_ref()
                    .map(from_kind)
                    .unwrap_or_default(),
                build_cache: self
                    .build_cache_usage
                    .as_ref()
                    .map(from_kind)
                    .unwrap_or_default(),
                host_disk: None,
            });
        }
        let images_size = self.images_bytes()?;
        let images = self.images.unwrap_or_default();
        let containers = self.containers.unwrap_or_default();
        let volumes = self.volumes.unwrap_or_default();
        let cache = self.build_cache.unwrap_or_default();
        Ok(DiskUsage {
            // As `docker system df` reckons it: images no container uses are reclaimable,
            // less what they share with images in use.
            images: KindUsage {
                count: images.len() as u32,
                active: images.iter().filter(|i| i.containers > 0).count() as u32,
                size: images_size,
                reclaimable: images_size.saturating_sub(
                    images
                        .iter()
                        .filter(|i| i.containers > 0)
                        .map(|i| bytes(i.size))
                        .sum(),
                ),
            },
            containers: KindUsage {
                count: containers.len() as u32,
                active: containers.iter().filter(|c| c.state == "running").count() as u32,
                size: containers
                    .iter()
                    .map(|c| bytes(c.size_rw.unwrap_or(0)))
                    .sum(),
                reclaimable: containers
                    .iter()
                    .filter(|c| c.state != "running")
                    .map(|c| bytes(c.size_rw.unwrap_or(0)))
                    .sum(),
            },
            volumes: KindUsage {
                count: volumes.len() as u32,
                active: volumes
                    .iter()
                    .filter(|v| v.usage_data.as_ref().is_some_and(|u| u.ref_count > 0))
                    .count() as u32,
                size: volumes
                    .iter()
                    .filter_map(|v| v.usage_data.as_ref())
                    .map(|u| bytes(u.size))
                    .sum(),
                reclaimable: volumes
                    .iter()
                    .filter_map(|v| v.usage_data.as_ref())
                    .filter(|u| u.ref_count == 0)
                    .map(|u| bytes(u.size))
                    .sum(),
            },
            build_cache: KindUsage {
                count: cache.len() as u32,
                active: cache.iter().filter(|c| c.in_use).count() as u32,
                size: cache
                    .iter()
                    .filter(|c| !c.shared)
                    .map(|c| bytes(c.size))
                    .sum(),
                reclaimable: cache
                    .iter()
                    .filter(|c| !c.in_use && !c.shared)
                    .map(|c| bytes(c.size))
                    .sum(),
            },
            host_disk: None,
        })
    }
}

fn from_kind(kind: &RawKind) -> KindUsage {
    KindUsage {
        count: kind.total_count.unwrap_or(0).max(0) as u32,
        active: kind.active_count.unwrap_or(0).max(0) as u32,
        size: bytes(kind.total_size.unwrap_or(0)),
        reclaimable: bytes(kind.reclaimable.unwrap_or(0)),
    }
}

/// The daemon reports unknown sizes as -1.
fn bytes(n: i64) -> u64 {
    n.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_legacy_shape() {
        let json = r#"{
            "LayersSize": 1000,
            "Images": [
                {"Id": "sha256:a", "Containers": 1, "Size": 600, "SharedSize": 100, "Created": 1, "RepoTags": ["a:1"]},
                {"Id": "sha256:b", "Containers": 0, "Size": 400, "SharedSize": 100, "Created": 2, "RepoTags": null}
            ],
            "Containers": [
                {"State": "running", "SizeRw": 10},
                {"State": "exited", "SizeRw": 5}
            ],
            "Volumes": [{"UsageData": {"Size": 70, "RefCount": 0}}],
            "BuildCache": [
                {"Size": 30, "InUse": false, "Shared": false},
                {"Size": 20, "InUse": true, "Shared": false}
            ]
        }"#;
        let raw: RawUsage = serde_json::from_str(json).unwrap();
        assert_eq!(raw.images.as_ref().unwrap()[1].unique_size(), 300);
        let usage = raw.into_usage().unwrap();
        assert_eq!(
            usage.images,
            KindUsage {
                count: 2,
                active: 1,
                size: 1000,
                reclaimable: 400
            }
        );
        assert_eq!(
            usage.containers,
            KindUsage {
                count: 2,
                active: 1,
                size: 15,
                reclaimable: 5
            }
        );
        assert_eq!(
            usage.volumes,
            KindUsage {
                count: 1,
                active: 0,
                size: 70,
                reclaimable: 70
            }
        );
        assert_eq!(
            usage.build_cache,
            KindUsage {
                count: 2,
                active: 1,
                size: 50,
                reclaimable: 30
            }
        );
    }

    #[test]
    fn reads_the_api_1_52_shape() {
        let json = r#"{
            "ImageUsage": {"ActiveCount": 1, "TotalCount": 3, "Reclaimable": 40, "TotalSize": 90},
            "BuildCacheUsage": {"ActiveCount": 0, "TotalCount": 2, "Reclaimable": 8, "TotalSize": 8}
        }"#;
        let usage = serde_json::from_str::<RawUsage>(json)
            .unwrap()
            .into_usage()
            .unwrap();
        assert_eq!(
            usage.images,
            KindUsage {
                count: 3,
                active: 1,
                size: 90,
                reclaimable: 40
            }
        );
        assert_eq!(usage.build_cache.reclaimable, 8);
        assert_eq!(usage.volumes, KindUsage::default());
    }

    #[test]
    fn a_document_with_neither_shape_is_an_error() {
        let raw: RawUsage = serde_json::from_str("{}").unwrap();
        assert!(raw.into_usage().is_err());
    }

    #[test]
    fn the_disk_holding_a_folder_is_found() {
        // The temp folder, not "/": every system has one, and on Windows disks are C:\ and so on.
        let temp = std::env::temp_dir();
        let disk = host_disk(&temp).expect("a disk holds the temp folder");
        assert!(disk.total >= disk.available);
    }
}
