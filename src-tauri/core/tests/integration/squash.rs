//! The whole squash job against the real daemon: build, verify, tag only when verified.

use squashbox_core::audit::audit_image_with_files;
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::hold::{Hold, HOLDER_LABEL, HOLD_LABEL};
use squashbox_core::images;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::squash::{
    preflight, squash, Method, MethodChoice, SourceAudit, SquashOptions, SquashOutcome, SquashPlan,
};
use squashbox_core::Error;

use crate::support::{
    docker, docker_despite, docker_output, isolated_left_behind, podman, unique_name,
    unique_short_name, Fixture, FixtureSpec, Made,
};

pub(crate) async fn daemon() -> Daemon {
    Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap()
}

/// busybox, 40 kB written then deleted, a FIFO and some settings.
fn wasteful(name: &str) -> Fixture {
    wasteful_by(name, Fixture::build)
}

fn wasteful_by(name: &str, build: fn(&FixtureSpec) -> Fixture) -> Fixture {
    let big = vec![b'w'; 40_000];
    build(&FixtureSpec {
        name,
        files: &[("big.bin", &big)],
        steps: &[
            "COPY big.bin /tmp/big.bin",
            "RUN [\"/bin/busybox\", \"rm\", \"/tmp/big.bin\"]",
            "RUN [\"/bin/busybox\", \"mkfifo\", \"/run.fifo\"]",
            "ENV GREETING=\"hello $USER\" PATH=/bin",
            "WORKDIR /srv",
            "USER 1000:1000",
            "CMD [\"/bin/sh\"]",
        ],
    })
}

/// A `wasteful` fixture, the daemon, and a plan for the fixture whose result goes at the end.
pub(crate) async fn prepared(name: &str) -> (Fixture, Daemon, SquashPlan, Made) {
    let fixture = wasteful(name);
    let daemon = daemon().await;
    let plan = plan_for(&daemon, &fixture).await;
    let cleanup = Made(plan.tag.clone());
    (fixture, daemon, plan, cleanup)
}

pub(crate) fn options(method: MethodChoice) -> SquashOptions {
    SquashOptions {
        method,
        overwrite_tag: false,
        move_source_tag: false,
        keep_layers: 0,
    }
}

/// Runs the squash job; the stages it went through come back beside its result.
pub(crate) async fn run(
    daemon: &Daemon,
    plan: &SquashPlan,
    options: SquashOptions,
    source_audit: SourceAudit,
    cancel: &CancelToken,
) -> (Result<SquashOutcome, Error>, Vec<String>) {
    let stages = std::sync::Mutex::new(Vec::new());
    let report = |p: Progress| stages.lock().unwrap().push(p.stage);
    let result = squash(daemon, plan, &options, source_audit, &report, cancel).await;
    let mut stages = stages.into_inner().unwrap();
    stages.dedup();
    (result, stages)
}

pub(crate) async fn plan_for(daemon: &Daemon, fixture: &Fixture) -> SquashPlan {
    let inspect = images::inspect(daemon, &fixture.tag).await.unwrap();
    let mut plan = SquashPlan::from_image(&inspect, &fixture.tag).unwrap();
    plan.tag = unique_name("squashed");
    plan
}

#[tokio::test]
async fn a_classic_squash_is_one_layer_verified_and_tagged() {
    let (fixture, daemon, plan, _cleanup) = prepared("squash-classic").await;
    let (outcome, stages) = run(
        &daemon,
        &plan,
        options(MethodChoice::Classic),
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    let outcome = outcome.unwrap();

    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    assert!(outcome.tagged);
    assert_eq!(outcome.method, Method::Classic);
    assert_eq!(outcome.layers_after, 1);
    assert!(outcome.layers_before > 1);
    // The working directory exists in the copy, so WORKDIR added no layer and no note says so.
    assert!(
        outcome
            .known_differences
            .iter()
            .all(|k| k.field != "RootFS"),
        "{:?}",
        outcome.known_differences
    );
    assert!(
        outcome.size_after + 40_000 <= outcome.size_before,
        "{} vs {}",
        outcome.size_after,
        outcome.size_before
    );
    let tagged_id = docker(&["image", "inspect", "--format", "{{.Id}}", &plan.tag]);
    assert_eq!(tagged_id, outcome.result_id);
    assert_eq!(
        docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Config.User}}",
            &plan.tag
        ]),
        "1000:1000"
    );
    // The source is untouched.
    assert_eq!(
        docker(&["image", "inspect", "--format", "{{.Id}}", &fixture.tag]),
        fixture.id
    );
    // The source's read overlaps the build but shows only after it: one stage at a time.
    assert_eq!(
        stages,
        vec![
            "building",
            "verifying source",
            "verifying result",
            "tagging"
        ]
    );
    assert!(outcome.build_seconds > 0.0 && outcome.verify_seconds > 0.0);
}

