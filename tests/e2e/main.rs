//! End-to-end tests: the real Squashbox window, driven through tauri-driver and WebKitWebDriver
//! under Xvfb, against the real daemon.
//!
//! The app must be built with its web assets embedded (`npm --prefix ui run build`, then the
//! tests with `--features custom-protocol`); the README's test command does both.

#[path = "../support/mod.rs"]
mod support;

mod harness;

use fantoccini::Locator;
use harness::App;
use support::Fixture;

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
