//! The direct method on the real daemon: the one layer Squashbox writes and loads holds the
//! source's filesystem exactly, read back from the daemon (not from what was sent), and a
//! cancel leaves nothing behind.

use squashbox_core::audit::{
    audit_image_with_files, compare, snapshot_image, EntryKind, FsSnapshot, MtimeCheck,
};
use squashbox_core::daemon::Daemon;
use squashbox_core::images;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::squash::{squash, Method, MethodChoice, SourceAudit, SquashPlan};
use squashbox_core::Error;
use std::sync::Mutex;

use super::squash::{daemon, options, plan_for, prepared, run};
use super::verify::{source_fixture, NET_RAW};
use crate::support::{
    all_image_ids, docker, docker_output, import_layer, podman, unique_name, xattr_image, Made,
};

async fn read(daemon: &Daemon, image: &str) -> FsSnapshot {
    snapshot_image(
        daemon,
        image,
        "reading",
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await
    .unwrap()
}

/// The source's and the result's files, both read from the daemon, are the same entry by
/// entry (the root's own entry too) and to the nanosecond.
async fn assert_identical(daemon: &Daemon, source: &str, result: &str) -> FsSnapshot {
    let (source, result) = (read(daemon, source).await, read(daemon, result).await);
    let compared = compare(&source, &result, MtimeCheck::Exact, &CancelToken::new()).unwrap();
    assert_eq!(compared.differences, vec![]);
    assert_eq!(compared.mtimes_let_through, vec![]);
    for (path, entry) in &source.entries {
        assert_eq!(result.entries[path].mtime, entry.mtime, "{path}");
    }
    result
}

#[tokio::test]
async fn a_direct_squash_is_one_layer_identical_to_its_source() {
    let daemon = daemon().await;
    let (fixture, _capability) = source_fixture();
    let plan = plan_for(&daemon, &fixture).await;
    let _cleanup = Made(plan.tag.clone());
    let cancel = CancelToken::new();
    let (outcome, stages) = run(
        &daemon,
        &plan,
        options(MethodChoice::Direct),
        SourceAudit::default(),
        &cancel,
    )
    .await;
    let outcome = outcome.unwrap();
    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    assert_eq!(outcome.method, Method::Direct);
    assert!(outcome.tagged);
    assert_eq!(outcome.layers_after, 1);
    assert_eq!(outcome.known_differences, vec![]);
    assert_eq!(stages, vec!["reading source", "squashing", "tagging"]);

    let result = assert_identical(&daemon, &fixture.id, &plan.tag).await;
    // What BuildKit loses and the classic builder keeps, the direct method keeps too.
    assert_eq!(result.entries["/fifo"].kind, EntryKind::Fifo);
    if !podman() {
        assert_eq!(
            result.entries["/dev-null"].kind,
            EntryKind::CharDevice { major: 1, minor: 3 }
        );
    }
    assert_eq!(result.entries["/caps/capped"].capability(), Some(NET_RAW));
    // The settings the plan carries, as the daemon stored them.
    let env = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &plan.tag,
    ]);
    let source_env = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &fixture.id,
    ]);
    assert_eq!(env, source_env);
    let history = docker(&[
        "image",
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        &plan.tag,
    ]);
    assert!(history.contains("squashed into one"), "{history}");
}

#[tokio::test]
async fn a_direct_squash_keeps_what_a_builders_copy_loses() {
    // A root entry with a mode and an xattr, a file with a user xattr (the classic copy loses
    // all three: see verify.rs).
    let daemon = daemon().await;
    let source = xattr_image();
    let inspect = images::inspect(&daemon, &source.0).await.unwrap();
    let mut plan = SquashPlan::from_image(&inspect, &source.0).unwrap();
    plan.tag = unique_name("direct-xattr");
    let _cleanup = Made(plan.tag.clone());
    let (outcome, _) = run(
        &daemon,
        &plan,
        options(MethodChoice::Auto),
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.method, Method::Direct, "Auto is direct");
    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    let result = assert_identical(&daemon, &source.0, &plan.tag).await;
    let root = result.root.expect("the root entry is in the layer");
    assert_eq!(root.mode, 0o700);
    assert_eq!(root.xattrs["user.origin"], b"root");
}

