//! The size an image is shown with: what its files take on disk once unpacked, the one figure
//! the list, the audit and the squash result give on every engine, with the engine's own figure
//! beside it.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon, id: &str) -> squashbox_core::Result<()> {
//! let sizes = squashbox_core::image_size::of_images(daemon, &[id]).await?;
//! println!("{} bytes of files; the engine says {}", sizes[0].files, sizes[0].engine);
//! # Ok(()) }
//! ```
//!
//! Why the engine's own figure is not enough: the engines mean different things by `Size`.
//! Measured with one image (busybox, 1,982,256 bytes, and a 3 MB file of random bytes written in
//! one layer and deleted in the next), asked for it by API:
//!
//! | engine                          | `/images/json` | `/images/{id}/json` | `/system/df` image |
//! |---------------------------------|----------------|---------------------|--------------------|
//! | Engine 20.10, overlay2          | 4,982,256      | 4,982,256           | 4,982,256          |
//! | Engine 28.5, containerd store   | 9,113,829      | 4,083,941           | 9,113,829          |
//! | Podman 4.3 (Docker API)         | 4,995,232      | 4,995,232           | 4,995,232          |
//!
//! On overlay2 and on Podman every answer is the layers' unpacked bytes. On the containerd
//! store the list and the disk usage add two things, the layers' compressed blobs (4,083,941,
//! which is what inspect gives) and the unpacked snapshots (5,029,888): an image counted about
//! twice, the "514 MB image listed as 1.03 GB". Asked with `manifests=1` (API 1.47, Engine 27.2
//! and newer) the list also gives each platform's parts: `Manifests[].Size.Content` (the blobs)
//! and `Manifests[].ImageData.Size.Unpacked` (the snapshots); 20.10 and Podman ignore the
//! parameter. So the figure shown, [`ImageSize::files`], is the unpacked snapshots where the
//! engine lists them and the engine's `Size` elsewhere: on each engine, the image's files as
//! unpacked on disk. A containerd store older than API 1.47 gives no way to tell the two parts
//! apart through the list; there the engine's figure is all there is, and both fields carry it.

use bollard::query_parameters::ListImagesOptions;

use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// An image's size two ways; see the module docs for what each engine means by its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageSize {
    /// What the image's files take unpacked, layers shared with other images included.
    pub files: u64,
    /// The engine's own figure (`docker images`' SIZE). On the containerd store it also counts
    /// the compressed layers the files were unpacked from.
    pub engine: u64,
}

impl ImageSize {
    /// The sizes of one entry of the image list asked with `manifests=1`.
    pub(crate) fn of_listed(image: &bollard::models::ImageSummary) -> ImageSize {
        let engine = image.size.max(0) as u64;
        let unpacked: Option<u64> = image.manifests.as_ref().and_then(|manifests| {
            let images: Vec<u64> = manifests
                .iter()
                .filter(|m| m.available)
                .filter_map(|m| m.image_data.as_ref())
                .map(|data| data.size.unpacked.max(0) as u64)
                .collect();
            // An image whose manifests are all absent or not images (attestations) has nothing
            // unpacked to show; keep the engine's figure rather than a zero.
            (!images.is_empty()).then(|| images.iter().sum())
        });
        ImageSize {
            files: unpacked.unwrap_or(engine),
            engine,
        }
    }
}

/// The image list with the parts each engine can give (see the module docs).
pub(crate) async fn list_images(daemon: &Daemon) -> Result<Vec<bollard::models::ImageSummary>> {
    let options = ListImagesOptions {
        manifests: true,
        ..Default::default()
    };
    list_steadily(daemon, options).await
}

/// `/images/json` with `options`. A list fails whole when an image is removed while it lists:
/// Podman 4.3 answers 500 "… image not known" or "checking if image … is dangling: reading data
/// blob size …", Engine 28.5's containerd store 404 "content digest … not found" (all seen while
/// other programs removed images). The images left are there to list, so it is asked again.
pub(crate) async fn list_steadily(
    daemon: &Daemon,
    options: ListImagesOptions,
) -> Result<Vec<bollard::models::ImageSummary>> {
    let pause = std::time::Duration::from_millis(200);
    crate::retry::while_passing(LIST_TRIES, pause, lost_an_image, || async {
        let listed = daemon.docker().list_images(Some(options.clone())).await;
        listed.map_err(Error::from_docker)
    })
    .await
}

