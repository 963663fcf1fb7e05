//! Test helpers shared by the integration tests (`src-tauri/{core,cli}/tests/`) and the
//! end-to-end tests (`tests/e2e`): fixture images built `FROM scratch` (nothing is ever pulled) and removed
//! again when the test ends, pass or fail. Unix only: a fixture's shell is a symlink to a static
//! busybox, and the daemons the tests run are Linux ones.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Runs the docker CLI (on DOCKER_HOST's daemon when it is set) and returns its output; panics
/// with stderr when it fails.
pub fn docker(args: &[&str]) -> String {
    let output = docker_output(args);
    assert!(
        output.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub fn docker_output(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        // The classic builder: no buildx plugin needed, same on every engine version here.
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("the docker CLI is installed (see README: the test command installs it)")
}

/// Every image ID on the daemon, intermediate ones included. Podman's list fails whole when
/// another test removes an image meanwhile ("… image not known", "checking if image … is
/// dangling: reading data blob size …"), and so does the containerd store's ("NotFound: content
/// digest …: not found"): it is asked again then.
pub fn all_image_ids() -> std::collections::HashSet<String> {
    docker_despite(
        &["images", "-a", "-q", "--no-trunc"],
        &["image not known", "is dangling", "content digest"],
        5,
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// [`docker`], run again (up to `tries` times in all) while it fails saying one of `hiccups`:
/// an engine's store losing something under it while other tests remove images.
pub fn docker_despite(args: &[&str], hiccups: &[&str], tries: u32) -> String {
    let mut attempt = 1;
    loop {
        let output = docker_output(args);
        if output.status.success() {
            return String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
        let said =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        assert!(
            attempt < tries && hiccups.iter().any(|h| said.contains(h)),
            "docker {} failed: {said}",
            args.join(" ")
        );
        attempt += 1;
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `docker import` of the layer tar at `path`, under a name of its own; returns the new
/// image's ID. Named because an untagged image is what another test's `docker image prune`
/// takes (seen on Engine 28.5: a squash lost its source mid-read). Podman's import prints the
/// ID twice, `sha256:…: sha256:…`.
pub fn import_layer(path: &Path) -> String {
    let name = unique_name("imported");
    docker(&["import", path.to_str().expect("a UTF-8 temp path"), &name]);
    docker(&["image", "inspect", "--format", "{{.Id}}", &name])
}

/// A name no other test, run or person uses, of one path component (`squashbox-test-…:…`): on
/// Docker Hub's registry such a name is an official image's, under `library/`.
pub fn unique_short_name(prefix: &str) -> String {
    unique_name(prefix).replacen('/', "-", 1)
}

/// A name no other test, run or person uses.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "squashbox-test/{prefix}:{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// An image built for one test. Dropping it removes its tag, any containers it records, and the
/// images it was built from, so nothing is left even when the test panics.
pub struct Fixture {
    pub tag: String,
    pub id: String,
    cleanup_images: Vec<String>,
    cleanup_containers: Vec<String>,
}

/// What goes into a fixture: files to write under the build context and the Dockerfile lines
/// after `FROM scratch` and the busybox copy.
pub struct FixtureSpec<'a> {
    pub name: &'a str,
    pub files: &'a [(&'a str, &'a [u8])],
    pub steps: &'a [&'a str],
}

impl Fixture {
    /// Builds `FROM scratch` + `/bin/busybox` (Debian's busybox-static) + `/bin/sh` + the spec.
    /// Built by the builder the engine's own CLI uses by default: BuildKit on the containerd
    /// image store (Docker Desktop, Engine 28), the classic builder on Engine 20.10 and Podman.
    pub fn build(spec: &FixtureSpec) -> Fixture {
        let builder = if containerd_store() {
            FixtureBuilder::BuildKit
        } else {
            FixtureBuilder::Classic
        };
        Fixture::build_by(spec, builder)
    }

    /// Built by the classic builder on every engine, as by `DOCKER_BUILDKIT=0 docker build`.
    pub fn build_classic(spec: &FixtureSpec) -> Fixture {
        Fixture::build_by(spec, FixtureBuilder::Classic)
    }

    fn build_by(spec: &FixtureSpec, builder: FixtureBuilder) -> Fixture {
        let tag = unique_name(spec.name);
        let context = tempfile::tempdir().expect("temp dir");
        let id = build_in(context.path(), &tag, spec, builder);
        Fixture {
            tag,
            id,
            cleanup_images: Vec::new(),
            cleanup_containers: Vec::new(),
        }
    }

    /// The smallest useful fixture: busybox plus one file, in two layers.
    pub fn small(name: &str) -> Fixture {
        Fixture::build(&FixtureSpec {
            name,
            files: &[("hello.txt", b"hello from a squashbox fixture\n")],
            steps: &["COPY hello.txt /hello.txt"],
        })
    }

    /// Creates (never starts) a container from this image; removed on drop.
    pub fn create_container(&mut self) -> String {
        let id = docker(&["create", &self.id, "/bin/sh"]);
        self.cleanup_containers.push(id.clone());
        id
    }

    /// The same, with a name of its own (one no other test uses).
    pub fn create_named_container(&mut self, name: &str) -> String {
        let id = docker(&["create", "--name", name, &self.id, "/bin/sh"]);
        self.cleanup_containers.push(id.clone());
        id
    }

    /// Moves this fixture's tag onto a new build, leaving the old image dangling; returns the
    /// dangling image's ID. Both are removed on drop.
    pub fn rebuild_leaving_dangling(&mut self) -> String {
        let old = self.id.clone();
        let context = tempfile::tempdir().expect("temp dir");
        let spec = FixtureSpec {
            name: "rebuilt",
            files: &[("other.txt", b"a different layer\n")],
            steps: &["COPY other.txt /other.txt"],
        };
        self.id = build_in(context.path(), &self.tag, &spec, FixtureBuilder::Classic);
        self.cleanup_images.push(old.clone());
        old
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for container in &self.cleanup_containers {
            let _ = docker_output(&["rm", "-f", container]);
        }
        let _ = docker_output(&["rmi", "-f", &self.tag]);
        let _ = docker_output(&["rmi", "-f", &self.id]);
        for image in &self.cleanup_images {
            let _ = docker_output(&["rmi", "-f", image]);
        }
    }
}

#[derive(Clone, Copy)]
enum FixtureBuilder {
    Classic,
    BuildKit,
}

fn build_in(dir: &Path, tag: &str, spec: &FixtureSpec, builder: FixtureBuilder) -> String {
    std::fs::create_dir_all(dir.join("rootfs/bin")).expect("rootfs");
    std::fs::copy(busybox(), dir.join("rootfs/bin/busybox")).expect("copy busybox");
    std::os::unix::fs::symlink("busybox", dir.join("rootfs/bin/sh")).expect("sh link");
    // Every fixture is an image of its own: two tests building the same steps would otherwise
    // share one image ID, and one test's clean-up would remove the other's image mid-test.
    std::fs::write(dir.join("rootfs/.squashbox-fixture"), tag).expect("fixture name");
    for (path, bytes) in spec.files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("fixture dir");
        }
        std::fs::write(target, bytes).expect("fixture file");
    }
    let mut dockerfile = String::from("FROM scratch\nCOPY rootfs/ /\n");
    for step in spec.steps {
        dockerfile.push_str(step);
        dockerfile.push('\n');
    }
    std::fs::write(dir.join("Dockerfile"), dockerfile).expect("Dockerfile");
    match builder {
        FixtureBuilder::Classic => classic_build(dir, tag),
        FixtureBuilder::BuildKit => buildkit_build(dir, tag),
    }
    // The ID as inspect gives it: Podman's `build -q` prints it without the `sha256:` that every
    // engine's inspect and image list put before it.
    docker(&["image", "inspect", "--format", "{{.Id}}", tag])
}

fn classic_build(dir: &Path, tag: &str) {
    let dir = dir.to_str().expect("utf-8 temp path");
    // Engine 28.5's containerd store sometimes loses a step's lease while other tests remove
    // images ("failed to export layer: … lease does not exist"), and Podman's cache lookup a
    // layer ("getting top layer info: layer not known"): the engine's hiccup, not the
    // fixture's, so such a build is run again.
    docker_despite(
        &["build", "-q", "-t", tag, dir],
        &["lease does not exist", "layer not known"],
        3,
    );
}

/// Through the Engine API's `/build?version=2`, as the core's BuildKit squash does: the CLI here
/// has no buildx plugin, which `DOCKER_BUILDKIT=1 docker build` needs on Engine 23 and later.
fn buildkit_build(dir: &Path, tag: &str) {
    let context = tempfile::NamedTempFile::new().expect("temp file");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["-cf"])
        .arg(context.path())
        .arg(".")
        .status()
        .expect("tar is installed");
    assert!(tar.success(), "tar of the fixture's context");
    let query = format!(
        "/build?version=2&dockerfile=Dockerfile&rm=1&forcerm=1&pull=0&t={}",
        tag.replace('/', "%2F").replace(':', "%3A")
    );
    let output = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--unix-socket"])
        .arg(daemon_socket())
        .args(["-X", "POST", "-H", "Content-Type: application/x-tar"])
        .arg("--data-binary")
        .arg(format!("@{}", context.path().display()))
        .arg(format!("http://docker{query}"))
        .output()
        .expect("curl is installed (the README test command installs it)");
    let answer = String::from_utf8_lossy(&output.stdout);
    // A failed step arrives in a 200 answer as an `error` line.
    let failed = answer
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|line| line["error"].as_str().map(str::to_owned));
    assert!(
        output.status.success() && failed.is_none(),
        "BuildKit build of {tag} failed: {failed:?} {answer} {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether the daemon under test is Podman, by the component `/version` names (once).
pub fn podman() -> bool {
    static PODMAN: OnceLock<bool> = OnceLock::new();
    *PODMAN.get_or_init(|| {
        daemon_get("/version")["Components"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["Name"].as_str().is_some_and(|n| n.contains("Podman")))
    })
}

/// Whether the daemon under test keeps its images in the containerd image store, read from
/// `/info` as the core reads it (once: a test run has one daemon).
pub fn containerd_store() -> bool {
    static STORE: OnceLock<bool> = OnceLock::new();
    *STORE.get_or_init(|| {
        daemon_get("/info")["DriverStatus"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|pair| {
                pair[0] == "driver-type"
                    && pair[1].as_str().is_some_and(|v| v.contains("containerd"))
            })
    })
}

fn busybox() -> PathBuf {
    let path = PathBuf::from("/bin/busybox");
    assert!(
        path.exists(),
        "/bin/busybox is missing: install Debian's busybox-static (the README test command does)"
    );
    path
}

/// The daemon's answer to a GET of `path` (`/images/json`), asked with curl rather than through
/// our client, so tests compare against an independent reading.
pub fn daemon_get(path: &str) -> serde_json::Value {
    let output = Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(daemon_socket())
        .arg(format!("http://docker{path}"))
        .output()
        .expect("curl is installed (the README test command installs it)");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{path} answers JSON ({e}): {output:?}"))
}

/// The images' bytes on disk as the daemon reports them (see [`daemon_df`]).
pub fn daemon_images_bytes() -> u64 {
    images_total(&daemon_df("type=image"))
}

/// `/system/df?{query}` (see [`daemon_get`]), asked again while the daemon answers with an
/// error: Engine 28.5's containerd store fails the count when another test removes an image
/// meanwhile ("snapshot … does not exist", "content digest … not found").
pub fn daemon_df(query: &str) -> serde_json::Value {
    let path = format!("/system/df?{query}");
    for _ in 1..5 {
        let answer = daemon_get(&path);
        if answer["message"].is_null() {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    daemon_get(&path)
}

/// The images total of a `/system/df` answer, in either of its shapes.
fn images_total(df: &serde_json::Value) -> u64 {
    df["ImageUsage"]["TotalSize"]
        .as_u64()
        .or_else(|| df["LayersSize"].as_u64())
        .unwrap_or_else(|| panic!("the daemon reports its images' size: {df}"))
}

/// [`daemon_df`] once its images total holds still (two readings 300 ms apart agree, at most
/// 3 s): on the containerd image store removed content is collected in the background.
pub fn daemon_df_settled(query: &str) -> serde_json::Value {
    let mut df = daemon_df(query);
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let again = daemon_df(query);
        let settled = images_total(&again) == images_total(&df);
        df = again;
        if settled {
            break;
        }
    }
    df
}

/// What a removal of `deleted` freed by the daemon's own figures, taken before and after it from
/// `/system/df?type=image&verbose=1` (see [`daemon_get`]): how far its images total fell, or,
/// where it gives none (Podman 4.3 answers `LayersSize: 0`), the bytes each removed image held
/// that no other did, before the removal.
pub fn daemon_reclaimed(
    before: &serde_json::Value,
    after: &serde_json::Value,
    deleted: &[String],
) -> u64 {
    let images = |df: &serde_json::Value| df["Images"].as_array().cloned().unwrap_or_default();
    let podman_zero =
        images_total(before) == 0 && images(before).iter().any(|i| i["Size"].as_u64() > Some(0));
    if !podman_zero {
        return images_total(before) - images_total(after);
    }
    images(before)
        .iter()
        .filter(|i| {
            let id = i["Id"].as_str().unwrap_or_default();
            deleted.iter().any(|d| {
                d.strip_prefix("sha256:").unwrap_or(d) == id.strip_prefix("sha256:").unwrap_or(id)
            })
        })
        .map(|i| i["Size"].as_u64().unwrap_or(0) - i["SharedSize"].as_u64().unwrap_or(0))
        .sum()
}

/// The socket of the daemon under test: DOCKER_HOST's when set, as for the core and the docker CLI
/// (scripts/test-engines.sh runs the tests on other engines that way), else the default one.
/// The socket the tests' own readings go through: SQUASHBOX_TEST_DAEMON_SOCKET when the code
/// under test reaches that daemon another way (ssh, TLS: scripts/test-remote.sh), else
/// DOCKER_HOST's.
fn daemon_socket() -> PathBuf {
    if let Some(socket) = std::env::var_os("SQUASHBOX_TEST_DAEMON_SOCKET") {
        return PathBuf::from(socket);
    }
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => match host.strip_prefix("unix://") {
            Some(socket) => PathBuf::from(socket),
            None => panic!("DOCKER_HOST={host}: the tests reach their daemon on a unix:// socket"),
        },
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

/// A data folder of the test run's own (the left-behind record, the audits' savings) unless the caller
/// (scripts/test.sh) chose one: tests never write to the user's data folder.
pub fn isolated_data_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("SQUASHBOX_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = tempfile::tempdir().expect("temp dir").keep();
            std::env::set_var("SQUASHBOX_DATA_DIR", &dir);
            dir
        }
    })
    .clone()
}

/// The record of what squashes left behind, in the [isolated data folder](isolated_data_dir).
pub fn isolated_left_behind() -> squashbox_core::left_behind::LeftBehind {
    isolated_data_dir();
    squashbox_core::left_behind::LeftBehind::default_location().expect("a data folder")
}

/// Removes an image the test made (not a fixture) when the test ends, however it ends.
pub struct Made(pub String);

impl Drop for Made {
    fn drop(&mut self) {
        let _ = docker_output(&["rmi", "-f", &self.0]);
    }
}

/// Bytes of the file the audit fixture writes and deletes later.
pub const DELETED: usize = 3000;
/// Bytes of the file it keeps (with a hard link to it).
pub const KEPT: usize = 700;

/// busybox, then a file written and deleted later, a file kept with a hard link to it. By the
/// classic builder on every engine: the figures below follow from how it stores a link made in
/// a later step (BuildKit on Engine 28.5's containerd store does not store the file again).
pub fn wasteful_fixture() -> Fixture {
    let deleted = vec![b'd'; DELETED];
    let kept = vec![b'k'; KEPT];
    Fixture::build_classic(&FixtureSpec {
        name: "audit",
        files: &[("deleted.bin", &deleted), ("kept.bin", &kept)],
        steps: &[
            "COPY deleted.bin /data/deleted.bin",
            "RUN [\"/bin/busybox\", \"rm\", \"/data/deleted.bin\"]",
            "COPY kept.bin /data/kept.bin",
            "RUN [\"/bin/busybox\", \"ln\", \"/data/kept.bin\", \"/data/kept-link\"]",
        ],
    })
}

/// An image no build can make, imported from a tar written here: a root entry (`./`) of mode
/// 0700 with an xattr, and a file with a `user.origin` xattr. `docker import` keeps the layer
/// byte for byte (`docker load` too, tried by hand); unpacking it, the daemon sets the file's
/// xattr and ignores the root entry.
pub fn xattr_image() -> Made {
    let mut layer = tar::Builder::new(Vec::new());
    layer
        .append_pax_extensions([("SCHILY.xattr.user.origin", b"root".as_slice())])
        .unwrap();
    // Every numeric field set: Go's tar reads an empty one as 0, ours refuses it.
    let header = |kind, mode, size| {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header
    };
    let mut root = header(tar::EntryType::Directory, 0o700, 0);
    // The tar crate refuses to name an entry `./`.
    root.as_old_mut().name[..2].copy_from_slice(b"./");
    root.set_cksum();
    layer.append(&root, std::io::empty()).unwrap();
    layer
        .append_pax_extensions([("SCHILY.xattr.user.origin", b"loaded".as_slice())])
        .unwrap();
    let content = b"a file with a user xattr\n";
    let mut file = header(tar::EntryType::Regular, 0o644, content.len() as u64);
    layer
        .append_data(&mut file, "origin.txt", content.as_slice())
        .unwrap();
    // Every such image its own: two tests copying the same content would share the classic
    // builder's cached copy, and one test's clean-up would remove the other's result mid-test.
    let name = unique_name("xattr");
    let mut own = header(tar::EntryType::Regular, 0o644, name.len() as u64);
    layer
        .append_data(&mut own, ".squashbox-fixture", name.as_bytes())
        .unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), layer.into_inner().unwrap()).unwrap();
    Made(import_layer(file.path()))
}
