//! An audit report saved for a teammate: as JSON, or as one self-contained HTML page (styles
//! inline, no scripts, nothing fetched) that any browser opens.
//!
//! ```no_run
//! # fn demo(report: &squashbox_core::audit::AuditReport) -> squashbox_core::Result<()> {
//! use squashbox_core::audit::export::{save_as, suggested_path, Format};
//! let path = suggested_path(std::path::Path::new("/tmp"), "app:1.2", Format::Html);
//! save_as(&path, "app:1.2", "sha256:ab…", report, Format::Html)?;
//! println!("saved {}", path.display());
//! # Ok(()) }
//! ```

use serde::Deserialize;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use ts_rs::TS;

use super::{AuditReport, TreeNode, TreeNodeKind};
use crate::error::{Error, Result};
use crate::units::{human_bytes as bytes, percent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Format {
    Json,
    Html,
}

/// Where the save dialog starts: in `dir`, the first name made from the image's that nothing
/// holds yet (`squashbox-audit-app-1.2.html`, then `…-2.html`), a symlink, dangling or not,
/// counting as taken.
pub fn suggested_path(dir: &Path, image_name: &str, format: Format) -> PathBuf {
    let stem = format!("squashbox-audit-{}", file_safe(image_name));
    let extension = format.extension();
    (1..)
        .map(|n| match n {
            1 => dir.join(format!("{stem}.{extension}")),
            n => dir.join(format!("{stem}-{n}.{extension}")),
        })
        .find(|path| std::fs::symlink_metadata(path).is_err())
        .expect("an unbounded range finds a free name")
}

/// Writes the report to `path`, the file the person chose in the save dialog (which asked
/// before replacing one). The report goes to a new file beside it first and is then renamed
/// into place, so a failed write leaves what was there, and a symlink at `path` is replaced,
/// never followed.
pub fn save_as(
    path: &Path,
    image_name: &str,
    image_id: &str,
    report: &AuditReport,
    format: Format,
) -> Result<()> {
    let body = match format {
        Format::Json => serde_json::to_string_pretty(&serde_json::json!({
            "image": image_name,
            "id": image_id,
            "report": report,
        }))
        .map_err(|e| Error::InvalidInput(format!("cannot write the report as JSON: {e}")))?,
        Format::Html => render_html(image_name, image_id, report),
    };
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidInput(format!("{} is not a file name", path.display())))?;
    let (part, mut file) = create_part_file(dir, &name.to_string_lossy())?;
    let written = file
        .write_all(body.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::Io {
            path: part.clone(),
            source,
        })
        .and_then(|()| {
            std::fs::rename(&part, path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })
        });
    if written.is_err() {
        // Ours, made a moment ago: a half-written report helps nobody.
        let _ = std::fs::remove_file(&part);
    }
    written
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// Names tried for the file written before the rename; that many left behind is odd enough to
/// report.
const MAX_PARTS: u32 = 100;

/// A new file in `dir` for the report on its way (`.name.part`, `.name-2.part`, …). The check and
/// the creation are one step (`create_new`: O_EXCL on Unix, CREATE_NEW on Windows), which fails on
/// any existing entry, a dangling symlink too, so nothing can slip in between them.
fn create_part_file(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    for n in 1..=MAX_PARTS {
        let path = match n {
            1 => dir.join(format!(".{name}.part")),
            n => dir.join(format!(".{name}-{n}.part")),
        };
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(Error::Io { path, source }),
        }
    }
    Err(Error::InvalidInput(format!(
        "{} already holds {MAX_PARTS} unfinished reports named .{name}…: remove them",
        dir.display()
    )))
}

fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = safe.trim_matches('-');
    if trimmed.is_empty() {
        "image".into()
    } else {
        trimmed.chars().take(80).collect()
    }
}

