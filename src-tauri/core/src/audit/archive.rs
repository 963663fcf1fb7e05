//! Reads the stream `docker save` writes, once, front to back, and hands over the image's
//! layers in image order.
//!
//! ```text
//! let (layers, config) = archive::read_image(reader, Reading::Sizes, &mut |_| ControlFlow::Continue(()))?;
//! ```
//!
//! Both layouts are understood by content, not by file names alone: the legacy one (Engine
//! ≤ 24: `manifest.json`, `<id>.json`, `<dir>/layer.tar`) and the OCI one (Engine 25+:
//! `index.json`, `blobs/sha256/<hex>`, plus a legacy-style `manifest.json` pointing into the
//! blobs). The stream may put the manifest after the layers, so each layer is summarised as it
//! passes, keyed by its path in the archive, and ordered once the manifest has been read.

use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Cursor, Read};
use std::ops::ControlFlow;
use std::rc::Rc;
use tar::EntryType;

use super::layer::{self, LayerSummary, Reading};
use super::members::{self, HeaderBudget};
use super::merge::LayerInput;
use crate::error::{Error, Result};

/// How often, in bytes read, the caller hears about progress (and may cancel).
const REPORT_EVERY: u64 = 256 * 1024;
/// Configs and manifests are a few kilobytes; anything bigger than this is not one.
const MAX_JSON_BYTES: u64 = 8 * 1024 * 1024;
/// All the JSON kept while the stream is read, so a hostile archive cannot fill the memory.
const MAX_JSON_TOTAL: u64 = 64 * 1024 * 1024;
/// Enough to see a tar header's `ustar` magic.
pub(super) const SNIFF_BYTES: usize = 512;
/// Layers pointing at layers (symlinks, hard links, index → manifest): how deep to follow.
const MAX_HOPS: usize = 8;
/// Far more than any storage driver stacks (overlay2 stops at 125).
const MAX_LAYERS: usize = 1024;
/// A layer listed again is applied again (its files overwrite their first copies), which
/// costs the merge memory per entry. Real images repeat a layer or two; the entries all
/// repeats bring may number this many times those of the distinct layers, plus
/// [`REPEATS_ALLOWED`], so a manifest listing one layer a thousand times is refused rather
/// than audited with a thousand times the memory.
const REPEAT_FACTOR: usize = 8;
const REPEATS_ALLOWED: usize = 1 << 16;

/// What the image's config says beside its layers.
#[derive(Debug, Default)]
pub(super) struct ConfigFacts {
    /// The config as the archive holds it.
    pub bytes: Vec<u8>,
    /// How many layers the base image gave it, when the history says.
    pub base_layers: Option<u32>,
}

pub(super) fn read_image<R: Read>(
    reader: R,
    reading: Reading,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<(Vec<LayerInput>, ConfigFacts)> {
    let source = Source::new(reader, progress);
    let budget = HeaderBudget::default();
    let mut archive = tar::Archive::new(budget.wrap(BufReader::with_capacity(64 * 1024, source)));
    let scanned = scan(&mut archive, &budget, reading);
    let mut source = archive.into_inner().into_inner().into_inner();
    // Whatever error the archive reader saw, the real story is a cancel or a failing source.
    if let Some(stopped) = source.stopped() {
        return Err(stopped);
    }
    let found = scanned?;
    // The last word, so the caller sees the total (and may still cancel).
    source.report()?;
    found.into_layers()
}

/// The caller's reader, counting bytes for the progress callback and remembering why it
/// stopped: the tar reader only passes on an `io::Error`.
pub(super) struct Source<'p, R> {
    inner: R,
    read: u64,
    reported: u64,
    progress: &'p mut dyn FnMut(u64) -> ControlFlow<()>,
    stopped: Option<Error>,
}

impl<'p, R> Source<'p, R> {
    pub fn new(inner: R, progress: &'p mut dyn FnMut(u64) -> ControlFlow<()>) -> Self {
        Source {
            inner,
            read: 0,
            reported: 0,
            progress,
            stopped: None,
        }
    }

    /// Why reading stopped, when the caller cancelled or the reader failed: the real story
    /// behind whatever error the tar reader passed on.
    pub fn stopped(&mut self) -> Option<Error> {
        self.stopped.take()
    }

