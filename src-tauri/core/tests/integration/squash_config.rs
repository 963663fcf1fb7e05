//! The squash's Dockerfile on the real daemon: a fixture whose configuration uses every field,
//! with the values that break naive escaping, squashed by both builders; the result must
//! declare what the source declares, field by field, and must not have run the source's
//! ONBUILD trigger.

use serde_json::Value;
use squashbox_core::build::{build_dockerfile, Builder};
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::made::MadeImages;
use squashbox_core::squash::{known_differences, render, render_stage, SquashPlan};
use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{docker, docker_output, unique_name, Fixture, FixtureSpec, Made};

/// The fields a `COPY` into scratch drops, as `docker image inspect` names them.
const FIELDS: &[&str] = &[
    "Env",
    "Labels",
    "User",
    "WorkingDir",
    "Cmd",
    "Entrypoint",
    "ExposedPorts",
    "Volumes",
    "StopSignal",
    "Healthcheck",
    "Shell",
    "OnBuild",
];

/// Every field set, each value written the way a person would in a Dockerfile.
fn configured_fixture() -> Fixture {
    Fixture::build(&FixtureSpec {
        name: "squash-config",
        // A folder the fixture's user may write to, for the trigger.
        files: &[("marks/.keep", b"")],
        steps: &[
            "COPY --chown=1000:1000 marks /marks",
            r#"ENV HOME_REF="\$HOME" BRACES="\${X}" QUOTED="\"quoted\"" APOSTROPHE="it's" BACKSLASH="back\\slash" SPACES="  spaces  " EMPTY="" UNICODE="üñí € ✓" EQUALS=a=b TAB="a	b" dotted.name=ok"#,
            r#"LABEL "org.example.dollar"="\$HOME \${X}" "quote\"key"="it's \"q\"" spaces="  x  " empty="" "unicode ✓"="ü\\""#,
            r#"WORKDIR "/srv/my app""#,
            "EXPOSE 80/tcp 53/udp 9/sctp",
            r#"VOLUME ["/data", "/cache dir"]"#,
            "STOPSIGNAL SIGINT",
            r#"SHELL ["/bin/busybox", "sh", "-c"]"#,
            r#"HEALTHCHECK --interval=5s --timeout=2500ms --start-period=1s --retries=3 CMD [ -e "/srv/my app" ] || exit 1"#,
            r#"ENTRYPOINT ["/bin/busybox", "env", "--"]"#,
            r#"CMD ["echo", "$HOME", "a\"b", "back\\slash", "line\nbreak", ""]"#,
            "USER 1000:1000",
            r#"ONBUILD RUN ["/bin/busybox", "touch", "/marks/onbuild-ran"]"#,
        ],
    })
}

fn inspect(image: &str) -> Value {
    let json = docker(&["image", "inspect", image]);
    let mut list: Vec<Value> = serde_json::from_str(&json).expect("inspect answers a JSON list");
    list.pop().expect("one image")
}

/// `docker build -f -` with an empty context: the CLI's way, next to the API's in `build_dockerfile`.
fn build_with_cli(dockerfile: &str, tag: &str) {
    let context = tempfile::tempdir().unwrap();
    let mut child = Command::new("docker")
        .args(["build", "-q", "--force-rm", "-t", tag, "-f", "-"])
        .arg(context.path())
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dockerfile.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the build failed: {}\n{dockerfile}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn assert_same_config(source: &Value, result: &Value, dockerfile: &str) {
    for field in FIELDS {
        assert_eq!(
            result["Config"][field], source["Config"][field],
            "{field} differs; the Dockerfile was\n{dockerfile}"
        );
    }
}

fn onbuild_ran(image: &str) -> bool {
    let output = docker_output(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/busybox",
        image,
        "test",
        "-e",
        "/marks/onbuild-ran",
    ]);
    match output.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!(
            "docker run ended with {other:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

async fn plan_for(fixture: &Fixture) -> (Daemon, SquashPlan) {
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let inspect = daemon.docker().inspect_image(&fixture.id).await.unwrap();
    let plan = SquashPlan::from_image(&inspect, &fixture.tag).unwrap();
    (daemon, plan)
}

#[tokio::test]
async fn the_classic_squash_declares_every_field_of_the_source() {
    let fixture = configured_fixture();
    let source = inspect(&fixture.id);
    let (_, mut plan) = plan_for(&fixture).await;
    assert_eq!(plan.tag, format!("{}-squashed", fixture.tag));
    plan.tag = unique_name("squashed");
    let _made = Made(plan.tag.clone());
    let dockerfile = render(&plan).unwrap();
    build_with_cli(&dockerfile, &plan.tag);

    let result = inspect(&plan.tag);
    assert_same_config(&source, &result, &dockerfile);
    assert_eq!(
        result["RootFS"]["Layers"].as_array().map(Vec::len),
        Some(1),
        "one layer: the working directory exists in the source"
    );
    assert!(
        !onbuild_ran(&plan.tag),
        "the source's trigger ran in the squash"
    );
    let differences: Vec<String> = known_differences(&plan, Builder::Classic)
        .into_iter()
        .map(|d| d.field)
        .collect();
    assert_eq!(
        differences,
        vec!["RootFS"],
        "only the conditional WORKDIR layer"
    );
}

/// The stage form names the source by its tag, which BuildKit needs (it reads an image ID as a
/// registry name); built through the API, as the app builds.
#[tokio::test]
async fn the_buildkit_squash_from_the_stage_form_declares_every_field() {
    let fixture = configured_fixture();
    let source = inspect(&fixture.id);
    let (daemon, plan) = plan_for(&fixture).await;
    let dockerfile = render_stage(&plan, "squashed").unwrap();
    assert!(dockerfile.contains(&format!("COPY --from={} / /", fixture.tag)));
    let id = build_dockerfile(
        &daemon,
        &dockerfile,
        Builder::BuildKit,
        &MadeImages::before_job(&daemon, &[]).await.unwrap(),
        &|_: Progress| {},
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let _made = Made(id.clone());

    let result = inspect(&id);
    assert_same_config(&source, &result, &dockerfile);
    assert!(!onbuild_ran(&id), "the source's trigger ran in the squash");
}

/// The control: the trigger does run when the source is used in FROM, so the checks above can
/// see it.
#[test]
fn the_trigger_runs_when_the_source_is_a_base() {
    let fixture = configured_fixture();
    let tag = unique_name("onbuild-control");
    let _made = Made(tag.clone());
    build_with_cli(&format!("FROM {}\n", fixture.id), &tag);
    assert!(onbuild_ran(&tag));
}
