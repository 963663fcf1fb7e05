//! The outer archive (`archive.rs`): layouts, manifests, compressed layers, bad input, progress.

use super::*;
use crate::audit::archive;

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
fn garbage_and_empty_input_are_malformed() {
    assert_malformed(audit(b""), "empty");
    assert_malformed(audit(&[0x5a; 5000]), "garbage");
    assert_malformed(audit(&gzip(b"not a tar")), "gzip");
    // A tar, but not an image.
    let tar = Layer::new().file("hello.txt", 3).tar();
    assert_malformed(audit(&tar), "plain tar");
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