    pub fn report(&mut self) -> Result<()> {
        self.reported = self.read;
        match (self.progress)(self.read) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(Error::Cancelled),
        }
    }
}

impl<R: Read> Read for Source<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stopped.is_some() {
            return Err(io::Error::other("the image stream was stopped"));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                self.stopped = Some(Error::Stream(format!("reading the image failed: {e}")));
                return Err(e);
            }
        };
        self.read = self.read.saturating_add(n as u64);
        if self.read.saturating_sub(self.reported) >= REPORT_EVERY {
            if let Err(stop) = self.report() {
                self.stopped = Some(stop);
                return Err(io::Error::other("cancelled"));
            }
        }
        Ok(n)
    }
}

/// What the stream held, by path in the archive.
#[derive(Default)]
struct Found {
    manifest: Option<Vec<ManifestItem>>,
    /// `index.json`, for archives with no `manifest.json`.
    index: Option<OciDocument>,
    /// Small JSON files (configs, OCI manifests), kept whole.
    json: HashMap<String, Vec<u8>>,
    json_bytes: u64,
    /// Every other file, read as a layer; the error says why it is not one. Shared by every
    /// listing of the layer.
    layers: HashMap<String, Result<Rc<LayerSummary>, String>>,
    /// Symlinks and hard links in the archive, to their normalised targets.
    links: HashMap<String, String>,
}

fn scan<R: Read>(
    archive: &mut tar::Archive<R>,
    budget: &HeaderBudget,
    reading: Reading,
) -> Result<Found> {
    let mut found = Found::default();
    let mut scratch = Vec::new();
    let mut entries = archive.entries().map_err(malformed)?;
    while let Some(entry) = budget.next(&mut entries) {
        let mut entry = entry.map_err(malformed)?;
        let path = layer::normalise(&entry.path_bytes());
        let member = match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous => Member::File,
            EntryType::Symlink => {
                // Old `docker save` stores a layer seen twice as a symlink to the first copy.
                let target = entry.link_name_bytes().unwrap_or_default();
                let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                let mut joined = dir.as_bytes().to_vec();
                joined.push(b'/');
                joined.extend_from_slice(&target);
                Member::Link(layer::normalise(&joined))
            }
            EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default();
                Member::Link(layer::normalise(&target))
            }
            _ => Member::Other,
        };
        match member {
            // Read to its end here: the next member's search then reads only headers.
            Member::File => {
                let size = entry.size();
                let mut counted = Counted {
                    inner: &mut entry,
                    read: 0,
                };
                found.take_file(path.clone(), size, reading, &mut counted)?;
                members::skip(&mut counted, &mut scratch).map_err(malformed)?;
                if counted.read < size {
                    return Err(Error::MalformedArchive(format!(
                        "the archive ends in the middle of {path}"
                    )));
                }
            }
            Member::Link(target) => {
                found.links.insert(path, target);
                budget.done(&mut entry).map_err(malformed)?;
            }
            Member::Other => {
                budget.done(&mut entry).map_err(malformed)?;
            }
        }
    }
    Ok(found)
}

/// What a member of the archive is to the reader.
enum Member {
    /// Maybe a layer, maybe JSON.
    File,
    /// A symlink or hard link to this member.
    Link(String),
    Other,
}

impl Found {
    fn take_file(
        &mut self,
        path: String,
        size: u64,
        reading: Reading,
        file: &mut impl Read,
    ) -> Result<()> {
        match path.as_str() {
            "manifest.json" => {
                let bytes = read_json_file(&path, size, file)?;
                self.manifest = Some(parse(&path, &bytes)?);
            }
            "index.json" => {
                let bytes = read_json_file(&path, size, file)?;
                self.index = Some(parse(&path, &bytes)?);
            }
            "oci-layout" | "repositories" => {}
            _ => {
                let mut head = [0u8; SNIFF_BYTES];
                let got = read_up_to(file, &mut head).map_err(malformed)?;
                let head = head.get(..got).unwrap_or_default();
                match sniff(head) {
                    Sniffed::Json if size <= MAX_JSON_BYTES => {
                        self.json_bytes = self.json_bytes.saturating_add(size);
                        if self.json_bytes > MAX_JSON_TOTAL {
                            return Err(Error::MalformedArchive(
                                "the archive holds too much metadata for an image".into(),
                            ));
                        }
                        let mut bytes = head.to_vec();
                        file.read_to_end(&mut bytes).map_err(malformed)?;
                        self.json.insert(path, bytes);
                    }
                    sniffed => {
                        let summary = decompressed(sniffed, head, file)
                            .and_then(|layer| layer::summarise(layer, reading));
                        let summary = summary.map(Rc::new).map_err(|e| e.to_string());
                        self.layers.insert(path, summary);
                    }
                }
            }
        }
        Ok(())
    }

