//! The squash window, driven like a person would: open it from the list, change an environment
//! value to one with `$`, quotes and a backslash, see the Dockerfile say it, squash, and find the
//! squashed image verified and carrying the value byte for byte.

use fantoccini::Locator;
use std::time::Duration;

use crate::harness::App;
use crate::support::{self, Fixture, FixtureSpec, Made};

/// The value typed in: everything a Dockerfile's word processing would eat if it were not escaped.
const EDITED: &str = r#"it's $HOME "quoted" \ back"#;

/// The squash builds one image and reads two; this daemon may be busy with other tests' builds.
const SQUASH_WAIT: Duration = Duration::from_secs(180);

#[tokio::test]
async fn a_squash_with_an_edited_env_value_is_verified_and_keeps_the_value() {
    // A layer of 5 MB deleted by the next one: what the squash saves. The settings give every
    // kind of line of the Dockerfile something to say.
    let wasted = vec![b'w'; 5_000_000];
    let fixture = Fixture::build(&FixtureSpec {
        name: "e2e-squash",
        files: &[("wasted.bin", &wasted)],
        steps: &[
            "ENV GREETING=hello",
            "COPY wasted.bin /tmp/wasted.bin",
            "RUN [\"/bin/busybox\", \"rm\", \"/tmp/wasted.bin\"]",
            "WORKDIR /srv",
            "USER 1000:1000",
            "EXPOSE 8080",
            "LABEL org.opencontainers.image.title=e2e",
            "CMD [\"/bin/sh\"]",
        ],
    });
    // The plan's default target, `repo:tag-squashed`.
    let target = format!("{}-squashed", fixture.tag);
    let _result = Made(target.clone());
    let data = tempfile::tempdir().unwrap();
    let app = App::launch(&[("SQUASHBOX_DATA_DIR", data.path().to_str().unwrap())]).await;
    app.wait_for_rows_containing(&fixture.tag).await;

    let row = app.only_row_of(&fixture.tag, &fixture.id).await;
    app.click(&format!("{row} [data-testid=image-tag]")).await;
    app.click(&format!("{row} [data-testid=squash-open]")).await;
    let title = app.wait_for_text("#squash-title").await;
    assert_eq!(title, format!("Squash {}", fixture.tag));
    app.wait_for_text_containing(
        "[data-testid=squash-dockerfile-text]",
        "GREETING=hello",
        Duration::from_secs(30),
    )
    .await;
    let tag_field = app
        .client
        .find(Locator::Css("[data-testid=squash-tag]"))
        .await
        .unwrap();
    assert_eq!(
        tag_field.prop("value").await.unwrap().as_deref(),
        Some(target.as_str())
    );

    let value = greeting_value_field(&app).await;
    value.clear().await.unwrap();
    value.send_keys(EDITED).await.unwrap();
    assert_eq!(
        value.prop("value").await.unwrap().as_deref(),
        Some(EDITED),
        "the field holds what was typed, literally"
    );
    // Rust's rendering: in double quotes, with `"`, `$` and `\` escaped.
    let preview = app
        .wait_for_text_containing(
            "[data-testid=squash-dockerfile-text]",
            r#"GREETING="it's \$HOME \"quoted\" \\ back""#,
            Duration::from_secs(30),
        )
        .await;
    assert!(preview.contains("FROM scratch"), "{preview}");
    let marks = app
        .client
        .find_all(Locator::Css("[data-testid=edited-mark]"))
        .await
        .unwrap();
    assert_eq!(marks.len(), 1, "only the environment is marked edited");
    app.screenshot("squash-editor").await;

    // At the smallest size the window is made for, Squash and Cancel stay in view without
    // scrolling past every setting. The window goes back to its size after (at 720×480 the
    // action bar covers the method picker, where the click below lands).
    let size = app
        .client
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .unwrap();
    let (width, height) = (
        size[0].as_u64().unwrap() as u32,
        size[1].as_u64().unwrap() as u32,
    );
    app.resize(720, 480).await;
    let in_view = app
        .client
        .execute(
            "const r = document.querySelector('[data-testid=squash-run]').getBoundingClientRect();
             return r.top >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        in_view,
        serde_json::json!(true),
        "Squash in view at 720×480"
    );
    app.screenshot("squash-editor-720x480").await;
    app.resize(width, height).await;

    // Classic keeps to one layer (BuildKit's WORKDIR adds an empty second one).
    app.click("[data-testid=squash-method-classic]").await;
    app.click("[data-testid=squash-run]:not([disabled])").await;
    let verified = app
        .wait_for_text_containing(
            "[data-testid=squash-result]",
            "Verified: same files; settings as you set them (1 change: GREETING)",
            SQUASH_WAIT,
        )
        .await;
    assert!(verified.contains(&target), "{verified}");
    assert!(verified.contains("layers → 1 layer"), "{verified}");
    assert!(verified.contains("classic builder"), "{verified}");
    assert!(verified.contains("% smaller"), "{verified}");
    app.screenshot("squash-result").await;

    let env: Vec<String> = serde_json::from_str(&support::docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &target,
    ]))
    .unwrap();
    assert!(
        env.contains(&format!("GREETING={EDITED}")),
        "the squashed image has the edited value: {env:?}"
    );
    let layers = support::docker(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        &target,
    ]);
    assert_eq!(layers, "1");
    let source = support::docker(&["image", "inspect", "--format", "{{.Id}}", &fixture.tag]);
    assert_eq!(source, fixture.id, "the original keeps its tag");
    app.close().await;
}

/// The value field on the GREETING row of the environment editor.
async fn greeting_value_field(app: &App) -> fantoccini::elements::Element {
    let script = "return [...document.querySelectorAll('[data-testid=squash-env-key]')]
        .findIndex((key) => key.value === 'GREETING');";
    let index = app.client.execute(script, vec![]).await.unwrap();
    let index = index.as_u64().expect("a GREETING row") as usize;
    let values = app
        .client
        .find_all(Locator::Css("[data-testid=squash-env-value]"))
        .await
        .unwrap();
    values.into_iter().nth(index).expect("its value field")
}
