//! End-to-end tests: the real Squashbox window, driven through tauri-driver and WebKitWebDriver
//! under Xvfb, against the real daemon.
//!
//! The app must be built with its web assets embedded (`npm --prefix ui run build`, then the
//! tests with `--features custom-protocol`); the README's test command does both.

use squashbox_test_support as support;

mod harness;
mod smaller;
mod squash;

use fantoccini::Locator;
use harness::App;
use support::{Fixture, FixtureSpec};

#[tokio::test]
async fn the_window_lists_a_fixture_and_the_filter_narrows_the_list() {
    let alpha = Fixture::small("e2e-alpha");
    let beta = Fixture::small("e2e-beta");
    let app = App::launch(&[]).await;

    let rows = app.wait_for_rows_containing(&alpha.tag).await;
    let beta_rows = rows.iter().filter(|r| r.contains(&beta.tag)).count();
    assert_eq!(beta_rows, 1, "beta has a row of its own: {rows:?}");
    assert!(rows
        .iter()
        .all(|r| !(r.contains(&alpha.tag) && r.contains(&beta.tag))));
    app.screenshot("image-list").await;

    let filter = app
        .client
        .find(Locator::Css("[data-testid=filter]"))
        .await
        .unwrap();
    // The unique middle of alpha's tag matches alpha alone.
    let needle = alpha.tag.trim_start_matches("squashbox-test/");
    filter.send_keys(needle).await.unwrap();
    let narrowed = app.wait_until_rows(|rows| rows.len() == 1).await;
    assert!(narrowed[0].contains(&alpha.tag), "{narrowed:?}");
    app.screenshot("image-list-filtered").await;
    app.close().await;
}

#[tokio::test]
async fn a_dead_docker_host_shows_the_no_daemon_screen() {
    let app = App::launch(&[("DOCKER_HOST", "unix:///nonexistent.sock")]).await;
    let screen = app
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=no-daemon]"))
        .await
        .expect("the no-daemon screen appears");
    let text = screen.text().await.unwrap();
    assert!(text.contains("DOCKER_HOST"), "{text}");
    assert!(text.contains("unix:///nonexistent.sock"), "{text}");
    app.screenshot("no-daemon").await;
    app.close().await;
}

#[tokio::test]
async fn an_audit_opens_from_the_list_shows_the_waste_and_exports_html() {
    let deleted = vec![b'd'; 5000];
    let fixture = Fixture::build(&FixtureSpec {
        name: "e2e-audit",
        files: &[("deleted.bin", &deleted)],
        steps: &[
            "COPY deleted.bin /data/deleted.bin",
            "RUN [\"/bin/busybox\", \"rm\", \"/data/deleted.bin\"]",
        ],
    });
    let app = App::launch(&[]).await;
    app.wait_for_rows_containing(&fixture.tag).await;

    let row = app.only_row_of(&fixture.tag, &fixture.id).await;
    // WebKitWebDriver will not click a table row itself, only what is in its cells.
    app.click(&format!("{row} [data-testid=image-tag]")).await;
    app.click(&format!("{row} [data-testid=audit-open]")).await;

    let headline = app.wait_for_text("[data-testid=audit-headline]").await;
    assert!(
        headline.contains("A squash would save 5.00 kB"),
        "{headline}"
    );
    let wasted = app.wait_for_text("[data-testid=wasted-row]").await;
    assert!(wasted.contains("/data/deleted.bin"), "{wasted}");
    app.screenshot("audit").await;
    app.screenshot("audit").await;

    app.click("[data-testid=export-html]").await;
    app.accept_save_dialog("Save the audit report");
    let saved = app.wait_for_text("[data-testid=export-result]").await;
    let path = saved
        .split_once("Saved to ")
        .map(|(_, p)| p.trim().to_owned())
        .unwrap_or_else(|| panic!("no saved path in {saved:?}"));
    assert!(
        path.starts_with(&app.downloads().display().to_string()),
        "{path}"
    );
    let page = std::fs::read_to_string(&path).expect("the exported page exists");
    assert!(page.contains("/data/deleted.bin"));
    assert!(page.starts_with("<!doctype html>"));
    app.close().await;
}