    /// Follows links inside the archive to the file that holds the bytes.
    fn resolve<'a>(&'a self, mut path: &'a str) -> &'a str {
        for _ in 0..MAX_HOPS {
            match self.links.get(path) {
                Some(target) => path = target,
                None => break,
            }
        }
        path
    }

    fn json_file<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T> {
        let path = self.resolve(path);
        let bytes = self.json.get(path).ok_or_else(|| {
            Error::MalformedArchive(format!("{path} is missing from the archive"))
        })?;
        parse(path, bytes)
    }

    /// The layers in image order, and what the config says beside them.
    fn into_layers(mut self) -> Result<(Vec<LayerInput>, ConfigFacts)> {
        let (config_path, layer_paths) = self.image_parts()?;
        let config: ImageConfig = self.json_file(&config_path)?;
        let config_member = self.resolve(&config_path).to_owned();
        let facts = ConfigFacts {
            bytes: self.json.remove(&config_member).unwrap_or_default(),
            base_layers: super::base::base_layers(&config.history, layer_paths.len()),
        };
        let mut created_by = config
            .history
            .into_iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by);
        let mut diff_ids = config
            .rootfs
            .map(|r| r.diff_ids)
            .unwrap_or_default()
            .into_iter();

        if layer_paths.len() > MAX_LAYERS {
            return Err(Error::MalformedArchive(format!(
                "the image lists {} layers, more than an image can have",
                layer_paths.len()
            )));
        }
        let mut layers = Vec::with_capacity(layer_paths.len());
        let mut listed = HashSet::new();
        let (mut distinct, mut repeated) = (0usize, 0usize);
        for path in &layer_paths {
            let path = self.resolve(path);
            // The same layer can appear twice (a `RUN` that changed nothing, twice).
            let summary = self
                .layers
                .get(path)
                .ok_or_else(|| {
                    Error::MalformedArchive(format!("layer {path} is missing from the archive"))
                })?
                .clone()
                .map_err(|why| {
                    Error::MalformedArchive(format!("layer {path} is not a readable tar: {why}"))
                })?;
            let count = if listed.insert(path) {
                &mut distinct
            } else {
                &mut repeated
            };
            *count = count.saturating_add(summary.changes.len());
            layers.push(LayerInput {
                summary,
                member: Rc::from(path),
                digest: diff_ids.next(),
                created_by: created_by.next().flatten(),
            });
        }
        let allowed = distinct
            .saturating_mul(REPEAT_FACTOR)
            .saturating_add(REPEATS_ALLOWED);
        if repeated > allowed {
            return Err(Error::MalformedArchive(format!(
                "the manifest lists its layers over and over ({repeated} entries again, \
                 {distinct} once): that is not an image"
            )));
        }
        Ok((layers, facts))
    }

    /// The config's path and the layers' paths, in image order. `manifest.json` names them
    /// directly; without it, the OCI index leads to them through the image manifest.
    fn image_parts(&mut self) -> Result<(String, Vec<String>)> {
        if let Some(manifest) = self.manifest.take() {
            // `docker save` of one image writes one item; with several we audit the first.
            let item = manifest
                .into_iter()
                .next()
                .ok_or_else(|| Error::MalformedArchive("manifest.json lists no image".into()))?;
            let layers = item.layers.iter().map(|l| layer::normalise(l.as_bytes()));
            return Ok((layer::normalise(item.config.as_bytes()), layers.collect()));
        }
        let mut document = self.index.take().ok_or_else(|| {
            Error::MalformedArchive(
                "no manifest.json or index.json: this is not a saved image".into(),
            )
        })?;
        for _ in 0..MAX_HOPS {
            if let Some(config) = &document.config {
                let layers = document.layers.iter().map(|l| blob_path(&l.digest));
                return Ok((blob_path(&config.digest), layers.collect()));
            }
            // An index: follow the first manifest in the archive that is an image's, not an
            // attestation's.
            let next = document
                .manifests
                .iter()
                .filter(|d| !d.annotations.contains_key(ATTESTATION_ANNOTATION))
                .map(|d| blob_path(&d.digest))
                .find(|path| self.json.contains_key(path))
                .ok_or_else(|| {
                    Error::MalformedArchive("index.json leads to no image manifest".into())
                })?;
            document = self.json_file(&next)?;
        }
        Err(Error::MalformedArchive(
            "index.json nests indexes too deeply".into(),
        ))
    }
}

