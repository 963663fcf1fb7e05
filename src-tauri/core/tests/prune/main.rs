//! Prune against the real daemon. A test binary of its own: it compares the daemon's disk usage
//! before and after, which the integration tests change as they build fixtures, and Cargo runs
//! test binaries one after another.

#![cfg(unix)]

use squashbox_test_support as support;

use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::{Environment, Route};
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::prune;
use squashbox_core::squash::{squash, MethodChoice, SourceAudit, SquashOptions, SquashPlan};

use support::{daemon_reclaimed, docker, docker_output, Fixture, FixtureSpec};

/// The tests here build images too: one at a time, so none lands between another's before and
/// after.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fixture with a layer of its own (`size` bytes no other image has), then rebuilt under the
/// same tag so that first image is left dangling. Returns the fixture and the dangling ID.
fn dangling_with_unique_bytes(name: &str, size: usize) -> (Fixture, String) {
    let unique: Vec<u8> = (0..size).map(|i| (i * 7 + name.len()) as u8).collect();
    let mut fixture = Fixture::build(&FixtureSpec {
        name,
        files: &[("unique.bin", &unique)],
        steps: &["COPY unique.bin /unique.bin"],
    });
    let dangling = fixture.rebuild_leaving_dangling();
    (fixture, dangling)
}

#[tokio::test]
async fn prune_removes_what_the_preview_listed_and_spares_tagged_and_used_images() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (_first, gone_a) = dangling_with_unique_bytes("prune-a", 300_000);
    let (_second, gone_b) = dangling_with_unique_bytes("prune-b", 200_000);
    let (mut used_fixture, used_dangling) = dangling_with_unique_bytes("prune-used", 50_000);
    let container = docker(&["create", &used_dangling, "/bin/sh"]);
    let tagged = Fixture::small("prune-tagged");

    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let preview = prune::preview_images(&daemon).await.unwrap();
    let listed: Vec<&str> = preview.images.iter().map(|i| i.id.as_str()).collect();
    assert!(
        listed.contains(&gone_a.as_str()) && listed.contains(&gone_b.as_str()),
        "{listed:?}"
    );
    assert!(
        !listed.contains(&used_dangling.as_str()),
        "an image a container uses is not offered"
    );
    assert!(
        !listed.contains(&tagged.id.as_str()),
        "a tagged image is not offered"
    );
    assert!(preview.kept_in_use >= 1);
    let unique_a = preview
        .images
        .iter()
        .find(|i| i.id == gone_a)
        .unwrap()
        .unique_size;
    assert!(unique_a >= 300_000, "{unique_a}");

    // Also ask for the two that must survive, as a stale preview might: they are left.
    let ids = vec![
        gone_a.clone(),
        gone_b.clone(),
        used_dangling.clone(),
        tagged.id.clone(),
    ];
    // Read as the core reads it: on the containerd store, until two readings agree (its garbage
    // collection frees removed content in the background).
    let images_usage = || support::daemon_df_settled("type=image&verbose=1");
    let before = images_usage();
    let progress = std::sync::Mutex::new(Vec::new());
    let result = prune::prune_images(
        &daemon,
        &ids,
        &|p: Progress| progress.lock().unwrap().push(p.done),
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let after = images_usage();

    assert!(result.images_deleted.contains(&gone_a), "{result:?}");
    assert!(result.images_deleted.contains(&gone_b), "{result:?}");
    let skipped: Vec<&str> = result.skipped.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(skipped, vec![used_dangling.as_str(), tagged.id.as_str()]);
    assert!(!docker_output(&["image", "inspect", &gone_a])
        .status
        .success());
    docker(&["image", "inspect", &used_dangling]);
    docker(&["image", "inspect", &tagged.id]);
    assert_eq!(
        result.space_reclaimed,
        daemon_reclaimed(&before, &after, &result.images_deleted),
        "the daemon's own figures"
    );
    assert!(
        result.space_reclaimed >= 500_000,
        "{}",
        result.space_reclaimed
    );
    assert_eq!(*progress.lock().unwrap().last().unwrap(), 4);

    docker(&["rm", &container]);
    used_fixture.rebuild_leaving_dangling();
}

/// Here, where the tests take turns: while the integration tests build and remove fixtures the
/// daemon's total seldom holds still for long enough (seen on Engine 28.5).
#[tokio::test]
async fn images_disk_bytes_match_the_daemons_own_figure() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let _fixture = Fixture::small("df");
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    // The comparison counts only when the daemon's own figure is the same just before and just
    // after ours was taken (the daemon may still be settling a removal).
    for _ in 0..20 {
        let before = support::daemon_images_bytes();
        let ours = squashbox_core::images::disk_bytes(&daemon).await.unwrap();
        let after = support::daemon_images_bytes();
        if before == after {
            assert_eq!(ours, before);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the daemon's images total never held still across 20 reads");
}

/// The daemon refuses a second `/system/df` while one runs ("a disk usage operation is already
/// running"); the clean-up view asks for the overview and the preview at once.
#[tokio::test]
async fn disk_usage_questions_asked_at_once_all_get_answers() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let (usage, preview, images) = tokio::join!(
        squashbox_core::disk::usage(&daemon),
        prune::preview_images(&daemon),
        squashbox_core::images::disk_bytes(&daemon),
    );
    let usage = usage.unwrap();
    preview.unwrap();
    assert_eq!(usage.images.size, images.unwrap());
    // This machine's disk is shown for a daemon on a socket of this machine; over TCP, TLS or
    // ssh (scripts/test-remote.sh) the figures are only the daemon's own df.
    let on_a_local_socket = matches!(daemon.info().route, Route::Socket { .. });
    assert_eq!(
        usage.host_disk.is_some(),
        on_a_local_socket,
        "{:?}",
        daemon.info().route
    );
}

