//! The daemon's news reaches us.

use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::events;
use std::time::Duration;

use crate::support::Fixture;

#[tokio::test]
async fn building_an_image_is_news() {
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = tokio::spawn(async move {
        events::watch_images(&daemon, move || {
            let _ = tx.send(());
        })
        .await
    });
    // Give the subscription a moment to reach the daemon before there is anything to hear.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _fixture = tokio::task::spawn_blocking(|| Fixture::small("news"))
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await;
    watcher.abort();
    assert!(matches!(heard, Ok(Some(()))), "no event within 20 s");
}
