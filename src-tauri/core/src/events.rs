//! News from the daemon: tells the caller whenever an image or container appears, goes or is
//! retagged, so a list on screen stays current when someone runs `docker build` or `docker rmi`
//! beside us.
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon) {
//! let ended_by = squashbox_core::events::watch_images(daemon, || println!("images changed")).await;
//! eprintln!("stopped watching: {ended_by}");
//! # }
//! ```

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use std::collections::HashMap;

use crate::daemon::Daemon;
use crate::error::Error;

/// Calls `on_change` for every image or container event until the stream ends, and returns
/// what ended it (normally the daemon going away).
pub async fn watch_images(daemon: &Daemon, mut on_change: impl FnMut()) -> Error {
    // Containers matter too: creating or removing one changes which images are in use.
    let filters = HashMap::from([(
        "type".to_string(),
        vec!["image".to_string(), "container".to_string()],
    )]);
    let options = EventsOptions {
        filters: Some(filters),
        ..Default::default()
    };
    let mut events = daemon.docker().events(Some(options));
    while let Some(event) = events.next().await {
        match event {
            Ok(event) if is_list_change(event.action.as_deref()) => on_change(),
            Ok(_) => {}
            Err(err) => return Error::from_docker(err),
        }
    }
    Error::Stream("the daemon closed its event stream".into())
}

/// Container starts, stops, execs and the like leave the image list as it was. Podman says
/// "build" where Docker says "tag" for a new image's name (seen on Podman 4.3).
fn is_list_change(action: Option<&str>) -> bool {
    matches!(
        action,
        Some(
            "create"
                | "destroy"
                | "delete"
                | "tag"
                | "untag"
                | "import"
                | "load"
                | "pull"
                | "prune"
                | "build"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_list_changing_actions_count() {
        assert!(is_list_change(Some("untag")));
        assert!(is_list_change(Some("destroy")));
        assert!(
            is_list_change(Some("build")),
            "Podman's word for a new image"
        );
        assert!(!is_list_change(Some("start")));
        assert!(!is_list_change(Some("exec_create: sh")));
        assert!(!is_list_change(None));
    }
}
