//! A squash that is cancelled or fails removes what it made and nothing else. The case that
//! lost a user's image: squash `app:1` into `app:sq`, squash `app:sq` again, and cancel. The
//! classic builder's cache answers the second squash with images of the first (with the same
//! settings, with `app:sq`'s own ID), and those must survive every cancel.

use squashbox_core::daemon::Daemon;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::squash::{squash, MethodChoice, SourceAudit, SquashOptions, SquashPlan};
use squashbox_core::Error;
use std::collections::HashSet;
use std::sync::Mutex;

use super::squash::{prepared, run};
use crate::support::{all_image_ids, docker, docker_output, unique_name, Made};

/// When the second squash is cancelled.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CancelAt {
    BeforeTheBuild,
    /// Progress stage names, as the job reports them.
    Stage(&'static str),
}

fn id_of(name: &str) -> Option<String> {
    let output = docker_output(&["image", "inspect", "--format", "{{.Id}}", name]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Images made since `before` that belong to this squash: their filesystem is the first
/// squash's one layer (no other test's image has it: each fixture holds its own unique file),
/// or their settings hold `marker`. Other tests build at the same time, so "new" alone is not
/// "ours".
fn made_by_the_job(before: &HashSet<String>, layer: &str, marker: &str) -> Vec<String> {
    all_image_ids()
        .difference(before)
        .filter(|id| {
            let Some(seen) = inspect_fields(id) else {
                return false; // removed while we looked
            };
            seen.contains(layer) || seen.contains(marker)
        })
        .cloned()
        .collect()
}

fn inspect_fields(id: &str) -> Option<String> {
    let output = docker_output(&[
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}} {{json .Config.Env}}",
        id,
    ]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Squashes a fixture into `first`, then squashes `first` again and cancels at `at`; the
/// second squash either keeps the first's settings (`same_settings`: the cache hands back
/// the first result itself) or adds one (new step images on top of the cached copy).
async fn cancel_a_second_squash(at: CancelAt, same_settings: bool, move_tag: bool) {
    let (fixture, daemon, plan, _first_cleanup) = prepared("squash-twice").await;
    let classic = SquashOptions {
        method: MethodChoice::Classic,
        overwrite_tag: false,
        move_source_tag: false,
        keep_layers: 0,
    };
    let (first, _) = run(
        &daemon,
        &plan,
        classic,
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    let first = first.unwrap();
    assert!(first.tagged, "{:?}", first.verified);
    let first_layer = docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .RootFS.Layers 0}}",
        &first.result_id,
    ]);

    let marker = unique_name("marker").replace(['/', ':'], "-");
    let mut again = plan_for_tag(&daemon, &plan.tag).await;
    if !same_settings {
        again.env.push(squashbox_core::squash::KeyValue {
            key: "SQUASHED_AGAIN".into(),
            value: marker.clone(),
        });
    }
    let _second_cleanup = Made(again.tag.clone());
    let before = all_image_ids();
    let cancel = CancelToken::new();
    if at == CancelAt::BeforeTheBuild {
        cancel.cancel();
    }
    let made_when_cancelled = Mutex::new(None);
    let sink = |p: Progress| {
        if at == CancelAt::Stage(stage_of(&p)) && !cancel.is_cancelled() {
            *made_when_cancelled.lock().unwrap() =
                Some(made_by_the_job(&before, &first_layer, &marker));
            cancel.cancel();
        }
    };
    let options = SquashOptions {
        move_source_tag: move_tag,
        ..classic
    };
    let result = squash(
        &daemon,
        &again,
        &options,
        SourceAudit::default(),
        &sink,
        &cancel,
    )
    .await;

    assert!(
        matches!(result, Err(Error::Cancelled)),
        "{at:?}: {result:?}"
    );
    assert!(cancel.is_cancelled(), "{at:?} was reached");
    // The fixture, the first squash and their tags are all there.
    assert_eq!(id_of(&fixture.tag).as_deref(), Some(fixture.id.as_str()));
    assert_eq!(
        id_of(&plan.tag).as_deref(),
        Some(first.result_id.as_str()),
        "{at:?}: the first squash survives with its tag"
    );
    assert_eq!(id_of(&again.tag), None, "{at:?}: no tag was given");
    let left = made_by_the_job(&before, &first_layer, &marker);
    assert!(left.is_empty(), "{at:?}: the job left {left:?}");
    if !same_settings && matches!(at, CancelAt::Stage("verifying result" | "tagging")) {
        let made = made_when_cancelled.lock().unwrap().take().unwrap();
        assert!(
            !made.is_empty(),
            "{at:?}: the job had made images (or the check above proves nothing)"
        );
    }
}

fn stage_of(progress: &Progress) -> &'static str {
    [
        "building",
        "verifying source",
        "verifying result",
        "tagging",
    ]
    .into_iter()
    .find(|stage| *stage == progress.stage)
    .unwrap_or("other")
}

async fn plan_for_tag(daemon: &Daemon, tag: &str) -> SquashPlan {
    let inspect = squashbox_core::images::inspect(daemon, tag).await.unwrap();
    let mut plan = SquashPlan::from_image(&inspect, tag).unwrap();
    plan.tag = unique_name("squashed-again");
    plan
}

#[tokio::test]
async fn a_second_squash_cancelled_before_its_build_leaves_everything_as_it_was() {
    cancel_a_second_squash(CancelAt::BeforeTheBuild, false, false).await;
}

#[tokio::test]
async fn a_second_squash_cancelled_while_building_removes_only_its_own_steps() {
    cancel_a_second_squash(CancelAt::Stage("building"), false, true).await;
}

#[tokio::test]
async fn a_second_squash_cancelled_while_verifying_keeps_the_first_result_the_cache_gave_back() {
    // The case: the build's "result" is the first squash's image itself.
    cancel_a_second_squash(CancelAt::Stage("verifying result"), true, false).await;
}

#[tokio::test]
async fn a_second_squash_cancelled_while_verifying_removes_what_it_made() {
    cancel_a_second_squash(CancelAt::Stage("verifying result"), false, true).await;
}

#[tokio::test]
async fn a_second_squash_cancelled_while_tagging_gives_no_tag_and_moves_none() {
    cancel_a_second_squash(CancelAt::Stage("tagging"), false, true).await;
    cancel_a_second_squash(CancelAt::Stage("tagging"), true, false).await;
}
