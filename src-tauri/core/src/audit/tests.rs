//! Image archives built in memory, with numbers worked out by hand.

use super::*;
use crate::job::CancelToken;
use crate::Error;
use std::io::{self, Write};
use tar::{EntryType, Header};

/// Builds one layer's tar.
struct Layer {
    tar: tar::Builder<Vec<u8>>,
}

impl Layer {
    fn new() -> Self {
        Layer {
            tar: tar::Builder::new(Vec::new()),
        }
    }

    fn entry(mut self, kind: EntryType, path: &str, size: usize) -> Self {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(0o644);
        header.set_size(size as u64);
        let data = vec![b'x'; size];
        self.tar
            .append_data(&mut header, path, data.as_slice())
            .expect("append");
        self
    }

    fn dir(self, path: &str) -> Self {
        self.entry(EntryType::Directory, path, 0)
    }

    fn file(self, path: &str, size: usize) -> Self {
        self.entry(EntryType::Regular, path, size)
    }

    fn whiteout(self, path: &str) -> Self {
        let wh = match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/.wh.{name}"),
            None => format!(".wh.{path}"),
        };
        self.file(&wh, 0)
    }

    fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), 0)
    }

    fn link(mut self, kind: EntryType, path: &str, target: &str) -> Self {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(0o777);
        header.set_size(0);
        self.tar
            .append_link(&mut header, path, target)
            .expect("append link");
        self
    }

    fn hardlink(self, path: &str, target: &str) -> Self {
        self.link(EntryType::Link, path, target)
    }

    fn symlink(self, path: &str, target: &str) -> Self {
        self.link(EntryType::Symlink, path, target)
    }

    /// An entry preceded by a PAX header with `records`; `path` goes in a `path` record, so it
    /// may be any length.
    fn pax_file(mut self, path: &str, size: usize, records: &[(&str, &[u8])]) -> Self {
        let mut data = pax_record("path", path.as_bytes());
        for (key, value) in records {
            data.extend(pax_record(key, value));
        }
        let mut pax = Header::new_ustar();
        pax.set_entry_type(EntryType::XHeader);
        pax.set_path("PaxHeaders/entry").expect("pax path");
        pax.set_size(data.len() as u64);
        pax.set_cksum();
        self.tar.append(&pax, data.as_slice()).expect("append pax");
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::Regular);
        header.set_path("truncated-name").expect("path");
        header.set_mode(0o644);
        header.set_size(size as u64);
        header.set_cksum();
        self.tar
            .append(&header, vec![b'y'; size].as_slice())
            .expect("append");
        self
    }

    fn tar(self) -> Vec<u8> {
        self.tar.into_inner().expect("finish layer")
    }
}

/// `"<len> <key>=<value>\n"`, where `<len>` counts the whole record, itself included.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut record = format!("{len} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(tar).expect("gzip");
    encoder.finish().expect("gzip")
}

fn zstd(tar: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(tar, 3).expect("zstd")
}

/// One file of the outer archive.
fn put(archive: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8]) {
    let mut header = Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(bytes.len() as u64);
    archive.append_data(&mut header, path, bytes).expect("put");
}

fn diff_id(index: usize) -> String {
    format!("sha256:{:064x}", index + 1)
}

/// A config whose history has a no-layer step before every layer's step, to check that they
/// are skipped when history is paired with layers.
fn config(layers: usize) -> Vec<u8> {
    let history: Vec<serde_json::Value> = (0..layers)
        .flat_map(|i| {
            [
                serde_json::json!({ "created_by": format!("ENV STEP={i}"), "empty_layer": true }),
                serde_json::json!({ "created_by": format!("RUN step {i}") }),
            ]
        })
        .collect();
    let diff_ids: Vec<String> = (0..layers).map(diff_id).collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": history,
    }))
    .expect("config")
}

/// What Engine ≤ 24 writes: layer directories (named so that their archive order is the
/// reverse of the image order), the config, then `manifest.json` and `repositories` — or the
/// manifest first, with `manifest_first`.
fn legacy(layers: &[Vec<u8>], manifest_first: bool) -> Vec<u8> {
    let dirs: Vec<String> = (0..layers.len())
        .map(|i| format!("{:02}{}", layers.len() - i, "f".repeat(62)))
        .collect();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": "c0ffee.json",
        "RepoTags": ["test:latest"],
        "Layers": dirs.iter().map(|d| format!("{d}/layer.tar")).collect::<Vec<_>>(),
    }]))
    .expect("manifest");
    let mut archive = tar::Builder::new(Vec::new());
    if manifest_first {
        put(&mut archive, "manifest.json", &manifest);
    }
    let mut order: Vec<usize> = (0..layers.len()).collect();
    order.sort_by_key(|&i| dirs[i].clone());
    for i in order {
        put(&mut archive, &format!("{}/VERSION", dirs[i]), b"1.0");
        put(
            &mut archive,
            &format!("{}/json", dirs[i]),
            b"{\"id\":\"x\"}",
        );
        put(&mut archive, &format!("{}/layer.tar", dirs[i]), &layers[i]);
    }
    put(&mut archive, "c0ffee.json", &config(layers.len()));
    if !manifest_first {
        put(&mut archive, "manifest.json", &manifest);
    }
    put(
        &mut archive,
        "repositories",
        b"{\"test\":{\"latest\":\"c0ffee\"}}",
    );
    archive.into_inner().expect("archive")
}

fn blob(hex: &str) -> String {
    format!("blobs/sha256/{hex}")
}

fn hex(n: usize) -> String {
    format!("{n:064x}")
}

/// What Engine 25+ writes: blobs first, then `index.json`, `manifest.json` (unless
/// `with_manifest_json` is false) and `oci-layout`. The index points at an image index that
/// lists an attestation manifest before the image's manifest.
fn oci(layers: &[Vec<u8>], with_manifest_json: bool) -> Vec<u8> {
    let layer_hex: Vec<String> = (0..layers.len()).map(|i| hex(100 + i)).collect();
    let (config_hex, manifest_hex, image_index_hex, attestation_hex) =
        (hex(1), hex(2), hex(3), hex(4));
    let image_manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": format!("sha256:{config_hex}"), "size": 1 },
        "layers": layer_hex.iter().map(|h| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{h}"), "size": 1 })).collect::<Vec<_>>(),
    }))
    .expect("manifest");
    let attestation = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "config": { "digest": format!("sha256:{}", hex(5)) }, "layers": [],
    }))
    .expect("attestation");
    let image_index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [
            { "digest": format!("sha256:{attestation_hex}"),
              "annotations": { "vnd.docker.reference.type": "attestation-manifest" } },
            { "digest": format!("sha256:{manifest_hex}"),
              "platform": { "architecture": "amd64", "os": "linux" } },
        ],
    }))
    .expect("image index");
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{ "digest": format!("sha256:{image_index_hex}"),
                        "annotations": { "io.containerd.image.name": "docker.io/library/test:latest" } }],
    }))
    .expect("index");
    let manifest_json = serde_json::to_vec(&serde_json::json!([{
        "Config": blob(&config_hex),
        "RepoTags": ["test:latest"],
        "Layers": layer_hex.iter().map(|h| blob(h)).collect::<Vec<_>>(),
    }]))
    .expect("manifest.json");

    let mut archive = tar::Builder::new(Vec::new());
    // Blobs sorted by digest, as the exporter writes them: the layers come after the JSON.
    put(&mut archive, &blob(&config_hex), &config(layers.len()));
    put(&mut archive, &blob(&manifest_hex), &image_manifest);
    put(&mut archive, &blob(&image_index_hex), &image_index);
    put(&mut archive, &blob(&attestation_hex), &attestation);
    for (h, layer) in layer_hex.iter().zip(layers).rev() {
        put(&mut archive, &blob(h), layer);
    }
    put(&mut archive, "index.json", &index);
    if with_manifest_json {
        put(&mut archive, "manifest.json", &manifest_json);
    }
    put(
        &mut archive,
        "oci-layout",
        b"{\"imageLayoutVersion\":\"1.0.0\"}",
    );
    archive.into_inner().expect("archive")
}

fn audit(archive: &[u8]) -> Result<AuditReport> {
    audit_archive(archive, &mut |_| ControlFlow::Continue(()))
}

fn audit_layers(layers: &[Vec<u8>]) -> AuditReport {
    audit(&legacy(layers, false)).expect("audit")
}

/// `(layer, filesystem, reclaimable, wasted)` bytes.
fn totals(report: &AuditReport) -> (u64, u64, u64, u64) {
    (
        report.layer_bytes,
        report.filesystem_bytes,
        report.reclaimable_bytes,
        report.wasted_bytes,
    )
}

/// Per layer: `(bytes added, files added, changed, removed, bytes lost later)`.
fn per_layer(report: &AuditReport) -> Vec<(u64, u32, u32, u32, u64)> {
    report
        .layers
        .iter()
        .map(|l| {
            (
                l.bytes_added,
                l.files_added,
                l.files_changed,
                l.files_removed,
                l.bytes_lost_later,
            )
        })
        .collect()
}

/// Wasted files with their paths as the layers write them (the report makes them absolute).
fn wasted(report: &AuditReport) -> Vec<(&str, u64, Vec<u32>)> {
    report
        .wasted_files
        .iter()
        .map(|w| (relative(&w.path), w.wasted_bytes, w.layers.clone()))
        .collect()
}

fn relative(path: &str) -> &str {
    path.strip_prefix('/')
        .unwrap_or_else(|| panic!("{path} is not absolute"))
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "{actual} is not {expected}"
    );
}

