//! One layer's tar (`layer.rs`): long and PAX names, PAX ids, a non-tar layer, no metadata read.

use super::*;
use crate::audit::layer;

#[test]
fn long_and_unicode_names_are_read_whole() {
    let pax_path = format!("deep/{}/file.bin", "p".repeat(140));
    let gnu_path = format!("gnu/{}/file.bin", "g".repeat(120));
    let unicode = "données/naïve-文件.txt";
    let report = audit_layers(&[
        Layer::new()
            .pax_file(&pax_path, 42, &[])
            .file(&gnu_path, 8)
            .file(unicode, 7)
            .tar(),
        Layer::new()
            .pax_file(&pax_path, 1, &[])
            .file(&gnu_path, 1)
            .file(unicode, 1)
            .tar(),
    ]);
    assert_eq!(totals(&report), (60, 3, 57, 57));
    assert_eq!(
        wasted(&report),
        vec![
            (pax_path.as_str(), 42, vec![0, 1]),
            (gnu_path.as_str(), 8, vec![0, 1]),
            (unicode, 7, vec![0, 1])
        ]
    );
}

#[test]
fn a_layer_that_is_not_a_tar_is_malformed() {
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": "c.json", "Layers": ["l.tar"],
    }]))
    .expect("manifest");
    let mut broken = tar::Builder::new(Vec::new());
    put(&mut broken, "manifest.json", &manifest);
    put(&mut broken, "c.json", &config(1));
    put(
        &mut broken,
        "l.tar",
        &gzip(b"this is no tar at all, not even close"),
    );
    assert_malformed(audit(&broken.into_inner().expect("archive")), "layer");
}

#[test]
fn ids_too_big_for_the_header_come_from_pax_records() {
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_pax_extensions([
        ("uid", b"4000000000".as_slice()),
        ("gid", b"3000000000".as_slice()),
    ])
    .expect("pax");
    let mut header = Header::new_ustar();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o600);
    header.set_size(0);
    tar.append_data(&mut header, "big-ids", io::empty())
        .expect("append");
    let snapshot = snapshot(&[tar.into_inner().expect("layer")]);
    let entry = snapshot.entries.get("/big-ids").expect("entry");
    assert_eq!((entry.uid, entry.gid), (4_000_000_000, 3_000_000_000));
}

#[test]
fn the_audit_reads_no_metadata() {
    let summary = layer::summarise(
        layer_of(&reference_tree()).as_slice(),
        layer::Reading::Sizes,
    )
    .expect("summary");
    assert!(summary.changes.iter().all(|c| c.metadata.is_none()));
}
