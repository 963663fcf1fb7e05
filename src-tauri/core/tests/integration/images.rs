//! The image list, checked against what the docker CLI says about the same fixtures.

use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::images::{self, ImageSummary};

use crate::support::{daemon_get, docker, unique_short_name, Fixture};

async fn list() -> Vec<ImageSummary> {
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    images::list(&daemon).await.unwrap()
}

fn find<'a>(list: &'a [ImageSummary], id: &str) -> &'a ImageSummary {
    list.iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the list"))
}

#[tokio::test]
async fn lists_a_fixture_with_its_tag_size_and_layers() {
    let fixture = Fixture::small("listed");
    let list = list().await;
    let image = find(&list, &fixture.id);
    assert_eq!(image.tags, vec![fixture.tag.clone()]);
    assert_eq!(image.short_id, &fixture.id["sha256:".len()..][..12]);
    // The files: at least their bytes (busybox and a line of text), and not counted twice as the
    // containerd store's own figure counts them (its compressed layers and its snapshots).
    let files = std::fs::metadata("/bin/busybox").unwrap().len();
    assert!(
        (files..2 * files).contains(&image.size),
        "{} for {files} bytes of files",
        image.size
    );
    let listed = daemon_get("/images/json");
    let engine_size = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Id"] == fixture.id.as_str())
        .and_then(|i| i["Size"].as_u64())
        .unwrap();
    assert_eq!(image.engine_size, engine_size, "the engine's own figure");
    // busybox copy + hello.txt copy
    assert_eq!(image.layers, 2);
    assert!(!image.dangling);
    assert!(!image.in_use);
}

#[tokio::test]
async fn every_tag_of_an_image_is_listed() {
    let fixture = Fixture::small("tagged");
    let second = crate::support::unique_name("second");
    docker(&["tag", &fixture.id, &second]);
    let list = list().await;
    let mut expected = vec![fixture.tag.clone(), second.clone()];
    expected.sort();
    assert_eq!(find(&list, &fixture.id).tags, expected);
    docker(&["rmi", &second]);
}

/// Podman lists a name given without a registry with Docker Hub's (`docker.io/library/…`);
/// Docker lists it short. Either way the list shows it as it was given.
#[tokio::test]
async fn a_hub_name_is_listed_as_it_was_given() {
    let fixture = Fixture::small("hub");
    let short = unique_short_name("hub");
    docker(&["tag", &fixture.id, &format!("docker.io/library/{short}")]);
    let tags = find(&list().await, &fixture.id).tags.clone();
    docker(&["rmi", &short]);
    let mut expected = vec![fixture.tag.clone(), short];
    expected.sort();
    assert_eq!(tags, expected);
}

#[tokio::test]
async fn a_stopped_container_marks_its_image_in_use() {
    let mut fixture = Fixture::small("used");
    fixture.create_container();
    assert!(find(&list().await, &fixture.id).in_use);
}

#[tokio::test]
async fn an_untagged_image_is_dangling() {
    let mut fixture = Fixture::small("dangling");
    let old = fixture.rebuild_leaving_dangling();
    let list = list().await;
    let dangling = find(&list, &old);
    assert!(dangling.dangling);
    assert!(dangling.tags.is_empty());
    assert!(!find(&list, &fixture.id).dangling);
}

#[tokio::test]
async fn images_come_newest_first() {
    let list = list().await;
    assert!(list.windows(2).all(|w| w[0].created >= w[1].created));
}

/// The list's "could save": a hint from the history until an audit runs, then the audit's own
/// figure, remembered for the next list (and the next run: it is kept in the data folder).
#[tokio::test]
async fn the_saving_is_hinted_by_the_history_then_measured_by_an_audit() {
    use squashbox_core::audit::audit_image;
    use squashbox_core::job::CancelToken;
    use squashbox_core::savings::Saving;

    crate::support::isolated_data_dir();
    let wasted = vec![b'w'; 300_000];
    let fixture = Fixture::build(&crate::support::FixtureSpec {
        name: "saving-hint",
        files: &[("wasted.bin", &wasted)],
        steps: &[
            "COPY wasted.bin /tmp/wasted.bin",
            "RUN [\"/bin/busybox\", \"rm\", \"/tmp/wasted.bin\"]",
        ],
    });
    let Saving::Likely(hint) = find(&list().await, &fixture.id).saving.clone() else {
        panic!("no hint for an image whose last step deletes a file");
    };
    assert_eq!(hint.step, hint.steps, "the last step deletes: {hint:?}");
    assert!(hint.command.contains("rm"), "{hint:?}");

    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let audited = audit_image(&daemon, &fixture.id, &|_| {}, &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(audited.report.reclaimable_bytes, 300_000);
    assert_eq!(
        find(&list().await, &fixture.id).saving,
        Saving::Measured {
            bytes: 300_000,
            layer_bytes: audited.report.layer_bytes
        }
    );

    let plain = Fixture::small("saving-none");
    assert_eq!(find(&list().await, &plain.id).saving, Saving::Unknown);
}