/// The daemon's answer when an image went away while it read it: 404 (Docker; Engine 28.5's
/// containerd store says "content digest … not found"), or Podman 4.3's 500 "… image not known"
/// (an inspect or a history too: "locating image with ID …: image not known") and "checking if
/// image … is dangling: reading data blob size …".
pub(crate) fn lost_an_image(err: &Error) -> bool {
    match err {
        Error::Daemon { status, message } => {
            *status == 404
                || (*status == 500
                    && (message.contains("image not known") || message.contains("is dangling")))
        }
        _ => false,
    }
}

/// How often a list that lost an image under it is asked for before its error is reported.
const LIST_TRIES: u32 = 5;

/// The sizes of the images with these full IDs, in their order; [`Error::ImageNotFound`] for
/// one the daemon lacks. Only the containerd store needs the list for it; elsewhere inspect gives
/// the same figure, and asking about each image keeps clear of Podman's list, which fails whole
/// (500, "image not known") when another image is removed while it lists.
pub async fn of_images(daemon: &Daemon, ids: &[&str]) -> Result<Vec<ImageSize>> {
    if daemon.info().containerd_store {
        let listed = list_images(daemon).await?;
        return ids
            .iter()
            .map(|id| {
                listed
                    .iter()
                    .find(|image| image.id == *id)
                    .map(ImageSize::of_listed)
                    .ok_or_else(|| Error::ImageNotFound((*id).to_owned()))
            })
            .collect();
    }
    let mut sizes = Vec::with_capacity(ids.len());
    for id in ids {
        let size = crate::images::inspect(daemon, id)
            .await?
            .size
            .unwrap_or(0)
            .max(0) as u64;
        sizes.push(ImageSize {
            files: size,
            engine: size,
        });
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ImageManifestSummary, ImageManifestSummaryImageData, ImageManifestSummaryImageDataSize,
        ImageManifestSummaryKindEnum, ImageSummary,
    };

    fn listed(size: i64, manifests: Option<Vec<ImageManifestSummary>>) -> ImageSummary {
        ImageSummary {
            size,
            manifests,
            ..Default::default()
        }
    }

    fn manifest(available: bool, unpacked: Option<i64>) -> ImageManifestSummary {
        ImageManifestSummary {
            available,
            kind: Some(match unpacked {
                Some(_) => ImageManifestSummaryKindEnum::IMAGE,
                None => ImageManifestSummaryKindEnum::ATTESTATION,
            }),
            image_data: unpacked.map(|unpacked| ImageManifestSummaryImageData {
                size: ImageManifestSummaryImageDataSize { unpacked },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn overlay2_and_podman_sizes_are_the_files() {
        let size = ImageSize::of_listed(&listed(4_982_256, None));
        assert_eq!(
            size,
            ImageSize {
                files: 4_982_256,
                engine: 4_982_256
            }
        );
    }

    #[test]
    fn the_containerd_store_gives_its_unpacked_snapshots() {
        // Engine 28.5's answer for the module docs' image, with an attestation beside it.
        let size = ImageSize::of_listed(&listed(
            9_113_829,
            Some(vec![manifest(true, Some(5_029_888)), manifest(true, None)]),
        ));
        assert_eq!(
            size,
            ImageSize {
                files: 5_029_888,
                engine: 9_113_829
            }
        );
    }

    #[test]
    fn platforms_not_pulled_count_nothing_and_none_at_all_keeps_the_engines_figure() {
        let two = ImageSize::of_listed(&listed(
            30,
            Some(vec![
                manifest(true, Some(10)),
                manifest(false, Some(99)),
                manifest(true, Some(5)),
            ]),
        ));
        assert_eq!(two.files, 15);
        let none = ImageSize::of_listed(&listed(30, Some(vec![manifest(false, Some(99))])));
        assert_eq!(none.files, 30);
    }

    #[test]
    fn an_image_gone_mid_read_is_told_from_other_failures() {
        let daemon = |status, message: &str| Error::Daemon {
            status,
            message: message.into(),
        };
        for gone in [
            daemon(404, "No such image: sha256:9a1c"),
            // Podman 4.3, an inspect of an image removed meanwhile (seen in the engine matrix).
            daemon(
                500,
                "locating image with ID \"909fb3687f9a\": image not known",
            ),
            daemon(
                500,
                "checking if image \"9a1c\" is dangling: reading data blob size",
            ),
        ] {
            assert!(lost_an_image(&gone), "{gone:?}");
        }
        for other in [
            daemon(500, "a disk usage operation is already running"),
            daemon(409, "conflict: unable to delete 9a1c (cannot be forced)"),
            Error::Cancelled,
        ] {
            assert!(!lost_an_image(&other), "{other:?}");
        }
    }
}
