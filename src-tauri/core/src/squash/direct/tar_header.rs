//! The header blocks the direct squash writes before each entry of its layer: a POSIX ustar
//! header, after a PAX extended header whenever a value does not fit ustar's fields or has no
//! field at all (long paths, large ids and sizes, fractions of a second, xattrs, ACLs).
//!
//! ```text
//! let blocks = tar_header::encode(&Header { path: "etc/passwd", kind: Kind::File, size: 12, … });
//! out.write_all(&blocks)?; // then the content, padded to 512 bytes
//! ```
//!
//! The encoding is a pure function of the entry, so that the layer's size can be added up
//! before a byte of it is written: the archive that carries the layer to `docker load` has to
//! state it first. Owner names are left empty: extraction goes by the numeric ids.

use crate::audit::Mtime;

pub(super) const BLOCK: u64 = 512;

/// What an entry of the layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    /// Another name for the file at the link's target, written earlier in the layer.
    HardLink,
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
    Fifo,
}

#[derive(Debug, Clone)]
pub(super) struct Header<'a> {
    /// Relative, without a trailing slash (one is added for directories); empty for the root.
    pub path: &'a str,
    pub kind: Kind,
    /// Content bytes that follow (regular files only).
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: Mtime,
    /// A symlink's target, or a hard link's (relative, as `path`).
    pub link: Option<&'a str>,
    /// PAX records to carry as they are (`SCHILY.xattr.*`, `SCHILY.acl.*`), in key order.
    pub records: Vec<(String, &'a [u8])>,
}

/// The largest value an octal field of `width` bytes holds (one byte goes to the terminator).
fn octal_max(width: usize) -> u64 {
    (1u64 << (3 * (width as u32 - 1))) - 1
}

/// The header blocks for `header`: a PAX header and its records when needed, then the ustar
/// header. Always a multiple of 512 bytes.
pub(super) fn encode(header: &Header) -> Vec<u8> {
    let name = match (header.kind, header.path) {
        (Kind::Dir, "") => "./".to_owned(),
        (Kind::Dir, path) => format!("{path}/"),
        (_, path) => path.to_owned(),
    };
    let mut records: Vec<(&str, Vec<u8>)> = Vec::new();
    if name.len() > 100 {
        records.push(("path", name.clone().into_bytes()));
    }
    if let Some(link) = header.link.filter(|link| link.len() > 100) {
        records.push(("linkpath", link.as_bytes().to_vec()));
    }
    for (key, value, width) in [("uid", header.uid, 8), ("gid", header.gid, 8)] {
        if value > octal_max(width) {
            records.push((key, value.to_string().into_bytes()));
        }
    }
    if header.size > octal_max(12) {
        records.push(("size", header.size.to_string().into_bytes()));
    }
    let mtime_fits = header.mtime.nanos == 0
        && header.mtime.seconds >= 0
        && header.mtime.seconds as u64 <= octal_max(12);
    if !mtime_fits {
        records.push(("mtime", header.mtime.to_pax().into_bytes()));
    }
    records.extend(header.records.iter().map(|(k, v)| (k.as_str(), v.to_vec())));

    let mut blocks = Vec::with_capacity(BLOCK as usize * 3);
    if !records.is_empty() {
        let body = pax_body(&records);
        let mut pax = ustar(&pax_name(&name), b'x', body.len() as u64, header);
        checksum(&mut pax);
        blocks.extend_from_slice(&pax);
        blocks.extend_from_slice(&body);
        pad(&mut blocks);
    }
    let (typeflag, size) = match header.kind {
        Kind::File => (b'0', header.size),
        Kind::HardLink => (b'1', 0),
        Kind::Symlink => (b'2', 0),
        Kind::CharDevice { .. } => (b'3', 0),
        Kind::BlockDevice { .. } => (b'4', 0),
        Kind::Dir => (b'5', 0),
        Kind::Fifo => (b'6', 0),
    };
    let mut main = ustar(&name, typeflag, size, header);
    if let Some(link) = header.link {
        put_bytes(&mut main[157..257], link.as_bytes());
    }
    if let Kind::CharDevice { major, minor } | Kind::BlockDevice { major, minor } = header.kind {
        put_octal(&mut main[329..337], major.into());
        put_octal(&mut main[337..345], minor.into());
    }
    checksum(&mut main);
    blocks.extend_from_slice(&main);
    blocks
}