#[test]
fn a_whiteout_deletes_a_file() {
    let report = audit_layers(&[
        Layer::new()
            .dir("etc")
            .file("etc/a", 100)
            .file("etc/b", 50)
            .tar(),
        Layer::new().whiteout("etc/a").tar(),
    ]);
    assert_eq!(totals(&report), (150, 50, 100, 100));
    assert_eq!(
        per_layer(&report),
        vec![(150, 2, 0, 0, 100), (0, 0, 0, 1, 0)]
    );
    assert_eq!(wasted(&report), vec![("etc/a", 100, vec![0, 1])]);
    // dive: etc/a seen as 100 then (deleted) 0, etc/b as 50: (0 + 50) / (100 + 0 + 50).
    assert_close(report.efficiency, 50.0 / 150.0);
}

#[test]
fn a_whiteout_deletes_a_directory_and_everything_in_it() {
    let report = audit_layers(&[
        Layer::new()
            .dir("d")
            .file("d/x", 10)
            .dir("d/sub")
            .file("d/sub/y", 20)
            .symlink("d/sub/z", "y")
            .file("keep", 5)
            .tar(),
        Layer::new().whiteout("d").tar(),
    ]);
    assert_eq!(totals(&report), (35, 5, 30, 30));
    assert_eq!(per_layer(&report), vec![(35, 4, 0, 0, 30), (0, 0, 0, 3, 0)]);
    assert_eq!(
        wasted(&report),
        vec![("d/sub/y", 20, vec![0, 1]), ("d/x", 10, vec![0, 1])]
    );
    // dive sees d/x 10, d/sub/y 20, d/sub/z 0, keep 5, then the whiteout of d as the 30 bytes
    // it deletes, a path seen once: every minimum equals its sum, and the score stays 1.
    assert_close(report.efficiency, 1.0);
    assert_eq!(report.tree.files, 1);
    assert_eq!(report.tree.bytes, 5);
}

#[test]
fn an_opaque_directory_hides_what_lower_layers_had_but_not_its_own_files() {
    let report = audit_layers(&[
        Layer::new().dir("d").file("d/a", 10).file("d/b", 20).tar(),
        Layer::new()
            .dir("d")
            .opaque("d")
            .file("d/c", 5)
            .file("d/a", 7)
            .tar(),
    ]);
    assert_eq!(totals(&report), (42, 12, 30, 30));
    assert_eq!(
        per_layer(&report),
        vec![(30, 2, 0, 0, 30), (12, 1, 1, 2, 0)]
    );
    assert_eq!(
        wasted(&report),
        vec![("d/b", 20, vec![0, 1]), ("d/a", 10, vec![0, 1])]
    );
    // dive ignores the marker: d/a min(10, 7) + d/b 20 + d/c 5 over 10 + 20 + 5 + 7.
    assert_close(report.efficiency, 32.0 / 42.0);
}

#[test]
fn a_file_replaced_by_a_directory_and_a_directory_by_a_file() {
    let report = audit_layers(&[
        Layer::new()
            .file("x", 10)
            .dir("y")
            .file("y/a", 3)
            .file("y/b", 4)
            .tar(),
        Layer::new().dir("x").file("x/inner", 6).file("y", 2).tar(),
    ]);
    assert_eq!(totals(&report), (25, 8, 17, 17));
    // Layer 1 adds x/inner and changes y (a directory below); it removes the file x and the
    // two files under the directory y.
    assert_eq!(per_layer(&report), vec![(17, 3, 0, 0, 17), (8, 1, 1, 3, 0)]);
    assert_eq!(
        wasted(&report),
        vec![
            ("x", 10, vec![0, 1]),
            ("y/b", 4, vec![0, 1]),
            ("y/a", 3, vec![0, 1])
        ]
    );
    let names: Vec<(&str, TreeNodeKind, u64)> = report
        .tree
        .children
        .iter()
        .map(|c| (c.name.as_str(), c.kind, c.bytes))
        .collect();
    assert_eq!(
        names,
        vec![
            ("x", TreeNodeKind::Directory, 6),
            ("y", TreeNodeKind::File, 2)
        ]
    );
}

#[test]
fn a_file_where_a_later_layer_needs_a_directory_is_replaced_by_one() {
    // No entry for the directory x itself: extracting x/inner makes it.
    let report = audit_layers(&[
        Layer::new().file("x", 10).tar(),
        Layer::new().file("x/inner", 6).tar(),
    ]);
    assert_eq!(totals(&report), (16, 6, 10, 10));
    assert_eq!(per_layer(&report), vec![(10, 1, 0, 0, 10), (6, 1, 0, 1, 0)]);
}

#[test]
fn hard_links_count_once_and_keep_their_bytes_alive() {
    let base = Layer::new()
        .file("f", 100)
        .hardlink("h", "f")
        .file("g", 10)
        .tar();
    let delete_f = Layer::new().whiteout("f").tar();
    let delete_h = Layer::new().whiteout("h").tar();

    let report = audit_layers(std::slice::from_ref(&base));
    assert_eq!(totals(&report), (110, 110, 0, 0));
    assert_eq!(per_layer(&report), vec![(110, 3, 0, 0, 0)]);
    assert_eq!(report.tree.bytes, 110);
    assert_eq!(report.tree.files, 3);

    // f is gone, but its bytes live on as h.
    let report = audit_layers(&[base.clone(), delete_f.clone()]);
    assert_eq!(totals(&report), (110, 110, 0, 0));
    assert_eq!(per_layer(&report), vec![(110, 3, 0, 0, 0), (0, 0, 0, 1, 0)]);
    assert!(report.wasted_files.is_empty());
    let h = report.tree.children.iter().find(|c| c.name == "h");
    assert_eq!(h.map(|h| h.bytes), Some(100));

    // Now the last name goes too: the loss is charged to f, the path that wrote the bytes.
    let report = audit_layers(&[base, delete_f, delete_h]);
    assert_eq!(totals(&report), (110, 10, 100, 100));
    assert_eq!(
        per_layer(&report),
        vec![(110, 3, 0, 0, 100), (0, 0, 0, 1, 0), (0, 0, 0, 1, 0)]
    );
    assert_eq!(wasted(&report), vec![("f", 100, vec![0, 1])]);
}

#[test]
fn a_hard_link_to_a_lower_layers_file_adds_no_bytes() {
    let report = audit_layers(&[
        Layer::new().file("f", 100).tar(),
        Layer::new().hardlink("h", "f").tar(),
    ]);
    assert_eq!(totals(&report), (100, 100, 0, 0));
    assert_eq!(per_layer(&report), vec![(100, 1, 0, 0, 0), (0, 1, 0, 0, 0)]);
}

#[test]
fn symlinks_weigh_nothing() {
    let report = audit_layers(&[
        Layer::new()
            .dir("bin")
            .file("bin/busybox", 1000)
            .symlink("bin/sh", "busybox")
            .tar(),
        Layer::new().file("bin/sh", 5).tar(),
    ]);
    assert_eq!(totals(&report), (1005, 1005, 0, 0));
    assert_eq!(
        per_layer(&report),
        vec![(1000, 2, 0, 0, 0), (5, 0, 1, 0, 0)]
    );
    assert!(report.wasted_files.is_empty());
    assert_eq!(report.tree.files, 2);
}

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
fn devices_fifos_and_capabilities_are_counted() {
    let report = audit_layers(&[
        Layer::new()
            .dir("dev")
            .entry(EntryType::Char, "dev/null", 0)
            .entry(EntryType::Block, "dev/sda", 0)
            .entry(EntryType::Fifo, "run/pipe", 0)
            .pax_file(
                "usr/bin/ping",
                9,
                &[("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02")],
            )
            .pax_file("usr/bin/plain", 3, &[("mtime", b"1")])
            .entry(EntryType::Fifo, "tmp/gone", 0)
            .tar(),
        Layer::new().whiteout("tmp/gone").tar(),
    ]);
    assert_eq!(
        report.special_files,
        SpecialFiles {
            devices: 2,
            fifos: 1,
            capabilities: 1
        }
    );
    assert_eq!(totals(&report), (12, 12, 0, 0));
}

fn sample_layers() -> Vec<Vec<u8>> {
    vec![
        Layer::new()
            .dir("app")
            .file("app/a", 100)
            .file("app/b", 50)
            .tar(),
        Layer::new().file("app/a", 30).tar(),
        Layer::new().file("app/a", 60).whiteout("app/b").tar(),
    ]
}

#[test]
fn efficiency_matches_dive_on_a_worked_example() {
    let report = audit_layers(&sample_layers());
    // dive: app/a seen as 100, 30, 60 (min 30); app/b as 50 then deleted (0).
    // (30 + 0) / (100 + 30 + 60 + 50 + 0).
    assert_close(report.efficiency, 30.0 / 240.0);
    assert_eq!(totals(&report), (240, 60, 180, 180));
    assert_eq!(
        per_layer(&report),
        vec![(150, 2, 0, 0, 150), (30, 0, 1, 0, 30), (60, 0, 1, 1, 0)]
    );
    assert_eq!(
        wasted(&report),
        vec![("app/a", 130, vec![0, 1, 2]), ("app/b", 50, vec![0, 2])]
    );
}

#[test]
fn layers_get_their_digest_and_build_step_in_image_order() {
    let report = audit_layers(&sample_layers());
    let labels: Vec<(u32, Option<String>, Option<String>)> = report
        .layers
        .iter()
        .map(|l| (l.index, l.digest.clone(), l.created_by.clone()))
        .collect();
    assert_eq!(
        labels,
        (0..3)
            .map(|i| (i as u32, Some(diff_id(i)), Some(format!("RUN step {i}"))))
            .collect::<Vec<_>>()
    );
}

