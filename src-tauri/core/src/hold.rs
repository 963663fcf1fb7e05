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
//! temporary tag it never shows in anyone's image list as a name. The direct squash also exports
//! one made from its source: the daemon's merged view of the layers.
//!
//! Each is labelled with the image it holds and the process that made it (host, PID and the
//! process's start time), so that [`sweep`] can remove the ones a process that was killed left
//! behind, and only those: never a container of the user's, nor a hold of a Squashbox still
//! running, here or on another machine sharing the daemon.

use bollard::models::{ContainerCreateBody, ContainerSummaryStateEnum};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions,
};
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// The label every hold container carries; its value is the held image's ID.
pub const HOLD_LABEL: &str = "app.squashbox.holds-image";
/// Who made the hold: `host/pid/start`, the start time in seconds since the epoch, so that a
/// PID the system gave to another process since is not taken for the maker.
pub const HOLDER_LABEL: &str = "app.squashbox.holder";

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
            labels: Some(HashMap::from([
                (HOLD_LABEL.into(), image_id.to_owned()),
                (HOLDER_LABEL.into(), this_process().to_owned()),
            ])),
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

/// Removes the holds that Squashbox processes on this machine which are no longer running left
/// behind (killed mid-job), and returns how many went. Holds without a maker's label (made by an
/// older version), made elsewhere, or ever started, stay.
pub async fn sweep(daemon: &Daemon) -> Result<usize> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_owned(),
            vec![HOLDER_LABEL.to_owned()],
        )])),
        ..Default::default()
    };
    let containers = daemon
        .docker()
        .list_containers(Some(options))
        .await
        .map_err(Error::from_docker)?;
    let mut removed = 0;
    for container in containers {
        let never_started = container.state == Some(ContainerSummaryStateEnum::CREATED);
        let maker = container
            .labels
            .as_ref()
            .and_then(|labels| labels.get(HOLDER_LABEL));
        let (Some(id), Some(maker), true) = (container.id, maker, never_started) else {
            continue;
        };
        if !left_by_a_dead_process(maker) {
            continue;
        }
        let hold = Hold { container_id: id };
        hold.release(daemon).await;
        removed += 1;
    }
    Ok(removed)
}

/// This process as a hold's maker label names it.
fn this_process() -> &'static str {
    static THIS: OnceLock<String> = OnceLock::new();
    THIS.get_or_init(|| {
        let pid = sysinfo::get_current_pid().ok();
        let start = pid.and_then(start_time).unwrap_or(0);
        let pid = pid.map_or(0, |p| p.as_u32());
        format!("{}/{pid}/{start}", host())
    })
}

fn host() -> String {
    sysinfo::System::host_name().unwrap_or_default()
}

fn start_time(pid: sysinfo::Pid) -> Option<u64> {
    let mut system = sysinfo::System::new();
    let only = [pid];
    system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&only), true);
    system.process(pid).map(|p| p.start_time())
}

/// Whether `maker` (a [`HOLDER_LABEL`] value) names a process of this machine that is gone.
fn left_by_a_dead_process(maker: &str) -> bool {
    let mut parts = maker.rsplitn(3, '/');
    let (Some(start), Some(pid), Some(host_name)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(start), Ok(pid)) = (start.parse::<u64>(), pid.parse::<u32>()) else {
        return false;
    };
    // 0: the maker could not tell its own start, so nothing tells it is gone.
    start != 0 && host_name == host() && start_time(sysinfo::Pid::from_u32(pid)) != Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_process_of_this_machine_left_a_hold() {
        assert!(!left_by_a_dead_process(this_process()), "this one runs");
        // Another process had this PID, or none has it now.
        let pid = std::process::id();
        assert!(left_by_a_dead_process(&format!("{}/{pid}/1", host())));
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let gone = child.id();
        child.wait().unwrap();
        assert!(left_by_a_dead_process(&format!("{}/{gone}/1", host())));
        // Another machine's, or a label that is not ours to read.
        assert!(!left_by_a_dead_process(&format!(
            "elsewhere-{}/{gone}/1",
            host()
        )));
        let unknown_start = format!("{}/{gone}/0", host());
        for odd in [
            "",
            "host",
            "host/12",
            "host/x/1",
            "/1/2/3/x",
            &unknown_start,
        ] {
            assert!(!left_by_a_dead_process(odd), "{odd}");
        }
    }
}
