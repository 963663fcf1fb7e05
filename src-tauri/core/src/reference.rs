//! Image references: the names people give images (`web`, `web:1.2`, `team/web:1.2`,
//! `registry.example.com:5000/team/web:1.2`, `web@sha256:…`), read by Docker's grammar and
//! compared the way the engine at hand compares them.
//!
//! ```
//! use squashbox_core::reference::{Naming, Reference};
//! let web = Reference::parse("web")?;
//! assert_eq!(web.to_normalized(), "docker.io/library/web:latest");
//! assert_eq!(web.repository(), "web");
//! assert_eq!(web.tag(), Some("latest"));
//! // Podman lists an image a person built as `web:1` as `localhost/web:1`, and finds it by `web:1`.
//! assert!(Naming::Podman.names("web:1", "localhost/web:1"));
//! assert!(!Naming::Docker.names("web:1", "localhost/web:1"));
//! # Ok::<(), squashbox_core::Error>(())
//! ```
//!
//! The grammar is distribution/reference's, which both engines use:
//! `[host[:port]/]path[:tag][@digest]`, the path's components lowercase letters and digits joined
//! by `.`, `_`, `__` or dashes, the tag `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. The first component is
//! a registry host when it has a `.` or a `:`, is `localhost`, or has an upper-case letter (a path
//! component cannot). A name without a host is Docker Hub's, `docker.io`, and a Hub name of one
//! component is an official image under `library/`.
//!
//! How each engine answers a name without a host (measured on Engine 20.10 and 28.5, and on
//! Podman 4.3's Docker-compatible socket):
//! - Docker lists and finds `web:1`, `library/web:1` and `docker.io/library/web:1` as one name and
//!   lists it in the short form, `web:1`.
//! - Podman lists full names. What its Docker-compatible API tags or builds as `web:1` it lists as
//!   `docker.io/library/web:1`; what `podman build -t web:1` makes, `localhost/web:1`. Asked for
//!   `web:1` it looks for `localhost/web:1` first, then `docker.io/library/web:1`; tagging as
//!   `web:1` moves `localhost/web:1` when that exists. `localhost/web:1` is not
//!   `docker.io/library/web:1`: each finds only itself.

use std::collections::HashSet;

use crate::daemon::DaemonInfo;
use crate::error::{Error, Result};

const DOCKER_HUB: &str = "docker.io";
/// What Docker once called the Hub; it reads it as `docker.io`.
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// Podman's registry for images made on this machine.
const PODMAN_LOCAL: &str = "localhost";
/// The tag a name without one means.
pub const DEFAULT_TAG: &str = "latest";
/// Docker's limit on a name (host and path, without the tag).
const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// A parsed image reference, keeping what was written: [`Reference::to_normalized`] gives the
/// full form, [`Reference::to_familiar`] Docker's short one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry host, with its port, as written; `None` for a name without one (the Hub's).
    host: Option<String>,
    /// The path, as written (no `library/` added).
    path: String,
    tag: Option<String>,
    /// `algorithm:hex`.
    digest: Option<String>,
}

impl Reference {
    /// Reads `text` by Docker's grammar. An error is [`Error::InvalidInput`] saying what is
    /// wrong, in words a person can act on.
    pub fn parse(text: &str) -> Result<Reference> {
        parse(text).map_err(|why| {
            Error::InvalidInput(format!("{text:?} is not a valid image reference: {why}"))
        })
    }

    /// The registry host as Docker reads it: `docker.io` when the name has none.
    pub fn host(&self) -> &str {
        match self.host.as_deref() {
            None | Some(DOCKER_HUB_LEGACY) => DOCKER_HUB,
            Some(host) => host,
        }
    }

