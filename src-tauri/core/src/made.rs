//! The images a job made, and the only ones it may remove.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon, source_id: &str) -> squashbox_core::Result<()> {
//! use squashbox_core::made::MadeImages;
//! let made = MadeImages::before_job(daemon, &[source_id]).await?;
//! made.note("sha256:…the build's result…");
//! // The job failed or was cancelled:
//! made.remove_all(daemon).await;
//! # Ok(()) }
//! ```
//!
//! An ID the daemon hands back is not proof that the job made that image: the classic builder's
//! cache answers a repeated squash with the earlier result's own ID, and its step images with
//! images other builds made. So every image ID is noted before the job starts, and an image is
//! removed only when it was not there then, is not one the job was told to protect (the source),
//! carries no tag, and has no container and no child image — the last two checked by the daemon
//! itself, which refuses such a removal, the tag checked by us right before.

use bollard::query_parameters::{ListImagesOptions, RemoveImageOptions};
use std::collections::HashSet;
use std::sync::Mutex;

use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::images::real_tags;

pub struct MadeImages {
    /// Every image on the daemon before the job, and the protected ones: full `sha256:…` IDs.
    untouchable: HashSet<String>,
    /// What the job made, oldest first, as the daemon named it (a build stream gives short IDs).
    made: Mutex<Vec<String>>,
}

impl MadeImages {
    /// Notes the images there are now; `protect` are never removed even if made later.
    pub async fn before_job(daemon: &Daemon, protect: &[&str]) -> Result<Self> {
        let existing = all_images(daemon).await?.into_iter().map(|i| i.id);
        Ok(Self::knowing(
            existing.chain(protect.iter().map(|id| (*id).to_owned())),
        ))
    }

    /// A guard that never removes `untouchable` (full IDs).
    pub fn knowing(untouchable: impl IntoIterator<Item = String>) -> Self {
        MadeImages {
            untouchable: untouchable.into_iter().collect(),
            made: Mutex::new(Vec::new()),
        }
    }

    /// What the job noted, oldest first.
    pub fn noted(&self) -> Vec<String> {
        self.made.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records an image the job made (or may have made: the guard decides at removal).
    pub fn note(&self, id: &str) {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        if !made.iter().any(|m| m == id) {
            made.push(id.to_owned());
        }
    }

    /// Whether the job may remove `id` (a full ID): it did not exist before the job.
    pub fn is_new(&self, id: &str) -> bool {
        !self.untouchable.contains(id)
    }

    /// Notes the images built on top of those already noted: a classic build cut off mid-way
    /// may commit one more step than its stream told before the connection closed.
    pub async fn note_descendants(&self, daemon: &Daemon) -> Result<()> {
        let images = all_images(daemon).await?;
        let mut ours: HashSet<String> = {
            let made = self.made.lock().unwrap_or_else(|p| p.into_inner());
            images
                .iter()
                .filter(|i| made.iter().any(|m| same_image(&i.id, m)))
                .map(|i| i.id.clone())
                .collect()
        };
        // Parents come before children in no particular order of the list: go round until
        // nothing more joins.
        loop {
            let children: Vec<&str> = images
                .iter()
                .filter(|i| ours.contains(&i.parent_id) && !ours.contains(&i.id))
                .filter(|i| self.is_new(&i.id))
                .map(|i| i.id.as_str())
                .collect();
            if children.is_empty() {
                return Ok(());
            }
            for child in children {
                self.note(child);
                ours.insert(child.to_owned());
            }
        }
    }

    /// Removes what the job made, newest first (children before their parents), each only if
    /// the guard allows it; a failure to remove one must not hide the error that led here.
    pub async fn remove_all(&self, daemon: &Daemon) {
        let _ = self.note_descendants(daemon).await;
        for id in self.noted().iter().rev() {
            let _ = self.remove(daemon, id).await;
        }
    }

    /// Removes one image the job made: `Ok(true)` when it went, `Ok(false)` when the guard or
    /// the daemon kept it.
    pub async fn remove(&self, daemon: &Daemon, id: &str) -> Result<bool> {
        let found = match daemon.docker().inspect_image(id).await {
            Ok(found) => found,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(false),
            Err(e) => return Err(Error::from_docker(e)),
        };
        let Some(full_id) = found.id else {
            return Ok(false);
        };
        if !self.is_new(&full_id) || !real_tags(found.repo_tags.unwrap_or_default()).is_empty() {
            return Ok(false);
        }
        // Never forced, and never taking untagged parents along: those are removed one by one,
        // each through this same guard.
        let options = RemoveImageOptions {
            force: false,
            noprune: true,
            ..Default::default()
        };
        match daemon
            .docker()
            .remove_image(&full_id, Some(options), None)
            .await
        {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => Ok(false),
            Err(e) => Err(Error::from_docker(e)),
        }
    }
}

async fn all_images(daemon: &Daemon) -> Result<Vec<bollard::models::ImageSummary>> {
    let options = ListImagesOptions {
        // Intermediate images too: the classic builder's steps are among them.
        all: true,
        ..Default::default()
    };
    crate::image_size::list_steadily(daemon, options).await
}

/// `full` (`sha256:…`, or bare hex from Podman) is the image `named` (full or a short prefix).
fn same_image(full: &str, named: &str) -> bool {
    let hex = |id: &str| id.strip_prefix("sha256:").unwrap_or(id).to_owned();
    let (full, named) = (hex(full), hex(named));
    !named.is_empty() && full.starts_with(&named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_name_the_full_ones_they_begin() {
        let full = "sha256:31bec908df99aa0000000000000000000000000000000000000000000000000000";
        assert!(same_image(full, "31bec908df99"));
        assert!(same_image(full, full));
        assert!(same_image(&full[7..], full));
        assert!(!same_image(full, "a5855afbc6bf"));
        assert!(!same_image(full, ""));
    }
}