/// Marks the manifests BuildKit adds for provenance and SBOMs.
const ATTESTATION_ANNOTATION: &str = "vnd.docker.reference.type";

/// `sha256:abc…` → `blobs/sha256/abc…`, as the OCI layout stores blobs.
fn blob_path(digest: &str) -> String {
    let path = digest.replacen(':', "/", 1);
    layer::normalise(format!("blobs/{path}").as_bytes())
}

/// A layer member's tar, decompressed as its first bytes (`head`, already read) say.
pub(super) fn decompressed<'r>(
    sniffed: Sniffed,
    head: &'r [u8],
    rest: &'r mut dyn Read,
) -> io::Result<Box<dyn Read + 'r>> {
    let whole = Cursor::new(head).chain(rest);
    Ok(match sniffed {
        Sniffed::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Sniffed::Zstd => Box::new(zstd::stream::read::Decoder::new(whole)?),
        Sniffed::Json | Sniffed::Other => Box::new(whole),
    })
}

pub(super) enum Sniffed {
    Gzip,
    Zstd,
    Json,
    /// A plain tar, or something that will fail to read as one.
    Other,
}

pub(super) fn sniff(head: &[u8]) -> Sniffed {
    const GZIP: &[u8] = &[0x1f, 0x8b];
    const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
    if head.starts_with(GZIP) {
        return Sniffed::Gzip;
    }
    if head.starts_with(ZSTD) {
        return Sniffed::Zstd;
    }
    // A tar's first header says `ustar` at 257; a file that starts with `{` is JSON unless so.
    if head.get(257..262) == Some(b"ustar".as_slice()) {
        return Sniffed::Other;
    }
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => Sniffed::Json,
        _ => Sniffed::Other,
    }
}

/// Counts what is read from an entry, to tell a short (truncated) entry from a whole one.
struct Counted<'e, R> {
    inner: &'e mut R,
    read: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

pub(super) fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_json_file(path: &str, size: u64, file: &mut impl Read) -> Result<Vec<u8>> {
    if size > MAX_JSON_BYTES {
        return Err(Error::MalformedArchive(format!(
            "{path} is {size} bytes, too big for image metadata"
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_JSON_BYTES)
        .read_to_end(&mut bytes)
        .map_err(malformed)?;
    Ok(bytes)
}

fn parse<T: for<'de> Deserialize<'de>>(path: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::MalformedArchive(format!("{path} is not what an image holds: {e}")))
}

fn malformed(e: io::Error) -> Error {
    Error::MalformedArchive(e.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItem {
    config: String,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct ImageConfig {
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Vec<HistoryItem>,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct HistoryItem {
    pub created_by: Option<String>,
    /// A step that made no layer (`ENV`, `CMD`…): it has no layer to pair with.
    #[serde(default)]
    pub empty_layer: bool,
}

/// An OCI index or image manifest: one of `manifests` or `config` + `layers` is set.
#[derive(Deserialize)]
struct OciDocument {
    #[serde(default)]
    manifests: Vec<Descriptor>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    digest: String,
    #[serde(default)]
    annotations: HashMap<String, String>,
}
