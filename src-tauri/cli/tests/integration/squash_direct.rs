//! `squashbox-cli squash --method direct`.

use crate::support::{unique_name, xattr_image, Made};
use crate::{cli, cli_json};

#[test]
fn the_cli_squashes_directly_when_asked() {
    let source = xattr_image();
    let tag = unique_name("cli-direct");
    let _result = Made(tag.clone());
    let output = cli()
        .args(["squash", &source.0, "--method", "direct", "--tag", &tag])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("(direct)"), "{stdout}");
    assert!(
        stdout.contains("After ") && stdout.contains(" in 1 layer ·"),
        "{stdout}"
    );
    assert!(stdout.contains("Verified"), "{stdout}");
    let refused = cli()
        .args([
            "squash",
            &source.0,
            "--method",
            "direct",
            "--builder",
            "classic",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("uses no builder"));
}

#[test]
fn the_cli_keeps_the_first_layers_when_asked() {
    let fixture = crate::support::wasteful_fixture();
    let tag = unique_name("cli-partial");
    let _result = Made(tag.clone());
    let outcome = cli_json(&[
        "squash",
        &fixture.id,
        "--keep-layers",
        "2",
        "--tag",
        &tag,
        "--json",
    ]);
    assert_eq!(outcome["method"], "direct");
    assert_eq!(outcome["layersAfter"], 3, "two kept and one on top");
    assert_eq!(outcome["verified"]["passed"], true);
    assert!(outcome["layersBefore"].as_u64().unwrap() > 3);
}