/// The whole report as one HTML page.
pub fn render_html(image_name: &str, image_id: &str, report: &AuditReport) -> String {
    let mut page = String::new();
    let name = escape(image_name);
    let saved = percent(report.reclaimable_bytes, report.layer_bytes);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Squashbox audit: {name}</title><style>{STYLE}</style></head><body>\
         <header><p class=\"kicker\">Squashbox audit</p><h1>{name}</h1><p class=\"id\">{}</p></header>\
         <p class=\"headline\">Layers {} · Filesystem {} · A squash would save <strong>{} ({saved:.0}%)</strong></p>\
         <p class=\"muted\">Efficiency {:.2}% as dive scores it · wasted {} (surviving copies not counted)</p>",
        escape(image_id),
        bytes(report.layer_bytes),
        bytes(report.filesystem_bytes),
        bytes(report.reclaimable_bytes),
        report.efficiency * 100.0,
        bytes(report.wasted_bytes),
    );

    page.push_str("<h2>Layers</h2><table><thead><tr><th>#</th><th>Step</th><th class=\"num\">Added</th><th class=\"num\">Lost later</th><th class=\"num\">Files +/~/−</th><th>Share of layer bytes</th></tr></thead><tbody>");
    for layer in &report.layers {
        let width = percent(layer.bytes_added, report.layer_bytes);
        let lost = percent(layer.bytes_lost_later, report.layer_bytes);
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"cmd\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{} / {} / {}</td><td><div class=\"bar\"><span class=\"kept\" style=\"width:{:.2}%\"></span>\
             <span class=\"lost\" style=\"width:{lost:.2}%\"></span></div></td></tr>",
            layer.index,
            escape(layer.created_by.as_deref().unwrap_or("")),
            bytes(layer.bytes_added),
            bytes(layer.bytes_lost_later),
            layer.files_added,
            layer.files_changed,
            layer.files_removed,
            (width - lost).max(0.0),
        );
    }
    page.push_str("</tbody></table>");

    page.push_str("<h2>Most wasted files</h2>");
    if report.wasted_files.is_empty() {
        page.push_str("<p class=\"muted\">No file is written and then lost in a later layer.</p>");
    } else {
        page.push_str("<table><thead><tr><th>Path</th><th class=\"num\">Wasted</th><th>Layers</th></tr></thead><tbody>");
        for file in &report.wasted_files {
            let layers: Vec<String> = file.layers.iter().map(u32::to_string).collect();
            let _ = write!(
                page,
                "<tr><td class=\"path\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&file.path),
                bytes(file.wasted_bytes),
                layers.join(", ")
            );
        }
        page.push_str("</tbody></table>");
    }

    page.push_str("<h2>Filesystem</h2><div class=\"tree\">");
    write_tree(&mut page, &report.tree, report.tree.bytes, 0);
    page.push_str("</div><footer>Made by Squashbox.</footer></body></html>\n");
    page
}

