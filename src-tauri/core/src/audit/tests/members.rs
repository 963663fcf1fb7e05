//! The cap on a tar member's headers (`members.rs`): overlong names and PAX records are malformed.

use super::*;

#[test]
fn an_overlong_name_or_pax_record_is_malformed() {
    let long = format!("{}/file", "n".repeat(70 * 1024));
    assert_malformed(
        audit(&legacy(&[Layer::new().file(&long, 1).tar()], false)),
        "GNU long name",
    );
    assert_malformed(
        audit(&legacy(
            &[Layer::new().pax_file(&long, 1, &[]).tar()],
            false,
        )),
        "PAX path",
    );
    let big_xattr = vec![b'x'; 70 * 1024];
    let pax = Layer::new().pax_file("f", 1, &[("SCHILY.xattr.user.big", &big_xattr)]);
    assert_malformed(audit(&legacy(&[pax.tar()], false)), "PAX record");
    // Compressed, the name is a few hundred bytes of the archive.
    let bomb = gzip(
        &Layer::new()
            .file(&format!("{}/f", "z".repeat(8 << 20)), 1)
            .tar(),
    );
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    assert_malformed(audit(&legacy(&[bomb], false)), "compressed long name");

    // The outer archive is held to the same cap.
    let mut archive = legacy(&sample_layers(), false);
    archive.truncate(archive.len() - 1024); // its end-of-archive blocks
    let mut outer = tar::Builder::new(archive);
    put(&mut outer, &long, b"{}");
    assert_malformed(audit(&outer.into_inner().expect("archive")), "outer name");

    // Below the cap, names are read whole.
    let near = format!("{}/file", "m".repeat(48 * 1024));
    let report = audit_layers(&[Layer::new().file(&near, 2).tar()]);
    assert_eq!(report.tree.files, 1);
}
