//! `squashbox-cli audit`: the audit report for people or scripts, and a CI gate like dive's.

use clap::Args;
use squashbox_core::audit::{audit_image, AuditReport};
use squashbox_core::ci_gate::{self, RuleStatus, Rules};
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::Progress;
use squashbox_core::units::percent;
use squashbox_core::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::output::{cancel_on_ctrl_c, human_bytes, print_json, terminal_safe, ProgressBar};

/// Exit code when a CI rule fails (Docker errors and bad input have their own).
const GATE_FAILED: u8 = 10;

#[derive(Args)]
pub struct AuditArgs {
    /// Image name, tag or ID.
    image: String,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
    /// Judge the image by CI rules and exit 10 if one fails. Rules come from the flags below,
    /// else from a .dive-ci file in the current folder, else dive's defaults.
    #[arg(long)]
    ci: bool,
    /// A .dive-ci file to read the rules from.
    #[arg(long, value_name = "PATH", requires = "ci")]
    ci_config: Option<PathBuf>,
    /// Fail when efficiency (0–1) is lower; "disabled" turns the rule off.
    #[arg(long, value_name = "RATIO", requires = "ci")]
    lowest_efficiency: Option<String>,
    /// Fail when more bytes are wasted (e.g. 20MB); "disabled" turns the rule off.
    #[arg(long, value_name = "SIZE", requires = "ci")]
    highest_wasted_bytes: Option<String>,
    /// Fail when wasted bytes are a larger fraction (0–1) of what the layers above the base add.
    #[arg(long, value_name = "RATIO", requires = "ci")]
    highest_user_wasted_percent: Option<String>,
}

pub async fn run(env: &Environment, args: AuditArgs) -> Result<ExitCode, Error> {
    // Read the rules first: a typo in them should not cost a whole audit.
    let rules = args.ci.then(|| gate_rules(&args)).transpose()?;
    let daemon = Daemon::connect(env).await?;
    let cancel = cancel_on_ctrl_c();
    let bar = ProgressBar::for_stderr();
    let audited = audit_image(&daemon, &args.image, &|p: Progress| bar.draw(&p), &cancel).await;
    bar.clear();
    let report = audited?.report;

    let results = rules.map(|rules| ci_gate::evaluate(&report, &rules));
    if args.json {
        print_json(&serde_json::json!({
            "image": args.image,
            "report": &report,
            "ci": results.as_ref().map(|r| serde_json::json!({ "passed": ci_gate::passed(r), "rules": r })),
        }))?;
    } else {
        print_report(&args.image, &report);
        if let Some(results) = &results {
            print_gate(results);
        }
    }
    Ok(match results {
        Some(results) if !ci_gate::passed(&results) => ExitCode::from(GATE_FAILED),
        _ => ExitCode::SUCCESS,
    })
}

fn gate_rules(args: &AuditArgs) -> Result<Rules, Error> {
    let config = args
        .ci_config
        .clone()
        .or_else(|| Some(PathBuf::from(".dive-ci")).filter(|p| p.exists()));
    let mut rules = match config {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            Rules::from_dive_ci(&text)?
        }
        None => Rules::default(),
    };
    let flags = [
        ("lowestEfficiency", &args.lowest_efficiency),
        ("highestWastedBytes", &args.highest_wasted_bytes),
        (
            "highestUserWastedPercent",
            &args.highest_user_wasted_percent,
        ),
    ];
    for (key, value) in flags {
        if let Some(value) = value {
            rules.set(key, value)?;
        }
    }
    Ok(rules)
}

fn print_report(image: &str, report: &AuditReport) {
    let saved_percent = percent(report.reclaimable_bytes, report.layer_bytes);
    println!("{}", terminal_safe(image));
    println!(
        "Layers {} · Filesystem {} · A squash would save {} ({saved_percent:.0}%)",
        human_bytes(report.layer_bytes),
        human_bytes(report.filesystem_bytes),
        human_bytes(report.reclaimable_bytes),
    );
    println!(
        "Efficiency {:.2}% (as dive scores it) · Wasted {}\n",
        report.efficiency * 100.0,
        human_bytes(report.wasted_bytes)
    );
    println!(
        "{:>5}  {:>10}  {:>10}  {:>7} {:>7} {:>7}  COMMAND",
        "LAYER", "ADDED", "LOST LATER", "+FILES", "~FILES", "-FILES"
    );
    for layer in &report.layers {
        let command = layer.created_by.as_deref().unwrap_or("");
        println!(
            "{:>5}  {:>10}  {:>10}  {:>7} {:>7} {:>7}  {}",
            layer.index,
            human_bytes(layer.bytes_added),
            human_bytes(layer.bytes_lost_later),
            layer.files_added,
            layer.files_changed,
            layer.files_removed,
            terminal_safe(&one_line(command, 70))
        );
    }
    if let Some(base) = report.base_layers {
        let (first, them) = match base {
            1 => ("layer 0 is".to_owned(), "it"),
            n => (format!("layers 0–{} are", n - 1), "them"),
        };
        println!(
            "\nThe history says {first} the base image (its build ends there with CMD or ENTRYPOINT): \
             `squash --keep-layers {base}` keeps {them} shared with other images on that base."
        );
    }
    if !report.wasted_files.is_empty() {
        println!("\nMost wasted files:");
        for file in report.wasted_files.iter().take(10) {
            let layers: Vec<String> = file.layers.iter().map(u32::to_string).collect();
            println!(
                "  {:>10}  {}  (layers {})",
                human_bytes(file.wasted_bytes),
                terminal_safe(&file.path),
                layers.join(", ")
            );
        }
    }
}

fn print_gate(results: &[ci_gate::RuleResult]) {
    println!("\nCI rules:");
    for result in results {
        let status = match result.status {
            RuleStatus::Pass => "PASS",
            RuleStatus::Fail => "FAIL",
            RuleStatus::Skip => "SKIP",
        };
        println!("  {status}  {}: {}", result.rule, result.detail);
    }
    println!(
        "{}",
        if ci_gate::passed(results) {
            "PASS"
        } else {
            "FAIL"
        }
    );
}

/// Build commands can span lines and pages; a table row gets the first line, shortened.
fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_cut_to_one_line() {
        assert_eq!(one_line("RUN a\nb", 10), "RUN a");
        assert_eq!(one_line("abcdefghijkl", 5), "abcd…");
    }
}
