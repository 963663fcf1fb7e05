//! `squashbox-cli prune`.

use crate::cli_json;
use crate::support::{docker, unique_name, Fixture, FixtureSpec};

#[test]
fn dry_run_lists_and_removes_nothing() {
    // Content of its own: the builder's cache would give another fixture with the same content
    // the same image, which would then not be left dangling here.
    let own = unique_name("prune-dry");
    let mut fixture = Fixture::build(&FixtureSpec {
        name: "prune-dry",
        files: &[("own.txt", own.as_bytes())],
        steps: &["COPY own.txt /own.txt"],
    });
    let dangling = fixture.rebuild_leaving_dangling();
    let json = cli_json(&["prune", "--dry-run", "--json"]);
    assert_eq!(json["dryRun"], true);
    assert_eq!(json["imagesDeleted"], serde_json::json!([]));
    assert_eq!(json["spaceReclaimed"], 0);
    assert!(json["images"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == dangling.as_str()));
    docker(&["image", "inspect", &dangling]);
}