/// Clicks through the clean-up: the dangling image made here is previewed, and after the confirm
/// it is gone. The confirm removes every dangling image listed, so the test says yes only when
/// the list holds nothing but its own (as on a fresh CI daemon) and says no otherwise, so a
/// developer's own dangling images never go.
#[tokio::test]
async fn clean_up_previews_a_dangling_image_and_removes_it_after_the_confirm() {
    let mut fixture = Fixture::small("e2e-prune");
    let dangling = fixture.rebuild_leaving_dangling();
    let app = App::launch(&[]).await;
    app.wait_for_rows_containing(&fixture.tag).await;
    app.click("[data-testid=open-prune]").await;

    let candidate = format!("[data-testid=prune-candidate][data-image-id=\"{dangling}\"]");
    app.wait_for_text(&candidate).await;
    app.screenshot("prune-preview").await;
    app.click("[data-testid=prune-images]").await;
    let confirm = app.wait_for_text("[data-testid=prune-confirm-text]").await;
    // Counted once the confirm shows: the list stops following the daemon then, while before it
    // the other tests running beside this one can add or remove a dangling image of their own.
    let listed = app
        .client
        .find_all(Locator::Css("[data-testid=prune-candidate]"))
        .await
        .unwrap()
        .len();
    assert!(confirm.contains(&listed.to_string()), "{confirm}");
    app.screenshot("prune-confirm").await;

    if listed == 1 {
        app.click("[data-testid=prune-confirm-yes]").await;
        let result = app.wait_for_text("[data-testid=prune-result-text]").await;
        assert!(result.contains("Removed 1 image"), "{result}");
        assert!(
            !support::docker_output(&["image", "inspect", &dangling])
                .status
                .success(),
            "the dangling image is gone"
        );
        app.screenshot("prune-result").await;
    } else {
        eprintln!("{listed} dangling images on this daemon: the test answers no to keep them");
        app.click("[data-testid=prune-confirm-no]").await;
        support::docker(&["image", "inspect", &dangling]);
    }
    support::docker(&["image", "inspect", &fixture.id]);
    app.close().await;
}

/// The clean-up command takes only IDs the window showed: a page that asks it for anything
/// else (here, straight through the IPC bridge, as injected script could) gets a clear error
/// and nothing is removed. The ID is put into a URL path, where `../containers/…` would name
/// a container.
#[tokio::test]
async fn the_clean_up_command_removes_nothing_the_window_did_not_show() {
    let mut fixture = Fixture::small("e2e-unshown");
    let dangling = fixture.rebuild_leaving_dangling();
    let name = support::unique_name("e2e-victim").replace(['/', ':'], "-");
    let container = fixture.create_named_container(&name);
    let app = App::launch(&[]).await;
    app.wait_for_rows_containing(&fixture.tag).await;

    let script = r#"
        const [ids, done] = arguments;
        const internals = window.__TAURI_INTERNALS__;
        const channel = "__CHANNEL__:" + internals.transformCallback(() => {});
        internals.invoke("prune_images", { ids, onProgress: channel })
          .then((ok) => done({ ok }), (err) => done({ err }));
    "#;
    for ids in [
        vec![format!("../containers/{name}")],
        vec![format!("{dangling}/../../containers/{name}")],
        // Well formed, but never listed by a preview: it has a tag.
        vec![fixture.id.clone()],
    ] {
        let answer = app
            .client
            .execute_async(script, vec![serde_json::json!(ids)])
            .await
            .unwrap();
        assert_eq!(answer["err"]["code"], "invalidInput", "{ids:?}: {answer}");
    }
    assert_eq!(
        support::docker(&["container", "inspect", "--format", "{{.Id}}", &name]),
        container
    );
    assert_eq!(
        support::docker(&["image", "inspect", "--format", "{{.Id}}", &fixture.tag]),
        fixture.id
    );
    app.close().await;
}