    /// The repository as written, without tag or digest: what the tag endpoint takes as `repo`.
    pub fn repository(&self) -> String {
        match &self.host {
            Some(host) => format!("{host}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The tag: as written, `latest` when neither a tag nor a digest is, `None` for a name
    /// that gives only a digest.
    pub fn tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }

    /// The path as the registry stores it: a Hub name of one component gets `library/`.
    fn full_path(&self) -> String {
        if self.host() == DOCKER_HUB && !self.path.contains('/') {
            format!("{OFFICIAL_PREFIX}{}", self.path)
        } else {
            self.path.clone()
        }
    }

    /// `docker.io/library/web:latest`: the host, the full path, the [tag](Reference::tag), then
    /// the digest. Docker finds one image by two names exactly when these forms are equal.
    pub fn to_normalized(&self) -> String {
        let mut text = format!("{}/{}", self.host(), self.full_path());
        if let Some(tag) = self.tag() {
            text += &format!(":{tag}");
        }
        if let Some(digest) = &self.digest {
            text += &format!("@{digest}");
        }
        text
    }

    /// Docker's short form, what `docker images` shows: no `docker.io/`, no `library/`, the tag
    /// only as written.
    pub fn to_familiar(&self) -> String {
        let path = self.full_path();
        let mut text = if self.host() == DOCKER_HUB {
            path.strip_prefix(OFFICIAL_PREFIX)
                .unwrap_or(&path)
                .to_owned()
        } else {
            format!("{}/{path}", self.host())
        };
        self.push_written_tag_and_digest(&mut text);
        text
    }

    fn without_host(&self) -> Reference {
        Reference {
            host: None,
            ..self.clone()
        }
    }

    fn push_written_tag_and_digest(&self, text: &mut String) {
        if let Some(tag) = &self.tag {
            *text += &format!(":{tag}");
        }
        if let Some(digest) = &self.digest {
            *text += &format!("@{digest}");
        }
    }
}

/// As written.
impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.repository();
        self.push_written_tag_and_digest(&mut text);
        f.write_str(&text)
    }
}

/// Checks a name for a build's result: a reference with no digest (a result gets a tag) that
/// cannot be read as an image ID.
pub fn validate_tag(tag: &str) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::InvalidInput(format!(
            "{tag:?} is not a valid image tag: {why}"
        )))
    };
    let parsed = match parse(tag) {
        Ok(parsed) => parsed,
        Err(why) => return refuse(&why),
    };
    if parsed.digest.is_some() {
        return refuse("it names a digest; give a tag like repo:tag");
    }
    Ok(())
}

/// How an engine matches the names people type with the names it lists (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Docker,
    Podman,
}

impl Naming {
    pub fn of(info: &DaemonInfo) -> Naming {
        if info.is_podman() {
            Naming::Podman
        } else {
            Naming::Docker
        }
    }

    /// Whether the engine may read `given` as the name it lists as `listed`. When several listed
    /// names qualify (Podman with both a local and a Hub image of one short name), [`Naming::find`]
    /// picks the one the engine picks. Names that do not parse match only themselves.
    pub fn names(self, given: &str, listed: &str) -> bool {
        let (Ok(given_ref), Ok(listed_ref)) = (Reference::parse(given), Reference::parse(listed))
        else {
            return given == listed;
        };
        if given_ref.to_normalized() == listed_ref.to_normalized() {
            return true;
        }
        self == Naming::Podman
            && given_ref.host.is_none()
            && listed_ref.host() == PODMAN_LOCAL
            && given_ref.path == listed_ref.path
            && given_ref.tag() == listed_ref.tag()
            && given_ref.digest == listed_ref.digest
    }

    /// The first of `listed` (names as the engine lists them) that `given` names, in the engine's
    /// spelling: the one to tag when the name is to move.
    pub fn find<'a>(self, given: &str, listed: &'a [String]) -> Option<&'a String> {
        // On Podman a local image's name wins over the Hub's (see the module docs).
        let local = listed.iter().find(|l| {
            self == Naming::Podman
                && Reference::parse(l).is_ok_and(|r| r.host() == PODMAN_LOCAL)
                && self.names(given, l)
        });
        local.or_else(|| listed.iter().find(|l| self.names(given, l)))
    }
}

/// Names as the window and the CLI show them: Docker's short form where it finds the same image,
/// so `docker.io/library/web:1` shows as `web:1`; on Podman `localhost/web:1` shows as `web:1`
/// too, and a Hub name keeps its host when a local one would take its short form.
pub struct ShortNames {
    naming: Naming,
    /// Podman's local names in short form: a Hub name that shortens to one of them keeps its
    /// host, as `web:1` finds the local image.
    local: HashSet<String>,
}