#[test]
fn wasted_files_are_largest_first_then_by_path() {
    let report = audit_layers(&[
        Layer::new()
            .file("small", 1)
            .file("b-tie", 5)
            .file("a-tie", 5)
            .file("big", 9)
            .file("kept", 4)
            .tar(),
        Layer::new()
            .whiteout("small")
            .whiteout("b-tie")
            .whiteout("a-tie")
            .whiteout("big")
            .tar(),
    ]);
    let order: Vec<&str> = report
        .wasted_files
        .iter()
        .map(|w| w.path.as_str())
        .collect();
    assert_eq!(order, vec!["/big", "/a-tie", "/b-tie", "/small"]);
}

#[test]
fn every_layout_and_compression_gives_the_same_report() {
    let plain = sample_layers();
    let expected = audit(&legacy(&plain, false)).expect("legacy");
    let gzipped: Vec<Vec<u8>> = plain.iter().map(|l| gzip(l)).collect();
    let zstded: Vec<Vec<u8>> = plain.iter().map(|l| zstd(l)).collect();
    let mixed = vec![gzip(&plain[0]), zstd(&plain[1]), plain[2].clone()];
    let archives = [
        ("legacy, manifest first", legacy(&plain, true)),
        ("legacy, gzip", legacy(&gzipped, false)),
        ("oci", oci(&plain, true)),
        ("oci, zstd", oci(&zstded, true)),
        ("oci, mixed compression", oci(&mixed, true)),
        ("oci without manifest.json", oci(&gzipped, false)),
    ];
    for (name, archive) in archives {
        assert_eq!(audit(&archive).expect(name), expected, "{name}");
    }
}

#[test]
fn a_layer_used_twice_is_applied_twice() {
    // Old `docker save` writes a repeated layer once and links the second copy to it.
    let layer = Layer::new().file("f", 10).tar();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": "c.json",
        "Layers": ["one/layer.tar", "two/layer.tar", "one/layer.tar"],
    }]))
    .expect("manifest");
    let mut archive = tar::Builder::new(Vec::new());
    put(&mut archive, "one/layer.tar", &layer);
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Symlink);
    header.set_size(0);
    archive
        .append_link(&mut header, "two/layer.tar", "../one/layer.tar")
        .expect("symlink");
    put(&mut archive, "c.json", &config(3));
    put(&mut archive, "manifest.json", &manifest);
    let report = audit(&archive.into_inner().expect("archive")).expect("audit");
    assert_eq!(totals(&report), (30, 10, 20, 20));
    assert_eq!(
        per_layer(&report),
        vec![(10, 1, 0, 0, 10), (10, 0, 1, 0, 10), (10, 0, 1, 0, 0)]
    );
}

#[test]
fn the_tree_is_cut_by_depth_and_by_entries_per_directory() {
    let mut many = Layer::new().dir("many");
    for i in 0..60 {
        many = many.file(&format!("many/f{i:02}"), 100 + i);
    }
    let report = audit_layers(&[many.file("a/b/c/d/e/f/deep", 7).tar()]);
    let root = &report.tree;
    assert_eq!((root.name.as_str(), root.files), ("/", 61));
    assert_eq!(root.bytes, (100..160).sum::<u64>() + 7);

    let many = root
        .children
        .iter()
        .find(|c| c.name == "many")
        .expect("many");
    assert_eq!(many.children.len(), 50);
    assert_eq!(many.children.first().map(|c| c.name.as_str()), Some("f59"));
    assert_eq!(
        many.other,
        Some(OtherEntries {
            entries: 10,
            bytes: (100..110).sum(),
            files: 10
        })
    );

    let mut node = root.children.iter().find(|c| c.name == "a").expect("a");
    let mut names = vec![node.name.clone()];
    while let Some(child) = node.children.first() {
        node = child;
        names.push(node.name.clone());
    }
    assert_eq!(names, vec!["a", "b", "c", "d"]);
    assert_eq!((node.bytes, node.files), (7, 1));
    assert_eq!(
        node.other,
        Some(OtherEntries {
            entries: 1,
            bytes: 7,
            files: 1
        })
    );
}

fn assert_malformed(result: Result<AuditReport>, what: &str) {
    match result {
        Err(Error::MalformedArchive(_)) => {}
        other => panic!("{what}: expected a malformed archive, got {other:?}"),
    }
}

#[test]
fn garbage_and_empty_input_are_malformed() {
    assert_malformed(audit(b""), "empty");
    assert_malformed(audit(&[0x5a; 5000]), "garbage");
    assert_malformed(audit(&gzip(b"not a tar")), "gzip");
    // A tar, but not an image.
    let tar = Layer::new().file("hello.txt", 3).tar();
    assert_malformed(audit(&tar), "plain tar");
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
fn a_truncated_archive_is_malformed() {
    let archive = legacy(&sample_layers(), false);
    let full = audit(&archive).expect("whole");
    for cut in (0..archive.len()).step_by(97) {
        match audit(&archive[..cut]) {
            Err(Error::MalformedArchive(_)) => {}
            // Cut in the end-of-archive padding: everything was there.
            Ok(report) => assert_eq!(report, full, "cut at {cut}"),
            Err(other) => panic!("cut at {cut}: {other:?}"),
        }
    }
    // Cut in the middle of the last layer.
    let layer_end = archive.len() / 2;
    assert_malformed(audit(&archive[..layer_end]), "half");
}

#[test]
fn the_progress_callback_can_cancel() {
    let archive = legacy(&sample_layers(), false);
    let result = audit_archive(archive.as_slice(), &mut |_| ControlFlow::Break(()));
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");

    // A big archive hears about progress on the way, and can be stopped part way.
    let big = legacy(&[Layer::new().file("big", 3 * 1024 * 1024).tar()], false);
    let mut heard = Vec::new();
    audit_archive(big.as_slice(), &mut |n| {
        heard.push(n);
        ControlFlow::Continue(())
    })
    .expect("audit");
    assert!(heard.len() > 5, "{heard:?}");
    assert!(heard.windows(2).all(|w| w[0] <= w[1]));
    assert!(heard
        .last()
        .is_some_and(|&n| n > 3 * 1024 * 1024 && n <= big.len() as u64));

    let mut calls = 0;
    let result = audit_archive(big.as_slice(), &mut |_| {
        calls += 1;
        if calls == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(calls, 2);
}

/// A source that breaks after some bytes, like a dropped connection to the daemon.
struct Breaks {
    bytes: Vec<u8>,
    at: usize,
}

impl io::Read for Breaks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.bytes.len() / 2 {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone"));
        }
        let n = buf.len().min(self.bytes.len() / 2 - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_failing_source_is_a_stream_error() {
    let source = Breaks {
        bytes: legacy(&sample_layers(), false),
        at: 0,
    };
    let result = audit_archive(source, &mut |_| ControlFlow::Continue(()));
    assert!(matches!(result, Err(Error::Stream(_))), "{result:?}");
}

#[test]
fn the_report_serialises_in_camel_case() {
    let report = audit_layers(&sample_layers());
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["reclaimableBytes"], 180);
    assert_eq!(json["layers"][1]["bytesLostLater"], 30);
    assert_eq!(json["specialFiles"]["fifos"], 0);
    assert_eq!(json["tree"]["kind"], "directory");
}

/// A cheap stand-in for the fuzz target that runs with the other tests: thousands of
/// deterministic mutations of a valid archive must give a report or an error, never a panic.
#[test]
fn mutated_archives_never_panic() {
    let layers = vec![
        gzip(&sample_layers()[0]),
        Layer::new()
            .hardlink("app/h", "app/a")
            .opaque("app")
            .symlink("app/s", "a")
            .tar(),
        zstd(&sample_layers()[2]),
    ];
    let seeds = [legacy(&layers, false), oci(&layers, false)];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut bytes = seeds[round % seeds.len()].clone();
        let len = bytes.len() as u64;
        match next() % 4 {
            0 => {
                for _ in 0..1 + next() % 8 {
                    let at = (next() % len) as usize;
                    bytes[at] = next() as u8;
                }
            }
            1 => bytes.truncate((next() % len) as usize),
            2 => {
                let at = (next() % len) as usize;
                let run = (next() % 600) as usize;
                let end = (at + run).min(bytes.len());
                bytes[at..end].fill(0);
            }
            _ => {
                // Damage a header's size or checksum field, where parsers are most fragile.
                let block = (next() % (len / 512)) as usize * 512;
                let field = if next() % 2 == 0 { 124 } else { 148 };
                for i in 0..8 {
                    bytes[block + field + i] = b"0123456789 \0x"[(next() % 13) as usize];
                }
            }
        }
        let _ = audit(&bytes);
    }
}

// Memory: what the audit keeps follows the entries, not the depth of their paths or how often
// the manifest lists a layer; names are capped; cancel is heard all the way.

/// `c<i>/abcdefg/abcdefg/…`, a little over `bytes` long, as the reported image had them.
fn deep_dir(i: usize, bytes: usize) -> String {
    let mut path = format!("c{i:03}");
    while path.len() < bytes {
        path.push_str("/abcdefg");
    }
    path
}

/// How many path-tree nodes the merge of `archive` ends with.
fn stacked_nodes(archive: &[u8]) -> usize {
    merged(
        archive,
        Reading::Sizes,
        &mut |_| ControlFlow::Continue(()),
        |stack, _, _| Ok(stack.nodes()),
    )
    .expect("merge")
}

#[test]
fn deep_paths_whose_directories_no_entry_names_cost_nodes_per_entry_not_per_level() {
    const FILES: usize = 300;
    let mut first = Layer::new();
    for i in 0..FILES {
        first = first.file(&format!("{}/f.txt", deep_dir(i, 3300)), 10);
    }
    let chain = |i: usize, levels: usize| {
        let mut path = format!("c{i:03}");
        path.push_str(&"/abcdefg".repeat(levels));
        path
    };
    // A whiteout, a new file and a file over a directory, all in the middle of chains: each
    // splits a chain where no entry named a directory.
    let second = Layer::new()
        .whiteout(&chain(0, 2))
        .file(&format!("{}/x", chain(1, 1)), 5)
        .file(&chain(2, 1), 6);
    let archive = legacy(&[first.tar(), second.tar()], false);
    let report = audit(&archive).expect("audit");

    assert_eq!(totals(&report), (3011, 2991, 20, 20));
    assert_eq!(
        per_layer(&report),
        vec![(3000, 300, 0, 0, 20), (11, 1, 1, 2, 0)]
    );
    let lost = |i: usize| format!("{}/f.txt", deep_dir(i, 3300));
    assert_eq!(
        wasted(&report),
        vec![
            (lost(0).as_str(), 10, vec![0, 1]),
            (lost(2).as_str(), 10, vec![0, 1])
        ]
    );
    assert_eq!(report.tree.files, 300);
    let biggest = report.tree.children.first();
    assert_eq!(
        biggest.map(|c| (c.name.as_str(), c.bytes, c.files)),
        Some(("c001", 15, 2))
    );

    // Each of the 303 paths named costs at most two nodes (its own and one where it parts
    // from the others), whatever the 470 directories above each file.
    let nodes = stacked_nodes(&archive);
    assert!(nodes <= 2 * (FILES + 3) + 1, "{nodes} nodes");
}

#[test]
fn a_snapshot_of_directories_nested_too_deep_is_refused_instead_of_filling_the_memory() {
    let deep = |files: usize| {
        let paths: Vec<String> = (0..files)
            .map(|i| format!("{}/f.txt", deep_dir(i, 3300)))
            .collect();
        let specs: Vec<Spec> = paths.iter().map(|p| Spec::file(p, b"0123456789")).collect();
        legacy(&[layer_of(&specs)], false)
    };
    let snapshot = |archive: &[u8]| snapshot_archive(archive, &mut |_| ControlFlow::Continue(()));
    // 300 files under 413 implicit directories each: the snapshot would spell out 124,000
    // paths averaging 1.6 kB; the audit of the same archive stays small.
    let too_deep = deep(300);
    assert!(audit(&too_deep).is_ok());
    match snapshot(&too_deep) {
        Err(Error::MalformedArchive(message)) => assert!(message.contains("too deep"), "{message}"),
        other => panic!(
            "expected MalformedArchive, got {:?}",
            other.map(|s| s.entries.len())
        ),
    }
    // A tenth of it fits: only what would take hundreds of megabytes is refused.
    let fits = snapshot(&deep(30)).expect("snapshot");
    let levels = deep_dir(0, 3300).split('/').count();
    assert_eq!(levels, 413);
    assert_eq!(fits.entries.len(), 30 * (levels + 1));
}

#[test]
fn directories_made_to_hold_a_deep_entry_are_listed_by_a_snapshot() {
    let archive = legacy(
        &[
            layer_of(&[Spec::file("a/b/c/d/file", b"abc")]),
            layer_of(&[Spec::file("a/b/.wh.c", b""), Spec::file("a/b/new", b"n")]),
        ],
        false,
    );
    let snapshot =
        snapshot_archive(archive.as_slice(), &mut |_| ControlFlow::Continue(())).expect("snapshot");
    let listed: Vec<(&str, EntryKind)> = snapshot
        .entries
        .iter()
        .map(|(path, entry)| (path.as_str(), entry.kind))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("/a", EntryKind::Dir),
            ("/a/b", EntryKind::Dir),
            ("/a/b/new", EntryKind::File)
        ]
    );
}