#[tokio::test]
async fn sub_second_times_survive_a_direct_squash() {
    // An imported layer whose times have fractions of a second, as a tar written elsewhere has.
    let name = unique_name("fraction");
    let source = imported(&[
        ("a", name.as_bytes(), "1700000000.5"),
        ("dir/b", name.as_bytes(), "1600000000.123456789"),
    ]);
    let daemon = daemon().await;
    let before = read(&daemon, &source.0).await;
    assert_eq!(
        before.entries["/dir/b"].mtime.unwrap().nanos,
        123_456_789,
        "the daemon kept them"
    );

    let (result, _cleanup, _) = squash_directly(&source.0, "direct-fraction").await;
    assert_eq!(result.entries["/a"].mtime.unwrap().nanos, 500_000_000);
}

/// What the window does: an audit with files of `image`, then the squash of `plan` with
/// `options`, guided by it. Returns the outcome and the stages the squash went through.
async fn squash_after_an_audit(
    daemon: &Daemon,
    image: &str,
    plan: &SquashPlan,
    options: squashbox_core::squash::SquashOptions,
) -> (squashbox_core::squash::SquashOutcome, Vec<String>) {
    let cancel = CancelToken::new();
    let (audited, files) = audit_image_with_files(daemon, image, &|_: Progress| {}, &cancel)
        .await
        .unwrap();
    let source_audit = SourceAudit::of(&audited.report, Some(files));
    let (outcome, stages) = run(daemon, plan, options, source_audit, &cancel).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.method, Method::Direct);
    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    (outcome, stages)
}

#[tokio::test]
async fn an_audit_with_files_is_the_direct_squashs_first_reading() {
    let (fixture, daemon, plan, _cleanup) = prepared("direct-audited").await;
    let (outcome, stages) =
        squash_after_an_audit(&daemon, &fixture.tag, &plan, options(MethodChoice::Auto)).await;
    assert_eq!(
        stages,
        vec!["squashing", "tagging"],
        "no second read of the source first"
    );
    assert_eq!(outcome.layers_after, 1);
    assert_identical(&daemon, &fixture.id, &plan.tag).await;
}

#[tokio::test]
async fn keeping_the_base_image_the_audit_found_needs_no_reading_of_the_source_first() {
    let fixture = crate::support::Fixture::build(&crate::support::FixtureSpec {
        name: "direct-base",
        files: &[("app.txt", b"the image's own file\n")],
        steps: &["CMD [\"/bin/sh\"]", "COPY app.txt /app.txt"],
    });
    let daemon = daemon().await;
    let plan = plan_for(&daemon, &fixture).await;
    let _cleanup = Made(plan.tag.clone());
    let layers = docker(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        &fixture.id,
    ]);
    let base: u32 = layers.parse::<u32>().unwrap() - 1;
    let keep_base = squashbox_core::squash::SquashOptions {
        keep_layers: base,
        ..options(MethodChoice::Auto)
    };
    let (outcome, stages) = squash_after_an_audit(&daemon, &fixture.tag, &plan, keep_base).await;
    assert_eq!(
        stages,
        vec!["squashing", "tagging"],
        "the audit's base reused"
    );
    assert_eq!(outcome.layers_after, base + 1);
    assert_identical(&daemon, &fixture.id, &plan.tag).await;
}