impl ShortNames {
    /// Made from every name the engine lists, so that no two images show under one name.
    pub fn new<'a>(naming: Naming, listed: impl IntoIterator<Item = &'a String>) -> ShortNames {
        let local = match naming {
            Naming::Docker => HashSet::new(),
            Naming::Podman => listed
                .into_iter()
                .filter_map(|name| Reference::parse(name).ok())
                .filter(|r| r.host() == PODMAN_LOCAL)
                .map(|r| r.without_host().to_string())
                .collect(),
        };
        ShortNames { naming, local }
    }

    /// `listed` as shown; a name that does not parse is shown as it is.
    pub fn show(&self, listed: &str) -> String {
        let Ok(parsed) = Reference::parse(listed) else {
            return listed.to_owned();
        };
        match self.naming {
            // As typed: `localhost/library/web:1` is what `library/web:1` finds, not `web:1`.
            Naming::Podman if parsed.host() == PODMAN_LOCAL => parsed.without_host().to_string(),
            Naming::Podman if self.local.contains(&parsed.to_familiar()) => parsed.to_normalized(),
            _ => parsed.to_familiar(),
        }
    }
}

/// What an engine lists among an image's names that is not a tag: older engines list a
/// dangling image as `<none>:<none>`, and the containerd image store keeps one under a
/// `moby-dangling@sha256:…` name.
pub fn is_placeholder(listed: &str) -> bool {
    listed == "<none>:<none>" || listed.starts_with("moby-dangling@")
}

/// `sha256:` and 64 lowercase hex digits: a full image ID.
pub fn is_image_id(id: &str) -> bool {
    id.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && is_lower_hex(hex))
}

