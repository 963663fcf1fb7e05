//! How the CLI prints: tables for people, JSON for scripts, one-line errors that say what to do.

use serde::Serialize;
use squashbox_core::endpoint::{Attempt, Outcome};
use squashbox_core::images::ImageSummary;
pub use squashbox_core::units::human_bytes;
use squashbox_core::Error;

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