#[tokio::test]
async fn a_cancelled_direct_squash_leaves_no_image_and_no_tag() {
    // Big enough that the load is still under way when the cancel comes, and random: the
    // containerd store saves layers compressed, and zeros would save as a few kilobytes.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let big: Vec<u8> = (0..64 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let fixture = crate::support::Fixture::build(&crate::support::FixtureSpec {
        name: "direct-cancel",
        files: &[("big.bin", &big)],
        steps: &["COPY big.bin /big.bin"],
    });
    let daemon = daemon().await;
    let plan = plan_for(&daemon, &fixture).await;
    let _cleanup = Made(plan.tag.clone());
    let cancel = CancelToken::new();
    let seen = Mutex::new(Vec::new());
    let since = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs();
    let report = |p: Progress| {
        // Halfway through the container's export, which the layer is written from.
        if p.stage == "squashing" && p.done > 32 * 1024 * 1024 {
            cancel.cancel();
        }
        seen.lock().unwrap().push(p.stage);
    };
    let result = squash(
        &daemon,
        &plan,
        &options(MethodChoice::Direct),
        SourceAudit::default(),
        &report,
        &cancel,
    )
    .await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(seen.lock().unwrap().iter().any(|s| s == "squashing"));
    // The container exported is gone too.
    assert_eq!(export_containers(&fixture.id, since), (1, 0));
    assert!(!docker_output(&["image", "inspect", &plan.tag])
        .status
        .success());
    // The history entry the direct method writes names the source: no image has it.
    let marker = format!("of {} squashed", plan.source_name);
    for id in all_image_ids() {
        let history = docker_output(&[
            "image",
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}}",
            &id,
        ]);
        let history = String::from_utf8_lossy(&history.stdout);
        assert!(
            !history.contains(&marker),
            "{id} was left behind: {history}"
        );
    }
}