/// Podman answers bare hex IDs in some places (removals, disk usage) where Docker writes
/// `sha256:…`; this gives them the algorithm.
pub fn normalise_id(id: &str) -> String {
    if id.contains(':') {
        id.to_owned()
    } else {
        format!("sha256:{id}")
    }
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The grammar; `Err` says why in a few words.
fn parse(text: &str) -> Result<Reference, String> {
    let (name_and_tag, digest) = match text.split_once('@') {
        Some((before, digest)) => (before, Some(digest)),
        None => (text, None),
    };
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    // A colon after the last slash starts the tag; one before it is a registry port.
    let (name, tag) = match name_and_tag.rfind(':') {
        Some(colon) if !name_and_tag[colon..].contains('/') => {
            (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
        }
        _ => (name_and_tag, None),
    };
    if name.is_empty() {
        return Err("the repository name is empty".into());
    }
    if name.len() > NAME_MAX {
        return Err(format!(
            "the repository name is longer than {NAME_MAX} characters"
        ));
    }
    if name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("64 hex digits read as an image ID".into());
    }
    let (host, path) = match name.split_once('/') {
        Some((first, rest)) if is_host_like(first) => (Some(first), rest),
        _ => (None, name),
    };
    if let Some(host) = host.filter(|h| !is_host(h)) {
        return Err(format!("{host:?} is not a registry host[:port]"));
    }
    if let Some(bad) = path.split('/').find(|c| !is_path_component(c)) {
        return Err(format!(
            "{bad:?} must be lowercase letters and digits, joined by '.', '_', '__' or '-'"
        ));
    }
    if tag.is_some_and(|t| !is_tag(t)) {
        return Err(format!(
            "the tag must be up to {TAG_MAX} letters, digits, '_', '.' or '-', not starting with '.' or '-'"
        ));
    }
    Ok(Reference {
        host: host.map(str::to_owned),
        path: path.to_owned(),
        tag: tag.map(str::to_owned),
        digest: digest.map(str::to_owned),
    })
}

/// Docker reads the first component as a host by its look, not by asking DNS.
fn is_host_like(first: &str) -> bool {
    first.contains(['.', ':']) || first == PODMAN_LOCAL || first.chars().any(char::is_uppercase)
}

fn is_host(host: &str) -> bool {
    let (domain, port) = match host.split_once(':') {
        Some((domain, port)) => (domain, Some(port)),
        None => (host, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    domain.split('.').all(label_ok)
        && port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn is_path_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let Some(first) = component.chars().next() else {
        return false;
    };
    if !alnum(first) || !component.chars().last().is_some_and(alnum) {
        return false;
    }
    component
        .split(alnum)
        .filter(|separator| !separator.is_empty())
        .all(|separator| {
            matches!(separator, "." | "_" | "__") || separator.chars().all(|c| c == '-')
        })
}

fn is_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok
        && tag.len() <= TAG_MAX
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `algorithm:hex`: the algorithm's components start with a letter, the hex is at least 32
/// digits, and exactly 64 lowercase ones for sha256 (what the daemon accepts).
fn check_digest(digest: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "{digest:?} is not a digest like sha256:<64 hex digits>"
        ))
    };
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return bad();
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['-', '_', '+', '.']).all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    let hex_ok = match algorithm {
        "sha256" => hex.len() == 64 && is_lower_hex(hex),
        _ => hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
    };
    if algorithm_ok && hex_ok {
        Ok(())
    } else {
        bad()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// Host, repository as written, tag, normalized and familiar forms, space-separated.
    fn read(written: &str) -> String {
        let r = Reference::parse(written).unwrap_or_else(|e| panic!("{written}: {e}"));
        let tag = r.tag().unwrap_or("-");
        let (normalized, familiar) = (r.to_normalized(), r.to_familiar());
        format!(
            "{} {} {tag} {normalized} {familiar}",
            r.host(),
            r.repository()
        )
    }

    #[test]
    fn names_read_as_docker_reads_them() {
        for (written, expected) in [
            ("web", "docker.io web latest docker.io/library/web:latest web"),
            ("web:1.2", "docker.io web 1.2 docker.io/library/web:1.2 web:1.2"),
            ("team/web:1", "docker.io team/web 1 docker.io/team/web:1 team/web:1"),
            ("library/web:1", "docker.io library/web 1 docker.io/library/web:1 web:1"),
            (
                "docker.io/library/web:1",
                "docker.io docker.io/library/web 1 docker.io/library/web:1 web:1",
            ),
            (
                "index.docker.io/web",
                "docker.io index.docker.io/web latest docker.io/library/web:latest web",
            ),
            (
                "localhost/web:1",
                "localhost localhost/web 1 localhost/web:1 localhost/web:1",
            ),
            (
                "localhost:5000/team/web:2",
                "localhost:5000 localhost:5000/team/web 2 localhost:5000/team/web:2 localhost:5000/team/web:2",
            ),
            (
                "registry.example.com:5000/a/b/c",
                "registry.example.com:5000 registry.example.com:5000/a/b/c latest registry.example.com:5000/a/b/c:latest registry.example.com:5000/a/b/c",
            ),
            (
                "Registry/web:_x",
                "Registry Registry/web _x Registry/web:_x Registry/web:_x",
            ),
        ] {
            assert_eq!(read(written), expected, "{written}");
        }
        // A digest without a tag means no tag, not `latest`.
        assert_eq!(
            read(&format!("web@{DIGEST}")),
            format!("docker.io web - docker.io/library/web@{DIGEST} web@{DIGEST}")
        );
        assert_eq!(
            read(&format!("team/web:1@{DIGEST}")),
            format!("docker.io team/web 1 docker.io/team/web:1@{DIGEST} team/web:1@{DIGEST}")
        );
    }

    #[test]
    fn tags_follow_the_reference_grammar() {
        for good in [
            "web",
            "web:1.0",
            "team/web:v1_rc-2",
            "a.b_c__d---e:x",
            "registry.example.com:5000/team/web:latest",
            "localhost/web:_x",
            "Registry.Example.com/web",
            "UPPER/web",
        ] {
            validate_tag(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for (bad, why) in [
            ("", "empty"),
            (":1", "empty"),
            ("Web:1", "lowercase"),
            ("web:.x", "tag must"),
            ("web:-x", "tag must"),
            ("web:", "tag must"),
            ("web__-x", "lowercase"),
            ("web_", "lowercase"),
            ("team//web", "lowercase"),
            ("web/", "lowercase"),
            (&format!("web@{DIGEST}"), "digest"),
            ("exa_mple.com/web", "registry host"),
            ("host:port/web", "registry host"),
            ("-bad.com/web", "registry host"),
            (&"a".repeat(256), "255"),
            (&format!("web:{}", "t".repeat(129)), "128"),
            (&DIGEST["sha256:".len()..], "image ID"),
        ] {
            match validate_tag(bad) {
                Err(Error::InvalidInput(m)) => {
                    assert!(
                        m.contains("not a valid image tag") && m.contains(why),
                        "{bad}: {m}"
                    )
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn digests_are_an_algorithm_and_enough_hex() {
        let short = "web@sha256:abcd";
        let upper = format!("web@{}", DIGEST.to_uppercase().replace("SHA256", "sha256"));
        for bad in [
            short,
            "web@sha256",
            "web@:0123",
            &upper,
            "web@1sha:0123456789abcdef0123456789abcdef",
        ] {
            match Reference::parse(bad) {
                Err(Error::InvalidInput(m)) => assert!(m.contains("not a digest"), "{bad}: {m}"),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        Reference::parse("web@sha512+b64:0123456789abcdef0123456789abcdef").unwrap();
    }

    #[test]
    fn docker_matches_names_by_their_normalized_form() {
        for (given, listed, same) in [
            ("web:1", "web:1", true),
            ("web", "web:latest", true),
            ("library/web:1", "web:1", true),
            ("docker.io/library/web:1", "web:1", true),
            ("index.docker.io/library/web:1", "web:1", true),
            ("web:1", "web:2", false),
            ("web:1", "localhost/web:1", false),
            ("team/web:1", "docker.io/team/web:1", true),
            ("team/web:1", "docker.io/library/team/web:1", false),
            ("<none>:<none>", "<none>:<none>", true),
            ("<none>:<none>", "web:1", false),
        ] {
            assert_eq!(
                Naming::Docker.names(given, listed),
                same,
                "{given} / {listed}"
            );
        }
    }

    #[test]
    fn podman_also_reads_a_short_name_as_a_local_one() {
        for (given, listed, same) in [
            ("web:1", "localhost/web:1", true),
            ("web", "localhost/web:latest", true),
            ("team/web:1", "localhost/team/web:1", true),
            ("web:1", "docker.io/library/web:1", true),
            ("localhost/web:1", "docker.io/library/web:1", false),
            ("docker.io/library/web:1", "localhost/web:1", false),
            ("web:1", "localhost/web:2", false),
            ("web:1", "localhost:5000/web:1", false),
        ] {
            assert_eq!(
                Naming::Podman.names(given, listed),
                same,
                "{given} / {listed}"
            );
        }
    }

    #[test]
    fn the_name_found_is_the_one_the_engine_finds() {
        let both = listed(&["docker.io/library/web:1", "localhost/web:1"]);
        assert_eq!(
            Naming::Podman.find("web:1", &both).map(String::as_str),
            Some("localhost/web:1")
        );
        assert_eq!(
            Naming::Podman
                .find("docker.io/library/web:1", &both)
                .map(String::as_str),
            Some("docker.io/library/web:1")
        );
        let hub = listed(&["docker.io/library/web:1", "docker.io/team/web:1"]);
        assert_eq!(
            Naming::Podman.find("web:1", &hub).map(String::as_str),
            Some("docker.io/library/web:1")
        );
        assert_eq!(
            Naming::Docker.find("web:1", &both).map(String::as_str),
            Some("docker.io/library/web:1")
        );
        assert_eq!(
            Naming::Docker.find("web:1", &listed(&["localhost/web:1"])),
            None
        );
        assert_eq!(Naming::Docker.find("web:2", &hub), None);
    }

    #[test]
    fn names_show_in_docker_short_form_unless_that_finds_another_image() {
        let docker = listed(&["web:1", "localhost/web:1", "registry.example.com/web:1"]);
        let shown = ShortNames::new(Naming::Docker, &docker);
        assert_eq!(
            docker.iter().map(|n| shown.show(n)).collect::<Vec<_>>(),
            docker
        );

        let podman = listed(&[
            "docker.io/library/web:1",
            "docker.io/team/web:1",
            "localhost/app:2",
            "docker.io/library/app:2",
            "localhost:5000/web:1",
            "localhost/library/web:2",
            "<none>:<none>",
        ]);
        let shown = ShortNames::new(Naming::Podman, &podman);
        assert_eq!(
            podman.iter().map(|n| shown.show(n)).collect::<Vec<_>>(),
            [
                "web:1",
                "team/web:1",
                "app:2",
                // `app:2` finds the local image.
                "docker.io/library/app:2",
                "localhost:5000/web:1",
                "library/web:2",
                "<none>:<none>",
            ]
        );
    }

    fn listed(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn placeholders_are_not_tags() {
        assert!(is_placeholder("<none>:<none>"));
        assert!(is_placeholder(&format!("moby-dangling@{DIGEST}")));
        assert!(!is_placeholder("web:1"));
    }

    #[test]
    fn podman_ids_get_the_algorithm() {
        assert_eq!(normalise_id("abc"), "sha256:abc");
        assert_eq!(normalise_id("sha256:abc"), "sha256:abc");
    }

    #[test]
    fn image_ids_are_sha256_and_64_lowercase_hex_digits() {
        assert!(is_image_id(DIGEST));
        for bad in [
            &DIGEST["sha256:".len()..],
            &DIGEST[..70],
            &DIGEST.to_uppercase().replace("SHA256", "sha256"),
            &format!("{DIGEST}0"),
            "sha256:../../containers/mydb",
            "",
        ] {
            assert!(!is_image_id(bad), "{bad:?}");
        }
    }
}
