//! How the CLI prints: tables for people, JSON for scripts, one-line errors that say what to do.
//!
//! Every text that comes from an image or the daemon (paths, tags, settings, build commands,
//! the daemon's error messages) passes through [`terminal_safe`] before it is printed, so a
//! crafted image cannot move the cursor, clear the screen, retitle the window or reorder a line
//! to hide what Squashbox says (a file named `\x1b[1A\x1b[2K` would otherwise erase the "NOT
//! verified" line above it). It escapes in every table and text output, whether stdout is a
//! terminal or not: a redirected report is read later with `cat` or `less -R`, and CI logs are
//! drawn by viewers that obey the same sequences, so only the outputs meant for programs keep
//! the bytes as they are: `--json` (serde escapes what JSON must) and `--dockerfile` redirected
//! to a file.

use serde::Serialize;
use squashbox_core::endpoint::{Attempt, Outcome};
use squashbox_core::images::ImageSummary;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::platform::{start_help, Os, StartHelp};
use squashbox_core::savings::Saving;
pub use squashbox_core::units::human_bytes;
use squashbox_core::units::percent;
use squashbox_core::Error;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

/// `text` with every character a terminal would act on rather than show written as an escape:
/// C0 controls (`\n`, `\r`, `\t`, else `\x1b` and the like), DEL, the C1 controls (`\u{9b}`),
/// and the bidirectional marks, embeddings, overrides and isolates and the line and paragraph
/// separators (`\u{202e}`), which reorder or break what follows them. A backslash is left as it
/// is: the point is that the terminal shows the text, not that the escapes can be undone.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => safe.push_str("\\n"),
            '\r' => safe.push_str("\\r"),
            '\t' => safe.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(safe, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(safe, "\\u{{{:x}}}", u32::from(c));
            }
            c => safe.push(c),
        }
    }
    Cow::Owned(safe)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// An error in one line a person can act on. Its details may come from the daemon or an
/// image, so it is made [`terminal_safe`] whole.
pub fn explain(err: &Error) -> String {
    let text = match err {
        Error::DaemonUnavailable { attempts } => {
            let chosen = attempts
                .iter()
                .find(|a| a.endpoint.source.is_chosen() && !matches!(a.outcome, Outcome::Skipped));
            match chosen {
                Some(a) => format!(
                    "Docker is not reachable at {} (from {}): {}. Start Docker there, or fix {}; `squashbox-cli doctor` shows every place tried.",
                    display_host(a),
                    a.endpoint.source.describe(),
                    a.outcome,
                    a.endpoint.source.describe()
                ),
                None => format!(
                    "Docker is not running: start it ({}), or set DOCKER_HOST; `squashbox-cli doctor` shows every place tried.",
                    how_to_start(&start_help(Os::current()))
                ),
            }
        }
        other => other.to_string(),
    };
    terminal_safe(&text).into_owned()
}

