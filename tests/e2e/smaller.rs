//! "Make it smaller", the guided squash, driven like the teammate who never opens a terminal:
//! from the row's main button to the screen that says which name to use, freeing the original's
//! space on the way, at a roomy and at a small window size.

use std::time::Duration;

use crate::harness::App;
use crate::support::{self, Fixture, FixtureSpec};

/// The squash builds one image and reads two; this daemon may be busy with other tests' builds.
const SQUASH_WAIT: Duration = Duration::from_secs(180);

#[tokio::test]
async fn make_it_smaller_at_1400_by_900() {
    make_it_smaller(1400, 900).await;
}

#[tokio::test]
async fn make_it_smaller_at_800_by_600() {
    make_it_smaller(800, 600).await;
}

async fn make_it_smaller(width: u32, height: u32) {
    // A layer of 3 MB deleted by the next one: what the squash saves.
    let wasted = vec![b'w'; 3_000_000];
    let fixture = Fixture::build(&FixtureSpec {
        name: "e2e-smaller",
        files: &[("wasted.bin", &wasted)],
        steps: &[
            "ENV APP_HOME=/srv",
            "COPY wasted.bin /tmp/wasted.bin",
            "RUN [\"/bin/busybox\", \"rm\", \"/tmp/wasted.bin\"]",
            "CMD [\"/bin/sh\"]",
        ],
    });
    let data = tempfile::tempdir().unwrap();
    let app = App::launch(&[("SQUASHBOX_DATA_DIR", data.path().to_str().unwrap())]).await;
    app.resize(width, height).await;
    app.wait_for_rows_containing(&fixture.tag).await;
    let row = app.only_row_of(&fixture.tag, &fixture.id).await;
    let saving = app
        .wait_for_text(&format!("{row} [data-testid=image-saving]"))
        .await;
    // The history's hint until an audit: the COPY step names the file the RUN step removes.
    assert_eq!(
        saving, "up to 3.00 MB",
        "a hint from the history until an audit"
    );
    app.screenshot(&format!("smaller-list-{width}x{height}"))
        .await;

    app.click(&format!("{row} [data-testid=smaller-open]"))
        .await;
    app.wait_for_text("[data-testid=smaller-intro]").await;
    app.screenshot(&format!("smaller-intro-{width}x{height}"))
        .await;
    app.click("[data-testid=smaller-start]:not([disabled])")
        .await;

    let done = app
        .wait_for_text_containing(
            "[data-testid=smaller-done-panel]",
            "now names the smaller image",
            SQUASH_WAIT,
        )
        .await;
    assert!(done.contains(&format!("{} is now", fixture.tag)), "{done}");
    assert!(
        done.contains("Checked: same files, same settings"),
        "{done}"
    );
    let result = support::docker(&["image", "inspect", "--format", "{{.Id}}", &fixture.tag]);
    assert_ne!(result, fixture.id, "the name moved to the squashed image");
    let layers = support::docker(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        &result,
    ]);
    assert_eq!(layers, "1");
    // The original is still there, by ID, until the person says it may go.
    support::docker(&["image", "inspect", &fixture.id]);
    app.wait_for_text_containing(
        "[data-testid=smaller-free-text]",
        "Removing it frees",
        Duration::from_secs(30),
    )
    .await;
    app.screenshot(&format!("smaller-done-{width}x{height}"))
        .await;

    app.click("[data-testid=smaller-free]").await;
    app.wait_for_text("[data-testid=smaller-free-confirm]")
        .await;
    app.click("[data-testid=smaller-free-confirm-yes]").await;
    let finished = app
        .wait_for_text_containing(
            "[data-testid=smaller-finished]",
            "From now on, use",
            Duration::from_secs(60),
        )
        .await;
    assert!(finished.contains(&fixture.tag), "{finished}");
    assert!(finished.contains("Removed 1 image"), "{finished}");
    assert!(
        !support::docker_output(&["image", "inspect", &fixture.id])
            .status
            .success(),
        "the original is gone"
    );
    app.screenshot(&format!("smaller-finished-{width}x{height}"))
        .await;
    app.close().await;
}