#[test]
fn a_hard_link_group_is_charged_to_its_first_path_in_path_order() {
    // "a-x" sorts before "a/…" ('-' before '/'), though "a" comes first as a directory name.
    let report = audit_layers(&[Layer::new()
        .file("a/z/target", 40)
        .hardlink("a-x", "a/z/target")
        .tar()]);
    let bytes = |name: &str| {
        report
            .tree
            .children
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.bytes)
    };
    assert_eq!((bytes("a-x"), bytes("a")), (Some(40), Some(0)));
    assert_eq!(report.tree.bytes, 40);
}

/// An archive whose manifest lists `layer` `times` times.
fn listed_again(layer: &[u8], times: usize) -> Vec<u8> {
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": "c.json",
        "Layers": vec!["one/layer.tar"; times],
    }]))
    .expect("manifest");
    let mut archive = tar::Builder::new(Vec::new());
    put(&mut archive, "one/layer.tar", layer);
    put(&mut archive, "c.json", &config(times));
    put(&mut archive, "manifest.json", &manifest);
    archive.into_inner().expect("archive")
}

#[test]
fn a_layer_listed_many_times_is_read_once_and_shared() {
    let layer = Layer::new().file("a", 3).file("b", 4).tar();
    let archive = listed_again(&layer, 50);
    let (layers, _config) = archive::read_image(archive.as_slice(), Reading::Sizes, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect("read");
    assert_eq!(layers.len(), 50);
    assert!(layers
        .iter()
        .all(|l| std::rc::Rc::ptr_eq(&l.summary, &layers[0].summary)));

    let report = audit(&archive).expect("audit");
    assert_eq!(totals(&report), (350, 7, 343, 343));
    assert_eq!(per_layer(&report)[49], (7, 0, 2, 0, 0));
}

#[test]
fn a_manifest_repeating_a_layer_beyond_reason_is_malformed() {
    let mut layer = Layer::new();
    for i in 0..1000 {
        layer = layer.file(&format!("f{i}"), 0);
    }
    // A thousand entries a thousand times over would take the merge a thousand times the
    // memory of the image.
    assert_malformed(audit(&listed_again(&layer.tar(), 1000)), "1000 listings");
}

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

#[test]
fn cancel_is_heard_while_the_layers_are_stacked_and_the_report_is_made() {
    let mut layer = Layer::new();
    for i in 0..merge::CHECK_EVERY + 10 {
        layer = layer.file(&format!("d/f{i}"), 0);
    }
    let archive = legacy(&[layer.tar()], false);
    let mut heard = Vec::new();
    audit_archive(archive.as_slice(), &mut |n| {
        heard.push(n);
        ControlFlow::Continue(())
    })
    .expect("audit");
    // Reading ends with the total; the merge and the finish then repeat it.
    let total = heard.last().copied().expect("heard");
    let read_ends = heard.iter().position(|&n| n == total).expect("total");
    assert!(heard.len() - read_ends >= 4, "{heard:?}");

    for stop_at in read_ends + 1..heard.len() {
        let mut calls = 0;
        let result = audit_archive(archive.as_slice(), &mut |_| {
            calls += 1;
            if calls > stop_at {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(
            matches!(result, Err(Error::Cancelled)),
            "{stop_at}: {result:?}"
        );
        assert_eq!(calls, stop_at + 1, "it stops at once");
    }
}

// Snapshots and their comparison.

const CAPABILITY: &str = "security.capability";
/// `cap_net_raw+ep` as `setcap` writes it (VFS_CAP_REVISION_2).
const NET_RAW: &[u8] =
    b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
/// An ACL as GNU tar writes it in a `SCHILY.acl.access` record.
const TAR_ACL: &str = "user::rw-,user:bob:r--,group::r--,mask::r--,other::r--";
/// `user::rwx,user:1001:r-x,group::r-x,mask::r-x,other::---`, as tag, permissions, id.
const ACCESS_ACL: [(u16, u16, u32); 5] = [
    (0x01, 7, u32::MAX),
    (0x02, 5, 1001),
    (0x04, 5, u32::MAX),
    (0x10, 5, u32::MAX),
    (0x20, 0, u32::MAX),
];

/// A POSIX ACL as the kernel stores it in a `system.posix_acl_*` xattr.
fn posix_acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut bytes = 2u32.to_le_bytes().to_vec();
    for (tag, permissions, id) in entries {
        bytes.extend(tag.to_le_bytes());
        bytes.extend(permissions.to_le_bytes());
        bytes.extend(id.to_le_bytes());
    }
    bytes
}

/// One entry of a layer with all the metadata a snapshot keeps.
#[derive(Clone)]
struct Spec {
    kind: EntryType,
    path: String,
    content: Vec<u8>,
    mode: u32,
    owner: (u64, u64),
    /// A symlink's or a hard link's target.
    link: Option<String>,
    device: (u32, u32),
    /// PAX records before the entry's header: xattrs, ACLs.
    records: Vec<(String, Vec<u8>)>,
}

impl Spec {
    fn new(kind: EntryType, path: &str) -> Self {
        Spec {
            kind,
            path: path.into(),
            content: Vec::new(),
            mode: if kind == EntryType::Directory {
                0o755
            } else {
                0o644
            },
            owner: (0, 0),
            link: None,
            device: (0, 0),
            records: Vec::new(),
        }
    }

    fn file(path: &str, content: &[u8]) -> Self {
        Spec {
            content: content.to_vec(),
            ..Spec::new(EntryType::Regular, path)
        }
    }

    fn dir(path: &str) -> Self {
        Spec::new(EntryType::Directory, path)
    }

    fn symlink(path: &str, target: &str) -> Self {
        Spec {
            link: Some(target.into()),
            mode: 0o777,
            ..Spec::new(EntryType::Symlink, path)
        }
    }

    fn hardlink(path: &str, target: &str) -> Self {
        Spec {
            link: Some(target.into()),
            ..Spec::new(EntryType::Link, path)
        }
    }

    fn device(kind: EntryType, path: &str, major: u32, minor: u32) -> Self {
        Spec {
            device: (major, minor),
            mode: 0o666,
            ..Spec::new(kind, path)
        }
    }

    fn mode(self, mode: u32) -> Self {
        Spec { mode, ..self }
    }

    fn owner(self, uid: u64, gid: u64) -> Self {
        Spec {
            owner: (uid, gid),
            ..self
        }
    }

    fn capability(self, bytes: &[u8]) -> Self {
        self.xattr(CAPABILITY, bytes)
    }

    fn xattr(self, name: &str, bytes: &[u8]) -> Self {
        self.record(&format!("SCHILY.xattr.{name}"), bytes)
    }

    fn record(mut self, key: &str, bytes: &[u8]) -> Self {
        self.records.push((key.into(), bytes.to_vec()));
        self
    }

    /// The modification time as a PAX record (`1700000000.25`); the header's stays 0.
    fn mtime(self, pax: &str) -> Self {
        self.record("mtime", pax.as_bytes())
    }
}

fn layer_of(specs: &[Spec]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for spec in specs {
        if !spec.records.is_empty() {
            let records = spec.records.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            tar.append_pax_extensions(records).expect("pax");
        }
        let mut header = Header::new_gnu();
        header.set_entry_type(spec.kind);
        header.set_mode(spec.mode);
        header.set_uid(spec.owner.0);
        header.set_gid(spec.owner.1);
        header.set_size(spec.content.len() as u64);
        header.set_device_major(spec.device.0).expect("major");
        header.set_device_minor(spec.device.1).expect("minor");
        match &spec.link {
            Some(target) => tar.append_link(&mut header, &spec.path, target),
            // The tar crate refuses to name an entry `./`: the root goes in as written.
            None if spec.path == "./" || spec.path == "/" => {
                header.as_old_mut().name[..spec.path.len()].copy_from_slice(spec.path.as_bytes());
                header.set_cksum();
                tar.append(&header, io::empty())
            }
            None => tar.append_data(&mut header, &spec.path, spec.content.as_slice()),
        }
        .expect("append");
    }
    tar.into_inner().expect("finish layer")
}

/// A tree with one of everything a squash must keep.
fn reference_tree() -> Vec<Spec> {
    vec![
        Spec::dir("bin"),
        Spec::file("bin/busybox", b"#!busybox"),
        Spec::symlink("bin/sh", "busybox"),
        Spec::symlink("abs", "/bin/busybox"),
        Spec::dir("etc"),
        Spec::file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n").xattr("user.origin", b"base"),
        Spec::dir("usr"),
        Spec::dir("usr/bin"),
        Spec::file("usr/bin/su", b"su").mode(0o4755),
        Spec::file("usr/bin/ping", b"ping").capability(NET_RAW),
        Spec::dir("tmp").mode(0o1777),
        Spec::dir("home"),
        Spec::dir("home/user")
            .owner(1000, 1000)
            .mode(0o2750)
            .xattr("system.posix_acl_access", &posix_acl(&ACCESS_ACL))
            .xattr("system.posix_acl_default", &posix_acl(&ACCESS_ACL[..1])),
        Spec::file("home/user/notes", b"mine")
            .owner(1000, 1001)
            .record("SCHILY.acl.access", TAR_ACL.as_bytes()),
        Spec::dir("empty"),
        Spec::dir("run"),
        Spec::new(EntryType::Fifo, "run/pipe"),
        Spec::dir("dev"),
        Spec::device(EntryType::Char, "dev/null", 1, 3),
        Spec::device(EntryType::Block, "dev/sda", 8, 0),
        Spec::dir("data"),
        Spec::file("data/a", b"shared bytes"),
        Spec::hardlink("data/b", "data/a"),
        Spec::hardlink("data/c", "data/a"),
    ]
}

/// The snapshot's filesystem alone, without where in the archive each entry came from: what
/// two layouts of one image, or an image and its squash, have in common.
fn filesystem(mut snapshot: FsSnapshot) -> FsSnapshot {
    snapshot.layers.clear();
    snapshot.config.clear();
    for entry in snapshot.entries.values_mut().chain(snapshot.root.as_mut()) {
        entry.layer = None;
        entry.bytes_from = None;
    }
    snapshot
}

fn snapshot(layers: &[Vec<u8>]) -> FsSnapshot {
    snapshot_archive(legacy(layers, false).as_slice(), &mut |_| {
        ControlFlow::Continue(())
    })
    .expect("snapshot")
}

fn snapshot_of(specs: &[Spec]) -> FsSnapshot {
    snapshot(&[layer_of(specs)])
}

/// Every difference, times compared exactly, with a token nobody fires.
fn compared(source: &FsSnapshot, result: &FsSnapshot) -> Vec<Difference> {
    compared_by(source, result, MtimeCheck::Exact).differences
}

fn compared_by(source: &FsSnapshot, result: &FsSnapshot, mtimes: MtimeCheck) -> FsComparison {
    compare(source, result, mtimes, &CancelToken::new()).expect("not cancelled")
}

fn tuples(found: Vec<Difference>) -> Vec<(String, DifferenceKind, String, String)> {
    found
        .into_iter()
        .map(|d| (d.path, d.what, d.source, d.result))
        .collect()
}

/// The reference tree with `edit` applied, compared against the reference tree.
fn differences_after(
    edit: impl FnOnce(&mut Vec<Spec>),
) -> Vec<(String, DifferenceKind, String, String)> {
    let mut edited = reference_tree();
    edit(&mut edited);
    tuples(compared(
        &snapshot_of(&reference_tree()),
        &snapshot_of(&edited),
    ))
}

fn spec_at<'a>(specs: &'a mut [Spec], path: &str) -> &'a mut Spec {
    specs
        .iter_mut()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("no {path} in the tree"))
}

