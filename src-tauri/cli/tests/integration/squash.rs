//! `squashbox-cli squash`: its JSON and the settings it is given.

use crate::cli;
use crate::support::{docker, unique_name, Fixture, Made};

#[test]
fn cli_squash_json_has_the_documented_fields() {
    let fixture = Fixture::small("squash-cli");
    let tag = unique_name("squashed-cli");
    let _cleanup = Made(tag.clone());
    let output = cli()
        .args([
            "squash",
            &fixture.tag,
            "--tag",
            &tag,
            "--env",
            "EXTRA=$HOME \"q\"",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for field in [
        "sourceId",
        "resultId",
        "tag",
        "sizeBefore",
        "sizeAfter",
        "verified",
    ] {
        assert!(!json[field].is_null(), "{field} missing: {json}");
    }
    assert_eq!(json["verified"]["passed"], true, "{json}");
    assert_eq!(json["sourceId"], fixture.id.as_str());
    // Auto's pick and its reason, said before the work starts.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let method = stderr.lines().find_map(|l| l.strip_prefix("method: "));
    let (name, why) = method
        .and_then(|m| m.split_once(": "))
        .unwrap_or_else(|| panic!("no method line in:\n{stderr}"));
    assert!(
        [
            "direct",
            "multi-stage, classic builder",
            "multi-stage, BuildKit"
        ]
        .contains(&name),
        "{name}"
    );
    assert!(why.len() > 20, "a reason, not a word: {why}");
    let env = docker(&["image", "inspect", "--format", "{{json .Config.Env}}", &tag]);
    assert!(env.contains(r#""EXTRA=$HOME \"q\"""#), "{env}");
}
