//! Builds through the Engine API with both builders, on a fixture named by ID.

use squashbox_core::build::{build_dockerfile, Builder};
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::made::MadeImages;
use squashbox_core::Error;

use crate::support::{docker, docker_output, Fixture};

async fn daemon() -> Daemon {
    Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap()
}

/// Removes a built image when the test ends, however it ends.
struct Built(String);

impl Drop for Built {
    fn drop(&mut self) {
        let _ = docker_output(&["rmi", "-f", &self.0]);
    }
}

/// BuildKit reads `--from=sha256:…` as a registry name (and goes looking for it online), so it is
/// given the fixture's tag; the classic builder takes the ID.
async fn copy_build(builder: Builder) {
    let fixture = Fixture::small("build");
    let source = match builder {
        Builder::Classic => &fixture.id,
        Builder::BuildKit => &fixture.tag,
    };
    let dockerfile = format!("FROM scratch\nCOPY --from={source} / /\nENV BUILT_BY=squashbox\n");
    let steps = std::sync::Mutex::new(0);
    let daemon = daemon().await;
    let made = MadeImages::before_job(&daemon, &[]).await.unwrap();
    let id = build_dockerfile(
        &daemon,
        &dockerfile,
        builder,
        &made,
        &|_: Progress| *steps.lock().unwrap() += 1,
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let _built = Built(id.clone());
    assert!(*steps.lock().unwrap() > 0, "progress was reported");
    let env = docker(&["image", "inspect", "--format", "{{json .Config.Env}}", &id]);
    assert!(env.contains("BUILT_BY=squashbox"), "{env}");
    let layers = docker(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        &id,
    ]);
    assert_eq!(layers, "1", "the copy is one layer");
    let tags = docker(&["image", "inspect", "--format", "{{json .RepoTags}}", &id]);
    assert_eq!(tags, "[]", "the build leaves its result untagged");
}

#[tokio::test]
async fn the_classic_builder_builds_an_untagged_single_layer_copy() {
    copy_build(Builder::Classic).await;
}

#[tokio::test]
async fn buildkit_builds_an_untagged_single_layer_copy() {
    copy_build(Builder::BuildKit).await;
}

#[tokio::test]
async fn a_failing_build_is_an_error_not_an_image() {
    let missing = format!("sha256:{}", "0".repeat(64));
    let dockerfile = format!("FROM scratch\nCOPY --from={missing} / /\n");
    let daemon = daemon().await;
    let made = MadeImages::before_job(&daemon, &[]).await.unwrap();
    for builder in [Builder::Classic, Builder::BuildKit] {
        let result = build_dockerfile(
            &daemon,
            &dockerfile,
            builder,
            &made,
            &|_: Progress| {},
            &CancelToken::new(),
        )
        .await;
        assert!(
            matches!(result, Err(Error::BuildFailed(_))),
            "{builder:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_cancelled_build_stops_with_cancelled() {
    let fixture = Fixture::small("build-cancel");
    let cancel = CancelToken::new();
    cancel.cancel();
    let dockerfile = format!("FROM scratch\nCOPY --from={} / /\n", fixture.id);
    let daemon = daemon().await;
    let made = MadeImages::before_job(&daemon, &[]).await.unwrap();
    let result = build_dockerfile(
        &daemon,
        &dockerfile,
        Builder::Classic,
        &made,
        &|_: Progress| {},
        &cancel,
    )
    .await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
}

#[tokio::test]
async fn a_build_failing_after_the_copy_leaves_no_step_images() {
    let fixture = Fixture::small("build-steps");
    let marker = crate::support::unique_name("marker").replace(['/', ':'], "-");
    // The copy and the label each leave a step image before the last step fails.
    let dockerfile = format!(
        "FROM scratch\nCOPY --from={} / /\nLABEL squashbox.test.marker={marker}\nRUN [\"/bin/busybox\", \"false\"]\n",
        fixture.id
    );
    let daemon = daemon().await;
    let made = MadeImages::before_job(&daemon, &[]).await.unwrap();
    let result = build_dockerfile(
        &daemon,
        &dockerfile,
        Builder::Classic,
        &made,
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await;
    assert!(matches!(result, Err(Error::BuildFailed(_))), "{result:?}");
    let left = docker(&[
        "images",
        "-a",
        "-q",
        "--filter",
        &format!("label=squashbox.test.marker={marker}"),
    ]);
    assert_eq!(left, "", "the failed build's step images are removed");
}