/// Build-cache records on the daemon, by the daemon's own count (`docker system df`'s).
fn build_cache_records() -> usize {
    let df = support::daemon_df("type=build-cache");
    match df["BuildCacheUsage"]["TotalCount"].as_u64() {
        // API ≥ 1.52
        Some(count) => count as usize,
        None => df["BuildCache"].as_array().map_or(0, Vec::len),
    }
}

#[tokio::test]
async fn a_buildkit_squash_leaves_no_build_cache_behind() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let fixture = Fixture::small("prune-kit-cache");
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let inspect = squashbox_core::images::inspect(&daemon, &fixture.tag)
        .await
        .unwrap();
    let mut plan = SquashPlan::from_image(&inspect, &fixture.tag).unwrap();
    plan.tag = support::unique_name("kit-squashed");
    let options = SquashOptions {
        method: MethodChoice::BuildKit,
        overwrite_tag: false,
        move_source_tag: false,
        keep_layers: 0,
    };
    let before = build_cache_records();
    let outcome = squash(
        &daemon,
        &plan,
        &options,
        SourceAudit::default(),
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await;
    let after = build_cache_records();
    let _ = docker_output(&["rmi", "-f", &plan.tag]);
    if support::podman() {
        // Podman has no BuildKit (nor its cache): the squash is refused before anything is built.
        assert!(
            matches!(&outcome, Err(squashbox_core::Error::InvalidInput(why)) if why.contains("no BuildKit")),
            "{outcome:?}"
        );
        assert_eq!(after, before);
        return;
    }
    assert!(outcome.unwrap().verified.passed);
    // The copy's snapshot is as large as the image, and the source's layers get records too.
    assert_eq!(after, before, "the squash's build-cache records are freed");
}

/// Here, not with the other squash tests: "new since the start" means "made by this squash"
/// only while nothing else builds, and the tests of this binary take turns.
#[tokio::test]
async fn a_squash_cancelled_in_the_middle_of_its_copy_leaves_no_image_behind() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Large enough that the copy takes the daemon a while, so the cancel lands inside it.
    let big: Vec<u8> = (0..150_000_000u32).map(|i| (i % 251) as u8).collect();
    let fixture = Fixture::build(&FixtureSpec {
        name: "prune-mid-copy",
        files: &[("big.bin", &big)],
        steps: &["ENV A=1"],
    });
    drop(big);
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let inspect = squashbox_core::images::inspect(&daemon, &fixture.tag)
        .await
        .unwrap();
    let mut plan = SquashPlan::from_image(&inspect, &fixture.tag).unwrap();
    plan.tag = support::unique_name("mid-copy-squashed");
    let before = support::all_image_ids();
    let cancel = CancelToken::new();
    let stages = std::sync::Mutex::new(Vec::new());
    // Podman's build stream has no "Step k/n" lines: there the cancel comes as the build starts.
    let podman = support::podman();
    let sink = |p: Progress| {
        // "Step 2/n": the copy has begun.
        let copying = p.done == 2 && p.total.is_some();
        if p.stage == "building" && (copying || podman) {
            cancel.cancel();
        }
        stages.lock().unwrap().push(p.stage);
    };
    let options = SquashOptions {
        method: MethodChoice::Classic,
        overwrite_tag: false,
        move_source_tag: false,
        keep_layers: 0,
    };
    let result = squash(
        &daemon,
        &plan,
        &options,
        SourceAudit::default(),
        &sink,
        &cancel,
    )
    .await;
    assert!(
        matches!(result, Err(squashbox_core::Error::Cancelled)),
        "{result:?}"
    );
    assert!(cancel.is_cancelled(), "the copy step was reached");
    assert!(
        podman || stages.lock().unwrap().iter().any(|s| s == "finishing step"),
        "the cancel waited for the copy"
    );
    let left: Vec<String> = support::all_image_ids()
        .difference(&before)
        .cloned()
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!docker_output(&["image", "inspect", &plan.tag])
        .status
        .success());
}

/// An ID for the clean-up is put into a URL path: one that climbs out of `/images/` must be
/// refused before anything reaches the daemon.
#[tokio::test]
async fn prune_refuses_an_id_that_is_not_an_image_id() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut fixture = Fixture::small("prune-traversal");
    let name = support::unique_name("victim").replace(['/', ':'], "-");
    let container = fixture.create_named_container(&name);
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    for id in [
        format!("../containers/{name}"),
        format!("sha256:../../containers/{name}"),
        format!("{}/../../containers/{name}", fixture.id),
    ] {
        let result = prune::prune_images(
            &daemon,
            std::slice::from_ref(&id),
            &|_: Progress| {},
            &CancelToken::new(),
        )
        .await;
        assert!(
            matches!(result, Err(squashbox_core::Error::InvalidInput(_))),
            "{id}: {result:?}"
        );
    }
    assert_eq!(
        docker(&["container", "inspect", "--format", "{{.Id}}", &name]),
        container,
        "the container is still there"
    );
}
