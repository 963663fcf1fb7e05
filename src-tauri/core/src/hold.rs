//! Keeps an untagged image safe from outside prunes while a job still needs it.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon) -> squashbox_core::Result<()> {
//! use squashbox_core::hold::Hold;
//! let hold = Hold::take(daemon, "sha256:…").await?;
//! // … verify the image; a `docker image prune` elsewhere leaves it alone …
//! hold.release(daemon).await;
//! # Ok(()) }
//! ```
//!
//! A squash's result stays untagged until it verifies, and an untagged image is exactly what
//! `docker image prune` removes. A container made from the image (created, never started) is
//! what both `docker image prune` and `docker image prune -a` leave alone, and unlike a
//! temporary tag it never shows in anyone's image list as a name. It is labelled, so that one
//! left by a process that was killed can be told apart from the user's containers. The direct
//! squash also exports one made from its source: the daemon's merged view of the layers.

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use std::collections::HashMap;

use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// The label every hold container carries; its value is the held image's ID.
pub const HOLD_LABEL: &str = "app.squashbox.holds-image";

/// A container that keeps one image in use; give it back with [`Hold::release`].
#[derive(Debug)]
#[must_use = "a hold left unreleased keeps its image until the container is removed by hand"]
pub struct Hold {
    container_id: String,
}

impl Hold {
    pub async fn take(daemon: &Daemon, image_id: &str) -> Result<Hold> {
        let body = ContainerCreateBody {
            image: Some(image_id.to_owned()),
            // Never run: any command will do, and naming one spares images without a CMD the
            // daemon's "no command specified".
            entrypoint: Some(vec!["/squashbox-hold".into()]),
            cmd: Some(Vec::new()),
            network_disabled: Some(true),
            labels: Some(HashMap::from([(HOLD_LABEL.into(), image_id.to_owned())])),
            ..Default::default()
        };
        let created = daemon
            .docker()
            .create_container(None::<CreateContainerOptions>, body)
            .await
            .map_err(Error::from_docker)?;
        Ok(Hold {
            container_id: created.id,
        })
    }

    /// The container that holds the image (never started: exporting it gives the image's
    /// filesystem as the daemon merges it).
    pub fn container_id(&self) -> &str {
        &self.container_id
    }

    /// Removes the container; the image is then as unprotected as it was before.
    pub async fn release(self, daemon: &Daemon) {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        // A container that is already gone holds nothing; any other failure leaves a labelled,
        // never-started container, which costs no disk beyond its image.
        let _ = daemon
            .docker()
            .remove_container(&self.container_id, Some(options))
            .await;
    }
}