/// The images held by a hold container now.
fn held_images() -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label={HOLD_LABEL}"),
        "--format",
        &format!("{{{{.Label \"{HOLD_LABEL}\"}}}}"),
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

#[tokio::test]
async fn the_result_is_held_while_it_verifies_and_let_go_after() {
    let (_fixture, daemon, plan, _cleanup) = prepared("squash-held").await;
    let held_while_verifying = std::sync::Mutex::new(Vec::new());
    let sink = |p: Progress| {
        if p.stage == "verifying result" && held_while_verifying.lock().unwrap().is_empty() {
            *held_while_verifying.lock().unwrap() = held_images();
        }
    };
    let outcome = squash(
        &daemon,
        &plan,
        &options(MethodChoice::Classic),
        SourceAudit::default(),
        &sink,
        &CancelToken::new(),
    )
    .await
    .unwrap();
    assert!(outcome.tagged, "{:?}", outcome.verified);
    assert!(
        held_while_verifying
            .lock()
            .unwrap()
            .contains(&outcome.result_id),
        "held while verifying: {:?}",
        held_while_verifying.lock().unwrap()
    );
    assert!(
        !held_images().contains(&outcome.result_id),
        "the hold is gone once the job ends"
    );
}

/// A hold whose maker is gone is removed by the next sweep; a live Squashbox's, one made on
/// another machine, and a container of the user's with the same image, stay.
#[tokio::test]
async fn a_sweep_removes_only_the_holds_a_dead_squashbox_left() {
    let fixture = Fixture::small("swept");
    let daemon = daemon().await;
    // A hold of this (live) process, whose label says how this machine is named.
    let live = Hold::take(&daemon, &fixture.id).await.unwrap();
    let live_id = live.container_id().to_owned();
    let label = format!("{{{{index .Config.Labels \"{HOLDER_LABEL}\"}}}}");
    let maker = docker(&["container", "inspect", "--format", &label, &live_id]);
    let this_host = maker.rsplitn(3, '/').nth(2).unwrap().to_owned();
    // A process that has ended: its PID names no Squashbox now.
    let mut ended = std::process::Command::new("true").spawn().unwrap();
    let gone = ended.id();
    ended.wait().unwrap();
    let hold = |maker: &str| {
        docker(&[
            "create",
            "--label",
            &format!("{HOLD_LABEL}={}", fixture.id),
            "--label",
            &format!("{HOLDER_LABEL}={maker}"),
            &fixture.id,
            "/squashbox-hold",
        ])
    };
    let dead = hold(&format!("{this_host}/{gone}/1"));
    let elsewhere = hold(&format!("another-{this_host}/{gone}/1"));
    let users = docker(&["create", &fixture.id, "/x"]);
    // Any squash another test runs meanwhile sweeps as well: what is left is the check.
    squashbox_core::hold::sweep(&daemon).await.unwrap();
    let exists = |id: &str| {
        docker_output(&["container", "inspect", id])
            .status
            .success()
    };
    let left = [&dead, &elsewhere, &users, &live_id].map(|id| exists(id));
    live.release(&daemon).await;
    for id in [&elsewhere, &users] {
        docker_output(&["rm", "-f", id]);
    }
    assert_eq!(
        left,
        [false, true, true, true],
        "dead, elsewhere, the user's, live"
    );
}