/// The whole size of an entry: its header blocks and its content, padded.
pub(super) fn entry_size(header: &Header) -> u64 {
    encode(header).len() as u64 + padded(header.size)
}

/// `size` rounded up to whole blocks.
pub(super) fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK) * BLOCK
}

/// A ustar header block with the common fields; fields that do not fit (their PAX record
/// carries them) are left at their largest value or cut.
fn ustar(name: &str, typeflag: u8, size: u64, header: &Header) -> [u8; BLOCK as usize] {
    let mut block = [0u8; BLOCK as usize];
    put_bytes(&mut block[0..100], name.as_bytes());
    put_octal(&mut block[100..108], u64::from(header.mode & 0o7777));
    put_octal(&mut block[108..116], header.uid.min(octal_max(8)));
    put_octal(&mut block[116..124], header.gid.min(octal_max(8)));
    put_octal(&mut block[124..136], size.min(octal_max(12)));
    let seconds = u64::try_from(header.mtime.seconds).unwrap_or(0);
    put_octal(&mut block[136..148], seconds.min(octal_max(12)));
    block[156] = typeflag;
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    block
}

/// A name for the PAX header itself, as other writers make one; readers ignore it.
fn pax_name(name: &str) -> String {
    let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let mut pax = format!("PaxHeaders/{base}");
    while pax.len() > 100 {
        pax.pop();
    }
    pax
}

/// PAX records: `<length> <key>=<value>\n`, where the length counts itself.
fn pax_body(records: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (key, value) in records {
        let rest = key.len() + value.len() + 3; // space, '=', newline
        let mut length = rest + 1;
        while (length.to_string().len() + rest) != length {
            length = length.to_string().len() + rest;
        }
        body.extend_from_slice(length.to_string().as_bytes());
        body.push(b' ');
        body.extend_from_slice(key.as_bytes());
        body.push(b'=');
        body.extend_from_slice(value);
        body.push(b'\n');
    }
    body
}

/// Copies as much of `bytes` as fits; a longer value is in a PAX record.
fn put_bytes(field: &mut [u8], bytes: &[u8]) {
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

/// Zero-padded octal with a NUL terminator, as GNU and Go write it.
fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    put_bytes(field, text.as_bytes());
    field[digits] = 0;
}

fn checksum(block: &mut [u8; BLOCK as usize]) {
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(text.as_bytes());
}

