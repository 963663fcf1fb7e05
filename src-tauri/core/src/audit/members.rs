//! Walks a tar's members with a cap on what the `tar` crate reads whole into memory for each:
//! GNU long names and link names and PAX records, which it holds until the member is read.
//! Without it a layer could give one member gigabytes of name (a few kilobytes once
//! compressed), and the reader would hold them all.
//!
//! ```text
//! let budget = HeaderBudget::default();
//! let mut archive = tar::Archive::new(budget.wrap(reader));
//! let mut members = archive.entries()?;
//! while let Some(member) = budget.next(&mut members) {
//!     let mut member = member?;
//!     // …read what is needed…
//!     budget.done(&mut member)?;
//! }
//! ```

use std::cell::Cell;
use std::io::{self, Read};
use tar::EntryType;

/// What the reader may read between two members: the next one's header blocks, long name,
/// long link name and PAX records together. Real ones are a few kilobytes (Linux paths stop
/// at 4 KiB).
pub(super) const MAX_MEMBER_HEADERS: u64 = 64 * 1024;

/// Content is skipped in reads this large: most go straight from the daemon's chunks into the
/// buffer, past the archive's own buffering.
const SKIP_CHUNK: usize = 128 * 1024;

/// How much the reader below may still read; armed only while it looks for the next member.
pub(super) struct HeaderBudget {
    left: Cell<u64>,
    /// The budget ran out: the error the reader passes on is ours.
    ran_out: Cell<bool>,
    /// Content of the last member that the reader will skip itself (a sparse file's data:
    /// reading it would expand its holes).
    skipped: Cell<u64>,
    scratch: Cell<Vec<u8>>,
}

impl Default for HeaderBudget {
    fn default() -> Self {
        HeaderBudget {
            left: Cell::new(u64::MAX),
            ran_out: Cell::new(false),
            skipped: Cell::new(0),
            scratch: Cell::default(),
        }
    }
}

/// The reader under the tar reader, held to the budget.
pub(super) struct Capped<'b, R> {
    inner: R,
    budget: &'b HeaderBudget,
}

impl<R> Capped<'_, R> {
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.budget.left.get();
        if left == 0 {
            self.budget.ran_out.set(true);
            return Err(io::Error::new(io::ErrorKind::InvalidData, "over budget"));
        }
        let allowed = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self
            .inner
            .read(buf.get_mut(..allowed).unwrap_or_default())?;
        self.budget.left.set(left - n as u64);
        Ok(n)
    }
}

impl HeaderBudget {
    pub fn wrap<R: Read>(&self, inner: R) -> Capped<'_, R> {
        Capped {
            inner,
            budget: self,
        }
    }

    /// The next member, found within the budget.
    pub fn next<'a, R: Read>(
        &self,
        members: &mut tar::Entries<'a, R>,
    ) -> Option<io::Result<tar::Entry<'a, R>>> {
        self.left
            .set(MAX_MEMBER_HEADERS.saturating_add(self.skipped.take()));
        let next = members.next();
        self.left.set(u64::MAX);
        match next {
            Some(Err(_)) if self.ran_out.get() => Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a member's name or PAX records take more than {} KiB",
                    MAX_MEMBER_HEADERS / 1024
                ),
            ))),
            next => next,
        }
    }

    /// Reads the rest of `member`'s content, so that finding the next member reads only
    /// headers. Returns how many bytes that was.
    pub fn done<R: Read>(&self, member: &mut tar::Entry<'_, R>) -> io::Result<u64> {
        if member.header().entry_type() == EntryType::GNUSparse {
            let stored = member.header().entry_size()?;
            self.skipped.set(stored.max(member.size()));
            return Ok(0);
        }
        let mut scratch = self.scratch.take();
        let skipped = skip(member, &mut scratch);
        self.scratch.set(scratch);
        skipped
    }
}

/// Reads `reader` to its end, keeping nothing.
pub(super) fn skip(reader: &mut impl Read, scratch: &mut Vec<u8>) -> io::Result<u64> {
    scratch.resize(SKIP_CHUNK, 0);
    let mut skipped = 0u64;
    loop {
        match reader.read(scratch) {
            Ok(0) => return Ok(skipped),
            Ok(n) => skipped = skipped.saturating_add(n as u64),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
