//! Image archives built in memory, with numbers worked out by hand: the builders and the
//! assertion helpers the tests of every stage share, each written once. The tests themselves
//! are in one file per stage, named after the module they exercise.

use super::*;
use crate::job::CancelToken;
use crate::Error;
use std::io::{self, Write};
use tar::{EntryType, Header};

mod archive;
mod diff;
mod layer;
mod members;
mod merge;
mod snapshot;
mod tree;

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

fn assert_malformed(result: Result<AuditReport>, what: &str) {
    match result {
        Err(Error::MalformedArchive(_)) => {}
        other => panic!("{what}: expected a malformed archive, got {other:?}"),
    }
}

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

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
