//! How the CLI prints: tables for people, JSON for scripts, one-line errors that say what to do.

use serde::Serialize;
use squashbox_core::endpoint::{Attempt, Outcome};
use squashbox_core::images::ImageSummary;
use squashbox_core::job::{CancelToken, Progress};
pub use squashbox_core::units::human_bytes;
use squashbox_core::units::percent;
use squashbox_core::Error;
use std::io::{IsTerminal, Write};

/// An error in one line a person can act on.
pub fn explain(err: &Error) -> String {
    match err {
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
                None => "Docker is not running: start Docker Desktop (or `sudo systemctl start docker`), or set DOCKER_HOST; `squashbox-cli doctor` shows every place tried.".into(),
            }
        }
        other => other.to_string(),
    }
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
            attempt.endpoint.source.describe(),
            display_host(attempt),
            attempt.outcome
        );
    }
}

pub fn print_image_table(list: &[ImageSummary]) {
    println!(
        "{:<48} {:<12} {:>10} {:>6}  FLAGS",
        "TAG", "ID", "SIZE", "LAYERS"
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
                    "{:<48} {:<12} {:>10} {:>6}  {}",
                    name,
                    image.short_id,
                    human_bytes(image.size),
                    image.layers,
                    flags.join(", ")
                );
            } else {
                println!("{name}");
            }
        }
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