/// Each engine with its command, or its action in words where it has none: "Docker Desktop:
/// `open -a Docker`; Colima: `colima start`; …".
fn how_to_start(help: &StartHelp) -> String {
    help.engines
        .iter()
        .map(|e| match &e.command {
            Some(command) => format!("{}: `{command}`", e.engine),
            None => format!("{}: {}", e.engine, e.action.trim_end_matches('.')),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn display_host(attempt: &Attempt) -> &str {
    if attempt.endpoint.host.is_empty() {
        "(no address)"
    } else {
        &attempt.endpoint.host
    }
}

pub fn print_json<T: Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::InvalidInput(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

pub fn print_attempts(attempts: &[Attempt]) {
    for attempt in attempts {
        println!(
            "{:<28} {:<52} {}",
            terminal_safe(&attempt.endpoint.source.describe()),
            terminal_safe(display_host(attempt)),
            terminal_safe(&attempt.outcome.to_string())
        );
        // The route of an address someone chose: how it is reached matters (TLS or not, which
        // ssh destination); the well-known sockets say it by their names.
        if attempt.endpoint.source.is_chosen() && !attempt.endpoint.host.is_empty() {
            println!(
                "{:<28} via {}",
                "",
                terminal_safe(&attempt.endpoint.route().to_string())
            );
        }
    }
}

/// The image table. SIZE is what the files take unpacked; where the engine's own figure differs
/// (the containerd image store also counts the compressed layers) a column shows it, with a line
/// under the table saying why.
pub fn print_image_table(list: &[ImageSummary]) {
    let engine_differs = list.iter().any(|i| i.engine_size != i.size);
    let engine_column = |text: &str| match engine_differs {
        true => format!(" {text:>12}"),
        false => String::new(),
    };
    println!(
        "{:<48} {:<12} {:>10}{} {:>10} {:>6}  FLAGS",
        "TAG",
        "ID",
        "SIZE",
        engine_column("ENGINE SIZE"),
        "COULD SAVE",
        "LAYERS"
    );
    for image in list {
        let mut flags = Vec::new();
        if image.dangling {
            flags.push("dangling");
        }
        if image.in_use {
            flags.push("in use");
        }
        let names = if image.tags.is_empty() {
            vec!["<none>".to_string()]
        } else {
            image.tags.clone()
        };
        for (i, name) in names.iter().enumerate() {
            if i == 0 {
                println!(
                    "{:<48} {:<12} {:>10}{} {:>10} {:>6}  {}",
                    terminal_safe(name),
                    terminal_safe(&image.short_id),
                    human_bytes(image.size),
                    engine_column(&human_bytes(image.engine_size)),
                    saving_cell(&image.saving),
                    image.layers,
                    flags.join(", ")
                );
            } else {
                println!("{}", terminal_safe(name));
            }
        }
    }
    if list.iter().any(|i| matches!(i.saving, Saving::Likely(_))) {
        println!(
            "COULD SAVE: what an audit measured a squash saves; \"maybe\" or \"≤ size\": a later build step deletes files, at most what the earlier steps that name them wrote (audit the image to measure)."
        );
    }
    if engine_differs {
        println!(
            "SIZE: the image's files, unpacked. ENGINE SIZE: the engine's own figure, which on the containerd image store also counts the compressed layers they were unpacked from."
        );
    }
}

/// What a squash of the image would save, as the window's column says it.
fn saving_cell(saving: &Saving) -> String {
    match saving {
        Saving::Measured { bytes, .. } => human_bytes(*bytes),
        Saving::Likely(hint) => match hint.up_to {
            Some(bytes) => format!("≤ {}", human_bytes(bytes)),
            None => "maybe".into(),
        },
        Saving::Unknown => "-".into(),
    }
}

/// A one-line progress display on stderr, drawn only for a person at a terminal.
/// A token that Ctrl-C fires: the job stops cleanly (removing what it made) instead of the
/// process dying mid-way.
pub fn cancel_on_ctrl_c() -> CancelToken {
    let cancel = CancelToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        }
    });
    cancel
}

pub struct ProgressBar {
    enabled: bool,
}

impl ProgressBar {
    /// Enabled when stderr is a terminal: scripts and CI logs get no carriage-return noise.
    pub fn for_stderr() -> Self {
        ProgressBar {
            enabled: std::io::stderr().is_terminal(),
        }
    }

    pub fn draw(&self, progress: &Progress) {
        if !self.enabled {
            return;
        }
        // Reading and verifying count an image's bytes; building counts steps, pruning images.
        let in_bytes =
            progress.stage.starts_with("reading") || progress.stage.starts_with("verifying");
        let amount = |n: u64| {
            if in_bytes {
                human_bytes(n)
            } else {
                n.to_string()
            }
        };
        let line = match progress.total {
            Some(total) if total > 0 => format!(
                "{} {:>3.0}%  {} of {}",
                progress.stage,
                percent(progress.done.min(total), total),
                amount(progress.done),
                amount(total)
            ),
            _ => format!("{} {}", progress.stage, amount(progress.done)),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    pub fn clear(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_advice_gives_commands_and_words_where_there_is_no_command() {
        assert_eq!(
            how_to_start(&start_help(Os::Macos)),
            "Docker Desktop: `open -a Docker`; Colima: `colima start`; Podman: `podman machine start`"
        );
        assert!(how_to_start(&start_help(Os::Windows))
            .starts_with("Docker Desktop: Open Docker Desktop from the Start menu"));
    }

    #[test]
    fn plain_text_is_passed_through_unchanged() {
        let text = "/usr/lib/café/naïve 日本語 \\x1b C:\\Users";
        assert!(matches!(terminal_safe(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn c0_controls_and_del_become_visible_escapes() {
        assert_eq!(
            terminal_safe("a\x1b[2Jb\x07c\x00d\x7fe"),
            "a\\x1b[2Jb\\x07c\\x00d\\x7fe"
        );
        assert_eq!(terminal_safe("one\ntwo\r\tthree"), "one\\ntwo\\r\\tthree");
    }

    #[test]
    fn c1_controls_are_escaped() {
        // U+009B is the one-character CSI: `\u{9b}2J` clears the screen where C1 is honoured.
        assert_eq!(terminal_safe("x\u{9b}2Jy\u{85}z"), "x\\u{9b}2Jy\\u{85}z");
        assert_eq!(terminal_safe("\u{80}\u{9f}"), "\\u{80}\\u{9f}");
    }

    #[test]
    fn bidi_controls_and_separators_are_escaped() {
        assert_eq!(terminal_safe("file\u{202e}gnp.exe"), "file\\u{202e}gnp.exe");
        for c in ('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{061c}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{2029}'])
        {
            let shown = terminal_safe(&c.to_string()).into_owned();
            assert_eq!(shown, format!("\\u{{{:x}}}", u32::from(c)));
        }
        // Neighbours that only join or space letters are shown as they are.
        assert_eq!(terminal_safe("a\u{200d}b\u{2060}c"), "a\u{200d}b\u{2060}c");
    }

    #[test]
    fn nothing_a_terminal_acts_on_survives() {
        let every_char = (0..=0x2100u32)
            .filter_map(char::from_u32)
            .collect::<String>();
        let shown = terminal_safe(&every_char);
        assert!(!shown.chars().any(needs_escape), "{shown}");
        assert!(!shown.chars().any(|c| c.is_control()));
    }

    #[test]
    fn errors_from_the_daemon_are_escaped_and_stay_on_one_line() {
        let err = Error::Daemon {
            status: 500,
            message: "no such file\n\x1b[1A\x1b[2KVerified".into(),
        };
        let line = explain(&err);
        assert_eq!(
            line,
            "Docker answered 500: no such file\\n\\x1b[1A\\x1b[2KVerified"
        );
    }
}
