//! What `squashbox-cli squash` says of a result that did not verify.

use crate::cli;
use crate::support::{docker_output, unique_name, xattr_image, Made};

#[test]
fn the_cli_does_not_call_a_squash_that_lost_an_xattr_verified() {
    let source = xattr_image();
    let tag = unique_name("squashed-xattr");
    let _result = Made(tag.clone());
    let output = cli()
        .args(["squash", &source.0, "--builder", "classic", "--tag", &tag])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(8),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "NOT verified",
        "  /  Mode: 0700 → 0755",
        "  /origin.txt  Xattr: user.origin = \"loaded\" → no user.origin",
    ] {
        assert!(stdout.contains(line), "{line:?} not in:\n{stdout}");
    }
    assert!(
        !docker_output(&["image", "inspect", &tag]).status.success(),
        "an unverified result gets no tag"
    );
}