fn pad(blocks: &mut Vec<u8>) {
    let len = padded(blocks.len() as u64) as usize;
    blocks.resize(len, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn header<'a>(path: &'a str, kind: Kind) -> Header<'a> {
        Header {
            path,
            kind,
            size: 0,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: Mtime {
                seconds: 1_700_000_000,
                nanos: 0,
            },
            link: None,
            records: Vec::new(),
        }
    }

    type Records = Vec<(String, Vec<u8>)>;

    /// One entry with `content`, read back by the `tar` crate: its header, PAX records, content.
    fn read_back(header: &Header, content: &[u8]) -> (tar::Header, Records, Vec<u8>) {
        let mut archive = encode(header);
        assert_eq!(archive.len() as u64 % BLOCK, 0);
        archive.extend_from_slice(content);
        archive.resize(
            archive.len() + (padded(content.len() as u64) as usize - content.len()),
            0,
        );
        archive.extend_from_slice(&[0u8; 1024]);
        assert_eq!(archive.len() as u64, entry_size(header) + 1024);
        let mut reader = tar::Archive::new(archive.as_slice());
        let mut entries = reader.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        let records = entry
            .pax_extensions()
            .unwrap()
            .map(|records| {
                records
                    .map(|r| {
                        let r = r.unwrap();
                        (r.key().unwrap().to_owned(), r.value_bytes().to_vec())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        assert_eq!(
            entry.path_bytes().as_ref(),
            expected_name(header).as_bytes()
        );
        let head = entry.header().clone();
        assert!(entries.next().is_none());
        (head, records, body)
    }

    fn expected_name(header: &Header) -> String {
        match header.kind {
            Kind::Dir if header.path.is_empty() => "./".into(),
            Kind::Dir => format!("{}/", header.path),
            _ => header.path.into(),
        }
    }

    #[test]
    fn a_plain_file_is_one_ustar_header_and_its_content() {
        let mut file = header("etc/motd", Kind::File);
        file.size = 5;
        file.mode = 0o4755;
        file.uid = 1000;
        file.gid = 50;
        assert_eq!(encode(&file).len(), 512, "no PAX header for a plain file");
        let (head, records, body) = read_back(&file, b"hello");
        assert!(records.is_empty());
        assert_eq!(body, b"hello");
        assert_eq!(head.mode().unwrap(), 0o4755);
        assert_eq!((head.uid().unwrap(), head.gid().unwrap()), (1000, 50));
        assert_eq!(head.mtime().unwrap(), 1_700_000_000);
        assert_eq!(head.entry_type(), tar::EntryType::Regular);
    }

    #[test]
    fn what_ustar_cannot_hold_goes_in_pax_records() {
        let long = format!("{}/file", "d".repeat(150));
        let target = format!("/{}", "t".repeat(120));
        let mut link = header(&long, Kind::Symlink);
        link.link = Some(&target);
        link.uid = 5_000_000;
        link.mtime = Mtime {
            seconds: 1_700_000_000,
            nanos: 250_000_000,
        };
        let capability: &[u8] = b"\x01\x00\x00\x02\x00\x20";
        link.records = vec![("SCHILY.xattr.security.capability".into(), capability)];
        let (head, records, _) = read_back(&link, b"");
        let record = |key: &str| {
            records
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(record("mtime"), Some(b"1700000000.25".to_vec()));
        assert_eq!(record("uid"), Some(b"5000000".to_vec()));
        assert_eq!(record("linkpath"), Some(target.as_bytes().to_vec()));
        assert_eq!(
            record("SCHILY.xattr.security.capability"),
            Some(capability.to_vec())
        );
        assert_eq!(head.entry_type(), tar::EntryType::Symlink);
    }

    #[test]
    fn pax_record_lengths_count_their_own_digits() {
        // Around the values whose record length gains a digit.
        for value_len in [0, 1, 2, 85, 86, 87, 990, 991, 992, 1000] {
            let value = vec![b'v'; value_len];
            let body = pax_body(&[("k", value)]);
            let text = String::from_utf8(body.clone()).unwrap();
            let (length, _) = text.split_once(' ').unwrap();
            assert_eq!(length.parse::<usize>().unwrap(), body.len(), "{value_len}");
        }
    }

    #[test]
    fn devices_directories_and_the_root_read_back() {
        let device = header("dev/null", Kind::CharDevice { major: 1, minor: 3 });
        let (head, _, _) = read_back(&device, b"");
        assert_eq!(head.entry_type(), tar::EntryType::Char);
        assert_eq!(
            (head.device_major().unwrap(), head.device_minor().unwrap()),
            (Some(1), Some(3))
        );
        let (head, _, _) = read_back(&header("usr/lib", Kind::Dir), b"");
        assert_eq!(head.entry_type(), tar::EntryType::Directory);
        let (head, _, _) = read_back(&header("", Kind::Dir), b"");
        assert_eq!(head.entry_type(), tar::EntryType::Directory);
        let mut hard = header("bin/sh", Kind::HardLink);
        hard.link = Some("bin/busybox");
        let (head, _, _) = read_back(&hard, b"");
        assert_eq!(head.entry_type(), tar::EntryType::Link);
        assert_eq!(head.link_name_bytes().unwrap().as_ref(), b"bin/busybox");
    }

    #[test]
    fn times_before_the_epoch_go_in_a_record() {
        let mut old = header("old", Kind::Fifo);
        old.mtime = Mtime {
            seconds: -2,
            nanos: 500_000_000,
        };
        let (_, records, _) = read_back(&old, b"");
        assert_eq!(records, vec![("mtime".to_string(), b"-1.5".to_vec())]);
    }
}