fn difference(
    path: &str,
    what: DifferenceKind,
    source: &str,
    result: &str,
) -> (String, DifferenceKind, String, String) {
    (path.into(), what, source.into(), result.into())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_snapshot_keeps_every_entrys_metadata() {
    let snapshot = snapshot_of(&reference_tree());
    let entry = |path: &str| {
        snapshot
            .entries
            .get(path)
            .unwrap_or_else(|| panic!("no {path}"))
    };
    assert_eq!(snapshot.entries.len(), reference_tree().len());
    assert!(!snapshot.entries.contains_key("/"), "the root is left out");

    let su = entry("/usr/bin/su");
    assert_eq!((su.kind, su.mode, su.size), (EntryKind::File, 0o4755, 2));
    let notes = entry("/home/user/notes");
    assert_eq!((notes.uid, notes.gid), (1000, 1001));
    let home = entry("/home/user");
    assert_eq!(
        (home.kind, home.mode, home.uid),
        (EntryKind::Dir, 0o2750, 1000)
    );
    assert_eq!(entry("/tmp").mode, 0o1777);
    assert_eq!(entry("/bin/sh").link_target.as_deref(), Some("busybox"));
    assert_eq!(entry("/abs").link_target.as_deref(), Some("/bin/busybox"));
    assert_eq!(
        entry("/dev/null").kind,
        EntryKind::CharDevice { major: 1, minor: 3 }
    );
    assert_eq!(
        entry("/dev/sda").kind,
        EntryKind::BlockDevice { major: 8, minor: 0 }
    );
    assert_eq!(entry("/run/pipe").kind, EntryKind::Fifo);
    assert_eq!(entry("/usr/bin/ping").capability(), Some(NET_RAW));
    assert_eq!(entry("/usr/bin/su").capability(), None);
    assert_eq!(
        entry("/etc/passwd")
            .xattrs
            .get("user.origin")
            .map(Vec::as_slice),
        Some(b"base".as_slice())
    );
    assert_eq!(
        entry("/home/user")
            .xattrs
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["system.posix_acl_access", "system.posix_acl_default"]
    );
    assert_eq!(
        entry("/home/user/notes")
            .acls
            .get("access")
            .map(Vec::as_slice),
        Some(TAR_ACL.as_bytes())
    );
    assert_eq!(snapshot.root, None, "no layer has a root entry");

    let a = entry("/data/a");
    let hash: String = a
        .sha256
        .expect("hashed")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, sha256_hex(b"shared bytes"));
    assert_eq!(entry("/run/pipe").sha256, None);
    // The hard links are the same inode: same bytes, one group.
    assert_eq!(entry("/data/c").sha256, a.sha256);
    assert_eq!(entry("/data/c").size, 12);
    assert_eq!(
        snapshot.hard_link_groups,
        vec![vec![
            "/data/a".to_owned(),
            "/data/b".into(),
            "/data/c".into()
        ]]
    );
    assert_eq!(
        snapshot.hard_links_of("/data/b").map(<[String]>::len),
        Some(3)
    );
    assert_eq!(snapshot.hard_links_of("/etc/passwd"), None);
}

#[test]
fn identical_trees_have_no_differences_in_any_layout() {
    let layer = layer_of(&reference_tree());
    let expected = snapshot(std::slice::from_ref(&layer));
    assert_eq!(compared(&expected, &expected), vec![]);
    let archives = [
        (
            "legacy, manifest first",
            legacy(std::slice::from_ref(&layer), true),
        ),
        ("oci, gzip", oci(&[gzip(&layer)], true)),
        ("oci, zstd, no manifest.json", oci(&[zstd(&layer)], false)),
    ];
    for (name, archive) in archives {
        let other =
            snapshot_archive(archive.as_slice(), &mut |_| ControlFlow::Continue(())).expect(name);
        assert_eq!(filesystem(other), filesystem(expected.clone()), "{name}");
    }
}