fn write_tree(page: &mut String, node: &TreeNode, total: u64, depth: usize) {
    let share = percent(node.bytes, total);
    let label = format!(
        "<span class=\"name\">{}</span><span class=\"size\">{}</span><span class=\"share\">{share:.1}%</span>",
        escape(&node.name),
        bytes(node.bytes)
    );
    if node.kind == TreeNodeKind::File || (node.children.is_empty() && node.other.is_none()) {
        let _ = write!(page, "<div class=\"leaf\">{label}</div>");
        return;
    }
    let open = if depth < 1 { " open" } else { "" };
    let _ = write!(page, "<details{open}><summary>{label}</summary>");
    for child in &node.children {
        write_tree(page, child, total, depth + 1);
    }
    if let Some(other) = &node.other {
        let _ = write!(
            page,
            "<div class=\"leaf muted\"><span class=\"name\">{} more entries</span><span class=\"size\">{}</span></div>",
            other.entries,
            bytes(other.bytes)
        );
    }
    page.push_str("</details>");
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d2330;--muted:#6b7385;--line:#e3e6ee;--kept:#4f6bed;--lost:#e0564b;--bg:#fff}\
@media (prefers-color-scheme:dark){:root{--fg:#e6e8ee;--muted:#9aa2b4;--line:#2c3140;--bg:#161a22}}\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg);max-width:1100px;margin:32px auto;padding:0 24px}\
h1{margin:0;font-size:24px}h2{margin-top:32px;font-size:16px}.kicker{margin:0;color:var(--muted);text-transform:uppercase;font-size:12px;letter-spacing:.06em}\
.id,.cmd,.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}.id{color:var(--muted);margin:4px 0 16px}\
.headline{font-size:18px}.muted{color:var(--muted)}table{width:100%;border-collapse:collapse}\
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{font-size:12px;color:var(--muted);font-weight:600}\
.num{text-align:right;white-space:nowrap}.bar{display:flex;height:10px;min-width:160px;background:var(--line);border-radius:5px;overflow:hidden}\
.kept{background:var(--kept)}.lost{background:var(--lost)}\
.tree details{margin-left:16px}.tree>details{margin-left:0}summary,.leaf{display:flex;gap:12px;padding:2px 0}.leaf{margin-left:32px}\
.name{flex:1;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.size,.share{min-width:80px;text-align:right;color:var(--muted)}\
footer{margin-top:40px;color:var(--muted);font-size:12px}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{LayerAudit, SpecialFiles, WastedFile};

    fn report() -> AuditReport {
        AuditReport {
            layer_bytes: 300,
            filesystem_bytes: 100,
            reclaimable_bytes: 200,
            wasted_bytes: 200,
            efficiency: 0.5,
            base_layers: None,
            layers: vec![LayerAudit {
                index: 0,
                digest: None,
                created_by: Some("RUN echo \"<script>alert(1)</script>\" && rm -rf /tmp/x".into()),
                bytes_added: 300,
                files_added: 2,
                files_changed: 0,
                files_removed: 1,
                bytes_lost_later: 200,
            }],
            wasted_files: vec![WastedFile {
                path: "/tmp/<evil>&.bin".into(),
                wasted_bytes: 200,
                layers: vec![0],
            }],
            tree: TreeNode {
                name: "/".into(),
                bytes: 100,
                files: 1,
                children: vec![TreeNode {
                    name: "app".into(),
                    kind: TreeNodeKind::File,
                    bytes: 100,
                    files: 1,
                    ..TreeNode::default()
                }],
                ..TreeNode::default()
            },
            special_files: SpecialFiles::default(),
        }
    }

    #[test]
    fn html_escapes_everything_from_the_image() {
        let page = render_html("app:<1>", "sha256:ab", &report());
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("/tmp/&lt;evil&gt;&amp;.bin"));
        assert!(page.contains("<title>Squashbox audit: app:&lt;1&gt;</title>"));
        assert!(page.contains("A squash would save <strong>200 B (67%)</strong>"));
    }

    #[cfg(unix)]
    #[test]
    fn the_suggested_name_skips_what_is_there_links_included() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let first = suggested_path(dir.path(), "repo/app:1.2", Format::Json);
        assert_eq!(
            first.file_name().unwrap(),
            "squashbox-audit-repo-app-1.2.json"
        );
        std::fs::write(&first, "").unwrap();
        symlink(
            "/nonexistent",
            dir.path().join("squashbox-audit-repo-app-1.2-2.json"),
        )
        .unwrap();
        let next = suggested_path(dir.path(), "repo/app:1.2", Format::Json);
        assert_eq!(
            next.file_name().unwrap(),
            "squashbox-audit-repo-app-1.2-3.json"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_chosen_name_is_replaced_not_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let target = elsewhere.path().join("authorized_keys");
        std::fs::write(&target, "ssh-ed25519 AAAA… mine\n").unwrap();
        let chosen = dir.path().join("report.json");
        symlink(&target, &chosen).unwrap();

        save_as(&chosen, "app:1", "sha256:ab", &report(), Format::Json).unwrap();

        let written = std::fs::symlink_metadata(&chosen).unwrap();
        assert!(
            written.file_type().is_file(),
            "a real file took the link's place"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&chosen).unwrap()).unwrap();
        assert_eq!(json["image"], "app:1");
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "ssh-ed25519 AAAA… mine\n"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no part file left"
        );
    }

    #[test]
    fn a_chosen_file_is_replaced_whole_and_a_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let chosen = dir.path().join("report.html");
        std::fs::write(&chosen, "x".repeat(100_000)).unwrap();
        save_as(&chosen, "app", "sha256:ab", &report(), Format::Html).unwrap();
        let page = std::fs::read_to_string(&chosen).unwrap();
        assert!(page.starts_with("<!doctype html>") && !page.contains("xxxx"));

        let folder = dir.path().join("a-folder");
        std::fs::create_dir(&folder).unwrap();
        let saved = save_as(&folder, "app", "sha256:ab", &report(), Format::Json);
        assert!(matches!(saved, Err(Error::Io { .. })), "{saved:?}");
        assert!(folder.is_dir());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "the report and the folder, no part file");
    }
}