/// What the hold is for: an untagged image that a prune elsewhere would take. The prune is
/// narrowed to this test's own image by a label, so it touches nothing else on the daemon.
#[tokio::test]
async fn a_held_image_survives_a_prune_run_elsewhere() {
    let label = unique_name("held").replace(['/', ':'], "-");
    let mut fixture = Fixture::build(&FixtureSpec {
        name: "squash-hold",
        files: &[],
        steps: &[&format!("LABEL squashbox.test.held={label}")],
    });
    // Dangling now, as an unverified result is.
    let id = fixture.rebuild_leaving_dangling();
    // Podman's prune, like its image list, fails whole when another test removes an image
    // while it reads them ("locating image with ID …: image not known").
    let prune = || {
        docker_despite(
            &[
                "image",
                "prune",
                "-f",
                "--filter",
                &format!("label=squashbox.test.held={label}"),
            ],
            &["image not known"],
            5,
        )
    };
    let daemon = daemon().await;
    let hold = Hold::take(&daemon, &id).await.unwrap();
    prune();
    let still_there = docker_output(&["image", "inspect", &id]).status.success();
    hold.release(&daemon).await;
    assert!(still_there, "the held image survived the prune");
    assert!(!held_images().contains(&id), "released");
    prune();
    assert!(
        !docker_output(&["image", "inspect", &id]).status.success(),
        "once let go, the same prune takes it (so the check above could fail)"
    );
}

#[tokio::test]
async fn an_audit_with_files_spares_the_verification_a_second_read() {
    let (fixture, daemon, plan, _cleanup) = prepared("squash-audited").await;
    let cancel = CancelToken::new();
    let (audited, files) =
        audit_image_with_files(&daemon, &fixture.tag, &|_: Progress| {}, &cancel)
            .await
            .unwrap();
    assert_eq!(audited.report.special_files.fifos, 1);
    let source_audit = SourceAudit::of(&audited.report, Some(files));
    let (outcome, stages) = run(
        &daemon,
        &plan,
        options(MethodChoice::MultiStage),
        source_audit,
        &cancel,
    )
    .await;
    let outcome = outcome.unwrap();
    // The FIFO the audit found keeps the multi-stage squash on the classic builder, which
    // verifies.
    assert_eq!(outcome.method, Method::Classic);
    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    assert_eq!(stages, vec!["building", "verifying result", "tagging"]);
}