#[test]
fn a_changed_byte_is_a_content_difference() {
    let passwd = b"root:x:0:0::/root:/bin/sh\n";
    let changed = b"root:x:0:0::/root:/bin/zh\n";
    let found = differences_after(|tree| spec_at(tree, "etc/passwd").content = changed.to_vec());
    assert_eq!(
        found,
        vec![difference(
            "/etc/passwd",
            DifferenceKind::Content,
            &format!("sha256:{}", sha256_hex(passwd)),
            &format!("sha256:{}", sha256_hex(changed))
        )]
    );
}

#[test]
fn a_longer_file_is_a_size_difference_only() {
    let found = differences_after(|tree| spec_at(tree, "bin/busybox").content.push(b'!'));
    assert_eq!(
        found,
        vec![difference(
            "/bin/busybox",
            DifferenceKind::Size,
            "9 bytes",
            "10 bytes"
        )]
    );
}

#[test]
fn mode_changes_are_found_setuid_setgid_and_sticky_included() {
    let found = differences_after(|tree| {
        spec_at(tree, "usr/bin/su").mode = 0o755;
        spec_at(tree, "home/user").mode = 0o750;
        spec_at(tree, "tmp").mode = 0o777;
        // Linux has no symlink modes: nothing to report.
        spec_at(tree, "bin/sh").mode = 0o755;
    });
    assert_eq!(
        found,
        vec![
            difference("/home/user", DifferenceKind::Mode, "2750", "0750"),
            difference("/tmp", DifferenceKind::Mode, "1777", "0777"),
            difference("/usr/bin/su", DifferenceKind::Mode, "4755", "0755"),
        ]
    );
}

#[test]
fn owner_changes_are_found() {
    let found = differences_after(|tree| {
        spec_at(tree, "home/user/notes").owner = (0, 0);
        spec_at(tree, "bin/sh").owner = (0, 5);
    });
    assert_eq!(
        found,
        vec![
            difference("/bin/sh", DifferenceKind::Owner, "0:0", "0:5"),
            difference(
                "/home/user/notes",
                DifferenceKind::Owner,
                "1000:1001",
                "0:0"
            ),
        ]
    );
}

#[test]
fn a_retargeted_symlink_is_found() {
    let found = differences_after(|tree| spec_at(tree, "abs").link = Some("bin/busybox".into()));
    assert_eq!(
        found,
        vec![difference(
            "/abs",
            DifferenceKind::LinkTarget,
            "/bin/busybox",
            "bin/busybox"
        )]
    );
}

#[test]
fn missing_and_extra_entries_are_found_and_a_missing_directory_is_one_difference() {
    let found = differences_after(|tree| {
        tree.retain(|s| s.path != "etc/passwd" && !s.path.starts_with("home"));
        tree.push(Spec::file("etc/shadow", b"root:*:"));
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/etc/passwd",
                DifferenceKind::Missing,
                "regular file, 26 bytes",
                "absent"
            ),
            difference(
                "/etc/shadow",
                DifferenceKind::Extra,
                "absent",
                "regular file, 7 bytes"
            ),
            difference(
                "/home",
                DifferenceKind::Missing,
                "directory with 2 entries",
                "absent"
            ),
        ]
    );
}

/// What BuildKit does to special files: a FIFO becomes a regular file (or is dropped), a
/// device node an empty regular file.
#[test]
fn special_files_turned_into_regular_files_are_type_differences() {
    let found = differences_after(|tree| {
        *spec_at(tree, "run/pipe") = Spec::file("run/pipe", b"");
        *spec_at(tree, "dev/null") = Spec::file("dev/null", b"");
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/dev/null",
                DifferenceKind::Type,
                "character device 1:3",
                "regular file, 0 bytes"
            ),
            difference(
                "/run/pipe",
                DifferenceKind::Type,
                "FIFO",
                "regular file, 0 bytes"
            ),
        ]
    );
}

#[test]
fn a_directory_turned_into_a_file_is_one_difference() {
    let found = differences_after(|tree| {
        tree.retain(|s| !s.path.starts_with("home/"));
        *spec_at(tree, "home") = Spec::file("home", b"x");
    });
    assert_eq!(
        found,
        vec![difference(
            "/home",
            DifferenceKind::Type,
            "directory with 2 entries",
            "regular file, 1 bytes"
        )]
    );
}

#[test]
fn renumbered_devices_are_found() {
    let found = differences_after(|tree| spec_at(tree, "dev/sda").device = (8, 16));
    assert_eq!(
        found,
        vec![difference(
            "/dev/sda",
            DifferenceKind::Device,
            "8:0",
            "8:16"
        )]
    );
}

#[test]
fn a_dropped_capability_is_found() {
    let found = differences_after(|tree| spec_at(tree, "usr/bin/ping").records.clear());
    assert_eq!(
        found,
        vec![difference(
            "/usr/bin/ping",
            DifferenceKind::Capability,
            "0100000200200000000000000000000000000000",
            "none"
        )]
    );
}

#[test]
fn an_xattr_that_differs_is_found_by_name() {
    let found = differences_after(|tree| {
        spec_at(tree, "etc/passwd").records = vec![
            ("SCHILY.xattr.user.origin".into(), b"squashed".to_vec()),
            ("SCHILY.xattr.user.bytes".into(), vec![0, 0xff]),
        ];
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/etc/passwd",
                DifferenceKind::Xattr,
                "no user.bytes",
                "user.bytes = 0x00ff"
            ),
            difference(
                "/etc/passwd",
                DifferenceKind::Xattr,
                "user.origin = \"base\"",
                "user.origin = \"squashed\""
            ),
        ]
    );
    let found = differences_after(|tree| spec_at(tree, "etc/passwd").records.clear());
    assert_eq!(
        found,
        vec![difference(
            "/etc/passwd",
            DifferenceKind::Xattr,
            "user.origin = \"base\"",
            "no user.origin"
        )]
    );
}

#[test]
fn an_acl_that_differs_is_found_in_either_form() {
    const ACCESS: &str = "user::rwx,user:1001:r-x,group::r-x,mask::r-x,other::---";
    let found = differences_after(|tree| {
        let mut readable = ACCESS_ACL;
        readable[4].1 = 4;
        spec_at(tree, "home/user").records = vec![(
            "SCHILY.xattr.system.posix_acl_access".into(),
            posix_acl(&readable),
        )];
        spec_at(tree, "home/user/notes").records = vec![(
            "SCHILY.acl.access".into(),
            b"user::rw-,group::r--,other::r--".to_vec(),
        )];
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/home/user",
                DifferenceKind::Acl,
                &format!("system.posix_acl_access = {ACCESS}"),
                "system.posix_acl_access = user::rwx,user:1001:r-x,group::r-x,mask::r-x,other::r--"
            ),
            difference(
                "/home/user",
                DifferenceKind::Acl,
                "system.posix_acl_default = user::rwx",
                "no system.posix_acl_default"
            ),
            difference(
                "/home/user/notes",
                DifferenceKind::Acl,
                &format!("SCHILY.acl.access = {TAR_ACL:?}"),
                "SCHILY.acl.access = \"user::rw-,group::r--,other::r--\""
            ),
        ]
    );
    // The same ACL moved from GNU tar's record to the xattr is two differences: the forms
    // are compared as data, never taken for each other.
    let found = differences_after(|tree| {
        spec_at(tree, "home/user/notes").records = vec![(
            "SCHILY.xattr.system.posix_acl_access".into(),
            posix_acl(&ACCESS_ACL),
        )];
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/home/user/notes",
                DifferenceKind::Acl,
                "no system.posix_acl_access",
                &format!("system.posix_acl_access = {ACCESS}")
            ),
            difference(
                "/home/user/notes",
                DifferenceKind::Acl,
                &format!("SCHILY.acl.access = {TAR_ACL:?}"),
                "no SCHILY.acl.access"
            ),
        ]
    );
}

#[test]
fn the_root_directorys_own_metadata_is_compared() {
    let files = vec![Spec::dir("etc"), Spec::file("etc/passwd", b"root")];
    let with_root = |root: &Spec| snapshot_of(&[vec![root.clone()], files.clone()].concat());
    let private = Spec::dir("./")
        .mode(0o700)
        .owner(5, 6)
        .xattr("user.origin", b"root");
    let source = with_root(&private);
    let root = source.root.as_ref().expect("the root entry is kept");
    assert_eq!(
        (root.kind, root.mode, root.uid, root.gid, root.size),
        (EntryKind::Dir, 0o700, 5, 6, 0)
    );
    assert!(!source.entries.contains_key("/"), "kept apart");

    // A result with no root entry has the root Docker makes.
    let without = snapshot_of(&files);
    assert_eq!(without.root, None);
    assert_eq!(
        tuples(compared(&source, &without)),
        vec![
            difference("/", DifferenceKind::Mode, "0700", "0755"),
            difference("/", DifferenceKind::Owner, "5:6", "0:0"),
            difference(
                "/",
                DifferenceKind::Xattr,
                "user.origin = \"root\"",
                "no user.origin"
            ),
        ]
    );
    assert_eq!(compared(&source, &with_root(&private)), vec![]);
    assert_eq!(compared(&with_root(&Spec::dir("/")), &without), vec![]);
    assert_eq!(compared(&without, &without), vec![]);

    // The topmost layer with a root entry wins, as for any directory.
    let files_layer = layer_of(&files);
    let over = snapshot(&[
        layer_of(std::slice::from_ref(&private)),
        layer_of(&[Spec::dir("/").mode(0o751)]),
        files_layer.clone(),
    ]);
    assert_eq!(
        over.root.map(|root| (root.mode, root.uid)),
        Some((0o751, 0))
    );
    let under = snapshot(&[layer_of(std::slice::from_ref(&private)), files_layer]);
    assert_eq!(compared(&under, &source), vec![]);

    // The audit reads no metadata, the root's neither.
    let summary =
        layer::summarise(layer_of(&[private]).as_slice(), layer::Reading::Sizes).expect("read");
    assert!(summary.root.is_none() && summary.changes.is_empty());
}

