//! Reads a `docker save` archive a second time, for the bytes of chosen files and members: what
//! the direct squash copies into its one layer (and, for a partial squash, the layers it keeps), once a [`FsSnapshot`](super::FsSnapshot) of the same
//! image has said which entry of which layer holds each file's final bytes.
//!
//! ```text
//! let wanted = Wanted { files: HashMap::from([("blobs/sha256/ab…".into(), HashSet::from(["etc/passwd".into()]))]), ..Wanted::default() };
//! reread::read_files(saved_image, &wanted, &mut |found, content| { io::copy(content, &mut out)?; Ok(()) },
//!     &mut |_, _, _| Ok(()), &mut |_| ControlFlow::Continue(()))?;
//! ```
//!
//! Members and entries are visited in the archive's order; everything else is skipped unread
//! but for its headers.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Read};
use std::ops::ControlFlow;
use tar::EntryType;

use super::archive::{decompressed, read_up_to, sniff, Source, SNIFF_BYTES};
use super::layer::normalise;
use super::members::HeaderBudget;
use crate::error::{Error, Result};

/// A file handed to the caller: where it was found and how many bytes its content has.
pub struct FoundFile<'a> {
    /// The archive member holding the layer ([`SavedLayer::member`](super::SavedLayer::member)).
    pub member: &'a str,
    /// The entry's path in the layer, relative and normalised.
    pub path: &'a str,
    /// Its content's size (a sparse file's logical size: holes read as zeros).
    pub size: u64,
}

/// What to hand over from the archive.
#[derive(Debug, Default)]
pub struct Wanted {
    /// Layer member → paths of the regular files in it.
    pub files: HashMap<String, HashSet<String>>,
    /// Members wanted whole, as they are (layers a partial squash keeps byte for byte).
    pub members: HashSet<String>,
}

/// Hands `take_file` every regular-file entry whose layer member and path `wanted` lists, and
/// `take_member` every member it wants whole (with its name and size), each with its content
/// unread (they may read it or leave it). `progress` hears the archive's bytes read and may
/// cancel, as for [`audit_archive`](super::audit_archive).
///
/// Errors: [`Error::MalformedArchive`] when the archive or a wanted layer is not a readable tar,
/// [`Error::Cancelled`], [`Error::Stream`] when `reader` fails, and whatever `take` returns.
pub fn read_files<R: Read>(
    reader: R,
    wanted: &Wanted,
    take_file: &mut dyn FnMut(&FoundFile, &mut dyn Read) -> Result<()>,
    take_member: &mut dyn FnMut(&str, u64, &mut dyn Read) -> Result<()>,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<()> {
    let budget = HeaderBudget::default();
    let source = Source::new(reader, progress);
    let mut archive = tar::Archive::new(budget.wrap(BufReader::with_capacity(64 * 1024, source)));
    let walked = walk(&mut archive, &budget, wanted, take_file, take_member);
    let mut source = archive.into_inner().into_inner().into_inner();
    // Whatever error the tar reader saw, the real story is a cancel or a failing source.
    if let Some(stopped) = source.stopped() {
        return Err(stopped);
    }
    walked?;
    source.report()
}

fn walk<R: Read>(
    archive: &mut tar::Archive<R>,
    budget: &HeaderBudget,
    wanted: &Wanted,
    take_file: &mut dyn FnMut(&FoundFile, &mut dyn Read) -> Result<()>,
    take_member: &mut dyn FnMut(&str, u64, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let mut members = archive.entries().map_err(malformed)?;
    while let Some(member) = budget.next(&mut members) {
        let mut member = member.map_err(malformed)?;
        let name = normalise(&member.path_bytes());
        let is_file = matches!(
            member.header().entry_type(),
            EntryType::Regular | EntryType::Continuous
        );
        if is_file && wanted.members.contains(&name) {
            let size = member.size();
            take_member(&name, size, &mut member)?;
            budget.done(&mut member).map_err(malformed)?;
            continue;
        }
        let paths = match wanted.files.get(&name) {
            Some(paths) if is_file => paths,
            _ => {
                budget.done(&mut member).map_err(malformed)?;
                continue;
            }
        };
        let mut head = [0u8; SNIFF_BYTES];
        let got = read_up_to(&mut member, &mut head).map_err(malformed)?;
        let head = head.get(..got).unwrap_or_default();
        let layer = decompressed(sniff(head), head, &mut member)
            .map_err(|e| Error::MalformedArchive(format!("layer {name}: {e}")))?;
        take_from_layer(layer, &name, &format!("layer {name}"), paths, take_file)?;
        budget.done(&mut member).map_err(malformed)?;
    }
    Ok(())
}

/// Hands `take` the regular files of the tar `layer` whose paths `paths` lists, as found in
/// `member`; `named` says what the tar is, for errors.
fn take_from_layer(
    layer: impl Read,
    member: &str,
    named: &str,
    paths: &HashSet<String>,
    take: &mut dyn FnMut(&FoundFile, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let unreadable = |e: io::Error| Error::MalformedArchive(format!("{named}: {e}"));
    let budget = HeaderBudget::default();
    let mut archive = tar::Archive::new(budget.wrap(layer));
    let mut entries = archive.entries().map_err(unreadable)?;
    while let Some(entry) = budget.next(&mut entries) {
        let mut entry = entry.map_err(unreadable)?;
        let is_file = matches!(
            entry.header().entry_type(),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
        );
        let path = normalise(&entry.path_bytes());
        if is_file && paths.contains(&path) {
            let found = FoundFile {
                member,
                path: &path,
                size: entry.size(),
            };
            take(&found, &mut entry)?;
        }
        budget.done(&mut entry).map_err(unreadable)?;
    }
    Ok(())
}

/// What [`FoundFile::member`] says of a file found in a container's export.
pub const EXPORTED: &str = "the container's export";

/// Hands `take_file` every regular file whose path `paths` lists from `reader`, the tar
/// `docker export` writes of a container (its filesystem as one tree: what a squash takes
/// file bytes from, never headers, since a container adds and replaces runtime files).
/// Progress and errors as for [`read_files`].
pub fn read_exported_files<R: Read>(
    reader: R,
    paths: &HashSet<String>,
    take_file: &mut dyn FnMut(&FoundFile, &mut dyn Read) -> Result<()>,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<()> {
    let mut source = Source::new(reader, progress);
    let taken = take_from_layer(
        BufReader::with_capacity(64 * 1024, &mut source),
        EXPORTED,
        EXPORTED,
        paths,
        take_file,
    );
    if let Some(stopped) = source.stopped() {
        return Err(stopped);
    }
    taken?;
    source.report()
}

fn malformed(e: io::Error) -> Error {
    Error::MalformedArchive(e.to_string())
}