#[tokio::test]
async fn moving_the_source_tag_leaves_the_source_dangling_and_remembered() {
    let record = isolated_left_behind();
    let (fixture, daemon, plan, _cleanup) = prepared("squash-move").await;
    let (outcome, _) = run(
        &daemon,
        &plan,
        SquashOptions {
            move_source_tag: true,
            ..options(MethodChoice::Classic)
        },
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    let outcome = outcome.unwrap();

    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    assert_eq!(outcome.moved_tag.as_deref(), Some(fixture.tag.as_str()));
    let id_of = |name: &str| docker(&["image", "inspect", "--format", "{{.Id}}", name]);
    assert_eq!(id_of(&fixture.tag), outcome.result_id);
    assert_eq!(id_of(&plan.tag), outcome.result_id);
    // The source is still there, by ID, with no name: the prune's to offer.
    assert_eq!(id_of(&fixture.id), fixture.id);
    assert_eq!(outcome.left_behind, vec![fixture.id.clone()]);
    assert_eq!(
        record.left_by().get(&fixture.id),
        Some(&fixture.tag),
        "the left-behind record remembers which squash left it"
    );
    let preview = squashbox_core::prune::preview_images(&daemon)
        .await
        .unwrap();
    let candidate = preview.images.iter().find(|i| i.id == fixture.id).unwrap();
    assert_eq!(candidate.left_by.as_deref(), Some(fixture.tag.as_str()));
}

/// Podman lists what `podman build -t web:1` makes as `localhost/web:1`, and the list shows it as
/// `web:1`, the name the user typed; Docker lists `localhost/web:1` as it is, a registry's name.
/// Either way, the source chosen by the name the list shows has that name moved.
#[tokio::test]
async fn moving_a_local_name_moves_the_one_the_list_shows() {
    let _record = isolated_left_behind();
    let fixture = wasteful("squash-move-local");
    let short = unique_short_name("local");
    let local = format!("localhost/{short}");
    docker(&["tag", &fixture.id, &local]);
    let _local_cleanup = Made(local.clone());
    let daemon = daemon().await;
    let listed = images::list(&daemon).await.unwrap();
    let shown = listed
        .iter()
        .find(|i| i.id == fixture.id)
        .and_then(|i| i.tags.iter().find(|t| t.ends_with(short.as_str())))
        .unwrap_or_else(|| panic!("{local} is listed"))
        .clone();
    let inspect = images::inspect(&daemon, &shown).await.unwrap();
    let mut plan = SquashPlan::from_image(&inspect, &shown).unwrap();
    plan.tag = unique_name("squashed");
    let _cleanup = Made(plan.tag.clone());
    let (outcome, _) = run(
        &daemon,
        &plan,
        SquashOptions {
            move_source_tag: true,
            ..options(MethodChoice::Classic)
        },
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    let outcome = outcome.unwrap();

    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    assert_eq!(outcome.moved_tag.as_deref(), Some(shown.as_str()));
    let id_of = |name: &str| docker(&["image", "inspect", "--format", "{{.Id}}", name]);
    assert_eq!(id_of(&local), outcome.result_id);
    assert_eq!(
        id_of(&fixture.tag),
        fixture.id,
        "the source keeps its other name"
    );
    assert!(outcome.left_behind.is_empty(), "{:?}", outcome.left_behind);
}

#[tokio::test]
async fn moving_the_tag_of_a_source_chosen_by_id_is_refused_before_anything_is_built() {
    let fixture = wasteful("squash-move-id");
    let daemon = daemon().await;
    let inspect = images::inspect(&daemon, &fixture.id).await.unwrap();
    let mut plan = SquashPlan::from_image(&inspect, &fixture.id).unwrap();
    plan.tag = unique_name("squashed");
    let (err, _) = run(
        &daemon,
        &plan,
        SquashOptions {
            move_source_tag: true,
            ..options(MethodChoice::Classic)
        },
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    let err = err.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("not a tag of the source")),
        "{err:?}"
    );
    assert!(!docker_output(&["image", "inspect", &plan.tag])
        .status
        .success());
}

#[tokio::test]
async fn buildkit_on_a_fifo_is_tagged_only_where_it_keeps_the_fifo() {
    let (_fixture, daemon, plan, _cleanup) = prepared("squash-kit").await;
    let (outcome, _) = run(
        &daemon,
        &plan,
        options(MethodChoice::BuildKit),
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    if podman() {
        // Buildah would build it and keep the FIFO: not what was chosen.
        assert!(
            matches!(&outcome, Err(Error::InvalidInput(why)) if why.contains("no BuildKit")),
            "{outcome:?}"
        );
        return;
    }
    let outcome = outcome.unwrap();
    // Engine 20.10's BuildKit drops the FIFO from its copy; 28.5's keeps it (seen in the
    // result's `docker save`).
    if !daemon.info().engine_version.starts_with("20.") {
        assert!(outcome.verified.passed, "{:?}", outcome.verified);
        assert!(outcome.tagged);
        return;
    }
    assert!(!outcome.verified.passed);
    assert!(
        outcome
            .verified
            .filesystem
            .iter()
            .any(|d| d.path.contains("run.fifo")),
        "{:?}",
        outcome.verified
    );
    assert!(!outcome.tagged);
    assert!(
        !docker_output(&["image", "inspect", &plan.tag])
            .status
            .success(),
        "no tag"
    );
    assert!(
        !docker_output(&["image", "inspect", &outcome.result_id])
            .status
            .success(),
        "the result was removed"
    );
}

#[tokio::test]
async fn a_taken_tag_is_refused_without_confirmation() {
    let fixture = wasteful("squash-taken");
    let other = Fixture::small("squash-other");
    let daemon = daemon().await;
    let mut plan = plan_for(&daemon, &fixture).await;
    plan.tag = other.tag.clone();
    let (result, _) = run(
        &daemon,
        &plan,
        options(MethodChoice::Classic),
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    assert!(matches!(result, Err(Error::InvalidInput(_))), "{result:?}");
    assert_eq!(
        docker(&["image", "inspect", "--format", "{{.Id}}", &other.tag]),
        other.id,
        "the tag did not move"
    );
}

#[tokio::test]
async fn a_cancelled_squash_leaves_no_tag() {
    let (_fixture, daemon, plan, _cleanup) = prepared("squash-cancel").await;
    let cancel = CancelToken::new();
    cancel.cancel();
    let (result, _) = run(
        &daemon,
        &plan,
        options(MethodChoice::Classic),
        SourceAudit::default(),
        &cancel,
    )
    .await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(!docker_output(&["image", "inspect", &plan.tag])
        .status
        .success());
}

#[tokio::test]
async fn preflight_names_the_builder_a_taken_tag_and_buildkit_without_a_tag() {
    let fixture = wasteful("squash-preflight");
    let daemon = daemon().await;
    let mut plan = plan_for(&daemon, &fixture).await;

    let clear = preflight(
        &daemon,
        &plan,
        MethodChoice::MultiStage,
        SourceAudit::default(),
    )
    .await
    .unwrap();
    // No audit: a multi-stage squash keeps to the builder that loses nothing.
    assert_eq!(clear.method.method, Method::Classic);
    assert_eq!(clear.tag_taken_by, None);
    assert!(clear.bytes_needed > 0);

    plan.tag = fixture.tag.clone();
    let taken = preflight(
        &daemon,
        &plan,
        MethodChoice::Classic,
        SourceAudit::default(),
    )
    .await
    .unwrap();
    // Said by whoever asks (the window's confirm, the CLI's note), not as a warning: the
    // guided squash moves the source's own name on purpose.
    assert_eq!(taken.tag_taken_by.as_deref(), Some(fixture.id.as_str()));
    assert!(taken.warnings.is_empty(), "{:?}", taken.warnings);

    let mut fixture = fixture;
    let dangling = fixture.rebuild_leaving_dangling();
    let inspect = images::inspect(&daemon, &dangling).await.unwrap();
    let mut by_id = SquashPlan::from_image(&inspect, &dangling).unwrap();
    by_id.tag = unique_name("squashed");
    let untagged = preflight(
        &daemon,
        &by_id,
        MethodChoice::BuildKit,
        SourceAudit::default(),
    )
    .await
    .unwrap();
    assert_eq!(untagged.method.method, Method::BuildKit);
    assert!(
        untagged
            .warnings
            .iter()
            .any(|w| w.contains("needs the image to have a tag")),
        "{:?}",
        untagged.warnings
    );
}

#[tokio::test]
async fn a_multi_stage_squash_is_refused_up_front_where_it_cannot_be_exact() {
    // Its RUN steps run by the classic builder, on every engine.
    let fixture = wasteful_by("squash-refused", Fixture::build_classic);
    let daemon = daemon().await;
    let plan = plan_for(&daemon, &fixture).await;
    let _cleanup = Made(plan.tag.clone());
    let (outcome, stages) = run(
        &daemon,
        &plan,
        options(MethodChoice::Classic),
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    if daemon.info().containerd_store {
        assert!(
            matches!(&outcome, Err(Error::InvalidInput(why)) if why.contains("/.dockerenv")),
            "{outcome:?}"
        );
        assert_eq!(stages, Vec::<String>::new(), "nothing was built");
        let warned = preflight(
            &daemon,
            &plan,
            MethodChoice::Classic,
            SourceAudit::default(),
        )
        .await
        .unwrap();
        assert!(
            warned.warnings.iter().any(|w| w.contains("direct method")),
            "{warned:?}"
        );
    } else {
        // overlay2 and Podman copy the layers' files only.
        assert!(outcome.unwrap().verified.passed);
    }
}