#[test]
fn a_group_of_16001_hard_links_compares_in_linear_time() {
    const LINKS: usize = 16_000;
    let name = |i: usize| format!("links/f{i:05}");
    let mut specs = vec![Spec::dir("links"), Spec::file(&name(0), b"one inode")];
    specs.extend((1..=LINKS).map(|i| Spec::hardlink(&name(i), &name(0))));
    let source = snapshot_of(&specs);
    assert_eq!(
        source
            .hard_link_groups
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        [LINKS + 1]
    );
    assert_eq!(compared(&source, &source), vec![]);

    // The last name a copy instead of a link: two differences, however large the group, and
    // texts that name ten paths.
    *specs.last_mut().expect("links") = Spec::file(&name(LINKS), b"one inode");
    let ten: Vec<String> = (0..10).map(|i| format!("/{}", name(i))).collect();
    let ten = ten.join(", ");
    assert_eq!(
        tuples(compared(&source, &snapshot_of(&specs))),
        vec![
            difference(
                "/links/f00000",
                DifferenceKind::HardLinks,
                &format!("{ten} and 15991 more"),
                &format!("{ten} and 15990 more")
            ),
            difference(
                "/links/f16000",
                DifferenceKind::HardLinks,
                &format!("{ten} and 15991 more"),
                "not hard-linked"
            ),
        ]
    );
}

#[test]
fn a_fired_token_stops_the_comparison() {
    let tree = snapshot_of(&reference_tree());
    let cancel = CancelToken::new();
    cancel.cancel();
    let result = compare(&tree, &tree, MtimeCheck::Exact, &cancel);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
}

#[tokio::test]
async fn the_comparison_runs_on_the_blocking_pool() {
    let mut edited = reference_tree();
    spec_at(&mut edited, "usr/bin/su").mode = 0o755;
    let source = std::sync::Arc::new(snapshot_of(&reference_tree()));
    let result = std::sync::Arc::new(snapshot_of(&edited));
    let found = compare_on_blocking_pool(
        source.clone(),
        result.clone(),
        MtimeCheck::Exact,
        CancelToken::new(),
    )
    .await
    .expect("compared");
    assert_eq!(
        tuples(found.differences),
        vec![difference(
            "/usr/bin/su",
            DifferenceKind::Mode,
            "4755",
            "0755"
        )]
    );
    let cancel = CancelToken::new();
    cancel.cancel();
    let stopped = compare_on_blocking_pool(source, result, MtimeCheck::Exact, cancel).await;
    assert!(matches!(stopped, Err(Error::Cancelled)), "{stopped:?}");
}

#[test]
fn a_split_hard_link_group_is_found_once_per_new_group() {
    let found = differences_after(|tree| {
        *spec_at(tree, "data/c") = Spec::file("data/c", b"shared bytes");
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/data/a",
                DifferenceKind::HardLinks,
                "/data/a, /data/b, /data/c",
                "/data/a, /data/b"
            ),
            difference(
                "/data/c",
                DifferenceKind::HardLinks,
                "/data/a, /data/b, /data/c",
                "not hard-linked"
            ),
        ]
    );
    // A link made where there was none is found from the other side.
    let found = differences_after(|tree| {
        *spec_at(tree, "etc/passwd") = Spec::hardlink("etc/passwd", "bin/busybox");
    });
    assert_eq!(
        found,
        vec![
            difference(
                "/bin/busybox",
                DifferenceKind::HardLinks,
                "not hard-linked",
                "/bin/busybox, /etc/passwd"
            ),
            difference("/etc/passwd", DifferenceKind::Size, "26 bytes", "9 bytes"),
            // A link has its target's xattrs.
            difference(
                "/etc/passwd",
                DifferenceKind::Xattr,
                "user.origin = \"base\"",
                "no user.origin"
            ),
        ]
    );
    // A missing member is reported as missing, not as a broken group.
    let found = differences_after(|tree| tree.retain(|s| s.path != "data/c"));
    assert_eq!(
        found,
        vec![difference(
            "/data/c",
            DifferenceKind::Missing,
            "regular file, 12 bytes",
            "absent"
        )]
    );
}

#[test]
fn layers_are_resolved_before_comparing() {
    // Three layers: whiteouts, an opaque directory, a directory replaced by a file, a file
    // whose mode a later layer changed, a hard link made across layers and one broken.
    let layers = [
        layer_of(&[
            Spec::dir("app"),
            Spec::file("app/deleted", b"gone"),
            Spec::file("app/mode", b"m"),
            Spec::dir("app/opaque"),
            Spec::file("app/opaque/old", b"old"),
            Spec::dir("app/replaced"),
            Spec::file("app/replaced/inner", b"in"),
            Spec::file("app/linked", b"one inode"),
            Spec::hardlink("app/linked-too", "app/linked"),
            Spec::file("app/base", b"base"),
            Spec::new(EntryType::Fifo, "app/pipe"),
        ]),
        layer_of(&[
            Spec::dir("app"),
            Spec::file("app/.wh.deleted", b""),
            Spec::file("app/mode", b"m").mode(0o4711).owner(7, 8),
            Spec::dir("app/opaque").mode(0o700),
            Spec::file("app/opaque/.wh..wh..opq", b""),
            Spec::file("app/opaque/new", b"new"),
            Spec::file("app/replaced", b"a file now"),
            Spec::hardlink("app/base-link", "app/base"),
        ]),
        layer_of(&[
            Spec::dir("app"),
            // Written to through one name: a copy-up breaks the link.
            Spec::file("app/linked-too", b"one inode, changed"),
            Spec::hardlink("app/pipe-link", "app/pipe"),
        ]),
    ];
    let flattened = layer_of(&[
        Spec::dir("app"),
        Spec::file("app/mode", b"m").mode(0o4711).owner(7, 8),
        Spec::dir("app/opaque").mode(0o700),
        Spec::file("app/opaque/new", b"new"),
        Spec::file("app/replaced", b"a file now"),
        Spec::file("app/linked", b"one inode"),
        Spec::file("app/linked-too", b"one inode, changed"),
        Spec::file("app/base", b"base"),
        Spec::hardlink("app/base-link", "app/base"),
        Spec::new(EntryType::Fifo, "app/pipe"),
        Spec::hardlink("app/pipe-link", "app/pipe"),
    ]);
    let source = snapshot(&layers);
    let result = snapshot(&[flattened]);
    assert_eq!(compared(&source, &result), vec![]);
    assert_eq!(filesystem(source.clone()), filesystem(result));
    assert_eq!(
        source.hard_link_groups,
        vec![
            vec!["/app/base".to_owned(), "/app/base-link".into()],
            vec!["/app/pipe".to_owned(), "/app/pipe-link".into()],
        ]
    );

    // And the other way round, a plain file where the source has a link pair is caught.
    let unlinked = layer_of(&[
        Spec::dir("app"),
        Spec::file("app/mode", b"m").mode(0o4711).owner(7, 8),
        Spec::dir("app/opaque").mode(0o700),
        Spec::file("app/opaque/new", b"new"),
        Spec::file("app/replaced", b"a file now"),
        Spec::file("app/linked", b"one inode"),
        Spec::file("app/linked-too", b"one inode, changed"),
        Spec::file("app/base", b"base"),
        Spec::file("app/base-link", b"base"),
        Spec::new(EntryType::Fifo, "app/pipe"),
        Spec::hardlink("app/pipe-link", "app/pipe"),
    ]);
    let found: Vec<(String, DifferenceKind)> = compared(&source, &snapshot(&[unlinked]))
        .into_iter()
        .map(|d| (d.path, d.what))
        .collect();
    // Once for the pair, not once per path.
    assert_eq!(
        found,
        vec![("/app/base".to_owned(), DifferenceKind::HardLinks)]
    );
}

#[test]
fn a_directory_only_implied_by_a_deeper_entry_is_0755_root() {
    let snapshot = snapshot_of(&[Spec::file("implied/dir/file", b"x").owner(5, 5)]);
    let dir = snapshot.entries.get("/implied/dir").expect("made");
    assert_eq!(
        (dir.kind, dir.mode, dir.uid, dir.gid, dir.mtime),
        (EntryKind::Dir, 0o755, 0, 0, None),
        "its time is the unpacking's"
    );
}

/// A tree whose times have fractions of a second, one outside what Docker unpacks, and a
/// root entry; every entry of the hard-link group has one time, as a filesystem gives it.
fn timed_tree() -> Vec<Spec> {
    vec![
        Spec::dir("./").mtime("1700000000.111111111"),
        Spec::dir("dir").mtime("1700000001.25"),
        Spec::file("dir/file", b"x").mtime("1700000003.123456789"),
        Spec::hardlink("dir/hard", "dir/file").mtime("1700000003.123456789"),
        Spec::symlink("dir/link", "file").mtime("1700000005.75"),
        Spec::file("dir/whole", b"w").mtime("1700000004"),
        Spec::dir("empty").mtime("1700000007.000000001"),
        Spec::file("old", b"o").mtime("-1.5"),
    ]
}

/// The timed tree as a copy writes it, given each entry's new time; no root entry.
fn timed_copy(times: &[(&str, &str)]) -> FsSnapshot {
    let specs: Vec<Spec> = timed_tree()
        .into_iter()
        .filter(|spec| spec.path != "./")
        .map(|spec| {
            let time = times.iter().find(|(path, _)| *path == spec.path);
            let Some((_, time)) = time else {
                panic!("no time for {}", spec.path);
            };
            let records = spec.records.iter().filter(|(key, _)| key != "mtime");
            Spec {
                records: records.cloned().collect(),
                ..spec.clone()
            }
            .mtime(time)
        })
        .collect();
    snapshot_of(&specs)
}