#[tokio::test]
async fn a_partial_squash_keeps_the_first_layers_as_they_are() {
    let (fixture, daemon, plan, _cleanup) = prepared("direct-partial").await;
    let layers = |image: &str| -> Vec<String> {
        let listed = docker(&[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            image,
        ]);
        serde_json::from_str(&listed).unwrap()
    };
    let source_layers = layers(&fixture.id);
    assert!(source_layers.len() >= 4, "{source_layers:?}");
    let keep_two = squashbox_core::squash::SquashOptions {
        keep_layers: 2,
        ..options(MethodChoice::Auto)
    };
    let since = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs();
    let (outcome, _) = run(
        &daemon,
        &plan,
        keep_two,
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    let outcome = outcome.unwrap();
    assert!(outcome.verified.passed, "{:?}", outcome.verified);
    assert_eq!(outcome.layers_after, 3);
    let result_layers = layers(&plan.tag);
    assert_eq!(result_layers[..2], source_layers[..2], "kept byte for byte");
    // The new layer's bytes came from an export, the kept layers from the saved image.
    let (exported, left) = export_containers(&fixture.id, since);
    assert!(
        exported >= 1 && left == 0,
        "{exported} exported, {left} left"
    );
    assert_identical(&daemon, &fixture.id, &plan.tag).await;

    // Only the direct method keeps layers.
    let refused = squash(
        &daemon,
        &plan,
        &squashbox_core::squash::SquashOptions {
            keep_layers: 2,
            overwrite_tag: true,
            ..options(MethodChoice::Classic)
        },
        SourceAudit::default(),
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await;
    assert!(
        matches!(refused, Err(Error::InvalidInput(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn auto_leaves_names_that_are_not_utf8_to_the_multi_stage_method() {
    use std::os::unix::ffi::OsStrExt;
    let mut layer = tar::Builder::new(Vec::new());
    let marker = unique_name("latin1");
    for name in [b"caf\xe9".as_slice(), b"marker".as_slice()] {
        let mut header = tar::Header::new_gnu();
        header.set_path(std::ffi::OsStr::from_bytes(name)).unwrap();
        header.set_size(marker.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        layer.append(&header, marker.as_bytes()).unwrap();
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), layer.into_inner().unwrap()).unwrap();
    let source = Made(import_layer(file.path()));
    let daemon = daemon().await;
    let inspect = images::inspect(&daemon, &source.0).await.unwrap();
    let mut plan = SquashPlan::from_image(&inspect, &source.0).unwrap();
    plan.tag = unique_name("latin1-squashed");
    let _cleanup = Made(plan.tag.clone());
    let cancel = CancelToken::new();
    let (audited, files) = audit_image_with_files(&daemon, &source.0, &|_: Progress| {}, &cancel)
        .await
        .unwrap();
    let source_audit = SourceAudit::of(&audited.report, Some(files));
    let (direct, _) = run(
        &daemon,
        &plan,
        options(MethodChoice::Direct),
        source_audit.clone(),
        &cancel,
    )
    .await;
    assert!(
        matches!(&direct, Err(Error::InvalidInput(why)) if why.contains("not UTF-8")),
        "{direct:?}"
    );
    assert!(!docker_output(&["image", "inspect", &plan.tag])
        .status
        .success());
    let (auto, _) = run(
        &daemon,
        &plan,
        options(MethodChoice::Auto),
        source_audit,
        &cancel,
    )
    .await;
    let auto = auto.unwrap();
    assert_ne!(auto.method, Method::Direct);
    assert!(auto.tagged);
}

/// How many containers were made from `image` to be exported (the hold's label names the
/// image) since `since`, a Unix time, and how many of them are still there.
fn export_containers(image: &str, since: u64) -> (usize, usize) {
    let label = format!("label={}={image}", squashbox_core::hold::HOLD_LABEL);
    let now = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs() + 1;
    let created = docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &now.to_string(),
        "--filter",
        "type=container",
        "--filter",
        "event=create",
        "--filter",
        &label,
        "--format",
        "{{.ID}}",
    ]);
    let left = docker(&["ps", "-a", "-q", "--filter", &label]);
    (created.lines().count(), left.lines().count())
}

/// An image of one layer, imported, holding `files`: path, content and modification time (in
/// seconds, a fraction going into a PAX record as other tools write it).
fn imported(files: &[(&str, &[u8], &str)]) -> Made {
    let mut layer = tar::Builder::new(Vec::new());
    for (path, content, time) in files {
        if time.contains('.') {
            layer
                .append_pax_extensions([("mtime", time.as_bytes())])
                .unwrap();
        }
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(time.split('.').next().unwrap().parse().unwrap());
        header.set_size(content.len() as u64);
        layer.append_data(&mut header, path, *content).unwrap();
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), layer.into_inner().unwrap()).unwrap();
    Made(import_layer(file.path()))
}

/// Squashes `source` directly under a new tag (removed at the end with the returned guard),
/// checks the result verified and is the source's filesystem exactly, and returns it with how
/// many containers were made from the source to export and how many are left.
async fn squash_directly(source: &str, tag: &str) -> (FsSnapshot, Made, (usize, usize)) {
    let daemon = daemon().await;
    let inspect = images::inspect(&daemon, source).await.unwrap();
    let mut plan = SquashPlan::from_image(&inspect, source).unwrap();
    plan.tag = unique_name(tag);
    let cleanup = Made(plan.tag.clone());
    let since = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs();
    let (outcome, _) = run(
        &daemon,
        &plan,
        options(MethodChoice::Direct),
        SourceAudit::default(),
        &CancelToken::new(),
    )
    .await;
    assert!(outcome.unwrap().verified.passed);
    let result = assert_identical(&daemon, source, &plan.tag).await;
    (result, cleanup, export_containers(source, since))
}

#[tokio::test]
async fn a_whole_squash_takes_the_files_bytes_from_a_container_it_then_removes() {
    // An image of its own: an ID no other test squashes meanwhile.
    let name = unique_name("exported");
    let source = imported(&[
        ("app/data", name.as_bytes(), "1700000000"),
        ("etc/motd", b"hello\n", "1700000000"),
    ]);
    let (_, _cleanup, exports) = squash_directly(&source.0, "direct-exported").await;
    assert_eq!(exports, (1, 0));
}

#[tokio::test]
async fn an_image_with_a_hosts_file_of_its_own_is_squashed_from_its_saved_layers() {
    // A container holds the runtime's /etc/hosts, not this one: its export cannot serve.
    let name = unique_name("own-hosts");
    let source = imported(&[
        ("etc/hosts", b"10.0.0.1 db\n", "1700000000"),
        ("app/data", name.as_bytes(), "1700000000"),
    ]);
    let (result, _cleanup, exports) = squash_directly(&source.0, "direct-own-hosts").await;
    assert_eq!(result.entries["/etc/hosts"].size, 12);
    assert_eq!(exports, (0, 0));
}