fn mtimes_found(found: &FsComparison) -> Vec<(MtimeLoss, u64, &str, &str, &str)> {
    found
        .mtimes_let_through
        .iter()
        .map(|lost| {
            let first = &lost.first;
            assert_eq!(first.what, DifferenceKind::Mtime);
            let (path, source, result) = (&first.path, &first.source, &first.result);
            (
                lost.why,
                lost.entries,
                path.as_str(),
                source.as_str(),
                result.as_str(),
            )
        })
        .collect()
}

#[test]
fn a_snapshot_keeps_each_entrys_time_to_the_nanosecond() {
    let snapshot = snapshot_of(&timed_tree());
    let time = |path: &str| snapshot.entries[path].mtime.map(Mtime::to_pax);
    assert_eq!(time("/dir/file").as_deref(), Some("1700000003.123456789"));
    assert_eq!(time("/dir/link").as_deref(), Some("1700000005.75"));
    assert_eq!(time("/empty").as_deref(), Some("1700000007.000000001"));
    assert_eq!(time("/old").as_deref(), Some("-1.5"));
    let root = snapshot.root.expect("a root entry").mtime;
    assert_eq!(
        root.map(Mtime::to_pax).as_deref(),
        Some("1700000000.111111111")
    );
    // Without a PAX record, the header's whole seconds.
    let plain = snapshot_of(&[Spec::file("f", b"")]);
    assert_eq!(plain.entries["/f"].mtime, Some(Mtime::default()));
}

/// What the classic builder wrote for the timed tree on Engine 20.10: each time cut to the
/// second, the one before 1970 set to the epoch, the root's entry dropped.
const CUT: &[(&str, &str)] = &[
    ("dir", "1700000001"),
    ("dir/file", "1700000003"),
    ("dir/hard", "1700000003"),
    ("dir/link", "1700000005"),
    ("dir/whole", "1700000004"),
    ("empty", "1700000007"),
    ("old", "0"),
];

#[test]
fn whole_seconds_let_cut_times_through_and_count_them() {
    let found = compared_by(
        &snapshot_of(&timed_tree()),
        &timed_copy(CUT),
        MtimeCheck::WholeSeconds,
    );
    assert_eq!(found.differences, vec![]);
    assert_eq!(
        mtimes_found(&found),
        vec![
            (
                MtimeLoss::Fraction,
                5,
                "/dir",
                "1700000001.25",
                "1700000001"
            ),
            (MtimeLoss::OutOfRange, 1, "/old", "-1.5", "0"),
            (
                MtimeLoss::Unstamped,
                1,
                "/",
                "1700000000.111111111",
                "none: stamped when unpacked"
            ),
        ]
    );
}

#[test]
fn whole_seconds_let_rounded_times_through_too() {
    // Podman 4.3 rounds to the nearest second.
    let rounded = [
        ("dir", "1700000001"),
        ("dir/file", "1700000003"),
        ("dir/hard", "1700000003"),
        ("dir/link", "1700000006"),
        ("dir/whole", "1700000004"),
        ("empty", "1700000007"),
        ("old", "0"),
    ];
    let found = compared_by(
        &snapshot_of(&timed_tree()),
        &timed_copy(&rounded),
        MtimeCheck::WholeSeconds,
    );
    assert_eq!(found.differences, vec![]);
    assert_eq!(found.mtimes_let_through[0].entries, 5);
}

#[test]
fn a_time_a_second_or_more_away_is_a_difference_at_any_precision_but_ignore() {
    let moved = |path: &'static str, time: &'static str| -> Vec<(&str, &str)> {
        CUT.iter()
            .map(|&(p, t)| if p == path { (p, time) } else { (p, t) })
            .collect()
    };
    let source = snapshot_of(&timed_tree());
    for (path, time, shown) in [
        ("dir/whole", "1700000005", "1700000004"),
        ("dir/whole", "1700000003", "1700000004"),
        // A whole second kept with a fraction it never had.
        ("dir/whole", "1700000004.5", "1700000004"),
        // Two seconds up is not a rounding.
        ("dir", "1700000003", "1700000001.25"),
        // The epoch stands only for a time the daemon cannot unpack.
        ("empty", "0", "1700000007.000000001"),
    ] {
        let result = timed_copy(&moved(path, time));
        let found = compared_by(&source, &result, MtimeCheck::WholeSeconds);
        assert_eq!(
            tuples(found.differences),
            vec![difference(
                &format!("/{path}"),
                DifferenceKind::Mtime,
                shown,
                time
            )],
            "{path} at {time}"
        );
        assert!(compared_by(&source, &result, MtimeCheck::Ignore) == FsComparison::default());
    }
}

#[test]
fn exact_takes_nothing_but_the_same_time() {
    let source = snapshot_of(&timed_tree());
    let found = compared_by(&source, &timed_copy(CUT), MtimeCheck::Exact);
    let paths: Vec<&str> = found.differences.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/dir",
            "/dir/file",
            "/dir/hard",
            "/dir/link",
            "/empty",
            "/old"
        ]
    );
    assert!(found
        .differences
        .iter()
        .all(|d| d.what == DifferenceKind::Mtime));
    // Only the root, which no copy can be held to, is let through.
    assert_eq!(
        mtimes_found(&found)
            .iter()
            .map(|(why, ..)| *why)
            .collect::<Vec<_>>(),
        [MtimeLoss::Unstamped]
    );
    let tree = timed_tree();
    let kept: Vec<(&str, &str)> = tree
        .iter()
        .filter(|spec| spec.path != "./")
        .map(|spec| {
            (
                spec.path.as_str(),
                std::str::from_utf8(&spec.records[0].1).unwrap(),
            )
        })
        .collect();
    let exact = compared_by(&source, &timed_copy(&kept), MtimeCheck::Exact);
    assert_eq!(exact.differences, vec![]);
    let with_root = snapshot_of(&timed_tree());
    assert_eq!(
        compared_by(&source, &with_root, MtimeCheck::Exact),
        FsComparison::default()
    );
}

#[test]
fn a_time_only_one_side_describes_is_never_a_difference() {
    let implied = snapshot_of(&[Spec::file("a/b/file", b"x").mtime("1700000003")]);
    let described = snapshot_of(&[
        Spec::dir("a").mtime("1796194170"),
        Spec::dir("a/b").mtime("1796194170"),
        Spec::file("a/b/file", b"x").mtime("1700000003"),
    ]);
    // The source never gave `a` a time: the copy's stamp is no loss.
    let found = compared_by(&implied, &described, MtimeCheck::Exact);
    assert_eq!(found, FsComparison::default());
    // The other way round the source's times are lost, and counted.
    let found = compared_by(&described, &implied, MtimeCheck::WholeSeconds);
    assert_eq!(found.differences, vec![]);
    assert_eq!(
        mtimes_found(&found),
        vec![(
            MtimeLoss::Unstamped,
            2,
            "/a",
            "1796194170",
            "none: stamped when unpacked"
        )]
    );
}

#[test]
fn a_whole_difference_hides_the_time_and_other_differences_come_first() {
    let source = snapshot_of(&[Spec::file("f", b"x").mode(0o600).mtime("5")]);
    let retyped = snapshot_of(&[Spec::dir("f").mtime("9")]);
    assert_eq!(
        tuples(compared(&source, &retyped)),
        vec![difference(
            "/f",
            DifferenceKind::Type,
            "regular file, 1 bytes",
            "empty directory"
        )]
    );
    let changed = snapshot_of(&[Spec::file("f", b"x").mode(0o644).mtime("9")]);
    assert_eq!(
        tuples(compared(&source, &changed)),
        vec![
            difference("/f", DifferenceKind::Mode, "0600", "0644"),
            difference("/f", DifferenceKind::Mtime, "5", "9"),
        ]
    );
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
fn a_snapshot_fails_like_an_audit_on_a_bad_archive() {
    let archive = legacy(&[layer_of(&reference_tree())], false);
    let result = snapshot_archive(&archive[..archive.len() / 2], &mut |_| {
        ControlFlow::Continue(())
    });
    assert!(
        matches!(result, Err(Error::MalformedArchive(_))),
        "{result:?}"
    );
    let result = snapshot_archive(archive.as_slice(), &mut |_| ControlFlow::Break(()));
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
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

#[test]
fn differences_serialise_in_camel_case() {
    let found = compared(
        &snapshot_of(&[Spec::symlink("l", "a")]),
        &snapshot_of(&[Spec::symlink("l", "b")]),
    );
    let json = serde_json::to_value(&found).expect("json");
    assert_eq!(
        json,
        serde_json::json!([{ "path": "/l", "what": "linkTarget", "source": "a", "result": "b" }])
    );
    let timed = compared(
        &snapshot_of(&[Spec::file("f", b"").mtime("1.5")]),
        &snapshot_of(&[Spec::file("f", b"").mtime("1")]),
    );
    assert_eq!(
        serde_json::to_value(&timed).expect("json")[0]["what"],
        "mtime"
    );
}

#[test]
fn a_survey_is_the_audit_and_the_snapshot_from_one_reading() {
    let layers = [
        layer_of(&reference_tree()),
        layer_of(&[
            Spec::file("data/.wh.b", b""),
            Spec::file("etc/extra", b"later"),
        ]),
    ];
    let archive = legacy(&layers, false);
    let (report, files) =
        survey_archive(archive.as_slice(), &mut |_| ControlFlow::Continue(())).expect("survey");
    assert_eq!(report, audit(&archive).expect("audit"));
    assert_eq!(files, snapshot(&layers));
    assert!(files.entries.contains_key("/etc/extra"));
    assert!(!files.entries.contains_key("/data/b"));
}
