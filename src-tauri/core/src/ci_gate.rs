//! A CI gate over an audit, like dive's `--ci`: rules with limits, each PASS, FAIL or SKIP,
//! read from flags or from a `.dive-ci` file so teams moving from dive keep their config.
//!
//! ```
//! use squashbox_core::ci_gate::Rules;
//! let rules = Rules::from_dive_ci("rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n").unwrap();
//! assert_eq!(rules.highest_wasted_bytes, Some(20_000_000));
//! ```
//!
//! Two figures differ from dive's on purpose: wasted bytes do not count the copy of a file that
//! survives (dive issue #684), so the same image wastes less here; efficiency is dive's own.

use serde::Serialize;
use ts_rs::TS;

use crate::audit::AuditReport;
use crate::error::{Error, Result};

/// The limits a gate checks; `None` is a disabled rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Fail when efficiency (0–1) is below this.
    pub lowest_efficiency: Option<f64>,
    /// Fail when wasted bytes are above this.
    pub highest_wasted_bytes: Option<u64>,
    /// Fail when wasted bytes, as a fraction (0–1) of the bytes the layers above the base add,
    /// are above this.
    pub highest_user_wasted_percent: Option<f64>,
}

impl Default for Rules {
    /// dive's defaults, so a bare `--ci` judges an image as dive would.
    fn default() -> Self {
        Rules {
            lowest_efficiency: Some(0.9),
            highest_wasted_bytes: None,
            highest_user_wasted_percent: Some(0.1),
        }
    }
}

const LOWEST_EFFICIENCY: &str = "lowestEfficiency";
const HIGHEST_WASTED_BYTES: &str = "highestWastedBytes";
const HIGHEST_USER_WASTED_PERCENT: &str = "highestUserWastedPercent";

impl Rules {
    /// Reads the `rules:` section of a `.dive-ci` file (the small YAML subset dive documents).
    /// Rules the file does not name keep their defaults.
    pub fn from_dive_ci(text: &str) -> Result<Rules> {
        let mut rules = Rules::default();
        let mut in_rules = false;
        for (number, raw) in text.lines().enumerate() {
            let line = raw.split(" #").next().unwrap_or("").trim_end();
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let indented = line.starts_with(' ') || line.starts_with('\t');
            if !indented {
                in_rules = line.trim() == "rules:";
                continue;
            }
            if !in_rules {
                continue;
            }
            let (key, value) = line.trim().split_once(':').ok_or_else(|| {
                invalid(format!(
                    ".dive-ci line {}: expected `key: value`",
                    number + 1
                ))
            })?;
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            rules.set(key.trim(), value)?;
        }
        Ok(rules)
    }

    /// Sets one rule from its dive name and text value (`disabled`, `off`, `false` or empty
    /// turn it off).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let disabled = matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "" | "disabled" | "off" | "false"
        );
        match key {
            LOWEST_EFFICIENCY => {
                self.lowest_efficiency = (!disabled).then(|| parse_ratio(key, value)).transpose()?
            }
            HIGHEST_WASTED_BYTES => {
                self.highest_wasted_bytes = (!disabled).then(|| parse_bytes(value)).transpose()?
            }
            HIGHEST_USER_WASTED_PERCENT => {
                self.highest_user_wasted_percent =
                    (!disabled).then(|| parse_ratio(key, value)).transpose()?
            }
            other => {
                return Err(invalid(format!(
                    "unknown CI rule \"{other}\": use {LOWEST_EFFICIENCY}, {HIGHEST_WASTED_BYTES} or {HIGHEST_USER_WASTED_PERCENT}"
                )))
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum RuleStatus {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RuleResult {
    pub rule: String,
    pub status: RuleStatus,
    /// The limit and the measured value, in words, e.g. "efficiency 0.87 < 0.90".
    pub detail: String,
}

/// Checks every rule against the report, in dive's order.
pub fn evaluate(report: &AuditReport, rules: &Rules) -> Vec<RuleResult> {
    let user_wasted = user_wasted_fraction(report);
    vec![
        check(
            LOWEST_EFFICIENCY,
            rules.lowest_efficiency,
            |limit| report.efficiency >= limit,
            |limit| {
                format!(
                    "efficiency {:.4}, lowest allowed {limit}",
                    report.efficiency
                )
            },
        ),
        check(
            HIGHEST_WASTED_BYTES,
            rules.highest_wasted_bytes,
            |limit| report.wasted_bytes <= limit,
            |limit| {
                format!(
                    "{} bytes wasted, highest allowed {limit}",
                    report.wasted_bytes
                )
            },
        ),
        check(
            HIGHEST_USER_WASTED_PERCENT,
            rules.highest_user_wasted_percent,
            |limit| user_wasted <= limit,
            |limit| {
                format!("{user_wasted:.4} of the bytes added above the base wasted, highest allowed {limit}")
            },
        ),
    ]
}

/// True when no rule failed.
pub fn passed(results: &[RuleResult]) -> bool {
    results.iter().all(|r| r.status != RuleStatus::Fail)
}

/// Wasted bytes over the bytes the layers above the base add (dive's "user" bytes): what the
/// image's own build steps threw away, relative to what they wrote.
pub fn user_wasted_fraction(report: &AuditReport) -> f64 {
    let base = report.layers.first().map_or(0, |l| l.bytes_added);
    let user = report.layer_bytes.saturating_sub(base);
    if user == 0 {
        0.0
    } else {
        report.wasted_bytes as f64 / user as f64
    }
}

fn check<T: Copy + std::fmt::Display>(
    rule: &str,
    limit: Option<T>,
    holds: impl Fn(T) -> bool,
    describe: impl Fn(T) -> String,
) -> RuleResult {
    let (status, detail) = match limit {
        None => (RuleStatus::Skip, "disabled".to_string()),
        Some(limit) if holds(limit) => (RuleStatus::Pass, describe(limit)),
        Some(limit) => (RuleStatus::Fail, describe(limit)),
    };
    RuleResult {
        rule: rule.to_owned(),
        status,
        detail,
    }
}

fn parse_ratio(key: &str, value: &str) -> Result<f64> {
    let ratio: f64 = value.trim().parse().map_err(|_| {
        invalid(format!(
            "{key} must be a number from 0 to 1, not \"{value}\""
        ))
    })?;
    if (0.0..=1.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err(invalid(format!("{key} must be from 0 to 1, not {ratio}")))
    }
}

/// Parses sizes as dive does: `20MB` is 20×10⁶ bytes, `20MiB` 20×2²⁰, a bare number is bytes.
pub fn parse_bytes(value: &str) -> Result<u64> {
    let text = value.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| invalid(format!("\"{value}\" is not a size such as 20MB or 1.5GiB")))?;
    let unit = unit.trim().to_ascii_lowercase();
    let scale: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(invalid(format!(
                "\"{value}\" has an unknown unit \"{unit}\""
            )))
        }
    };
    Ok((number * scale).round() as u64)
}

fn invalid(message: String) -> Error {
    Error::InvalidInput(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{LayerAudit, SpecialFiles, TreeNode};

    fn report(efficiency: f64, layer_bytes: u64, base: u64, wasted: u64) -> AuditReport {
        let layer = |index, bytes_added| LayerAudit {
            index,
            digest: None,
            created_by: None,
            bytes_added,
            files_added: 0,
            files_changed: 0,
            files_removed: 0,
            bytes_lost_later: 0,
        };
        AuditReport {
            layer_bytes,
            filesystem_bytes: layer_bytes - wasted,
            reclaimable_bytes: wasted,
            wasted_bytes: wasted,
            efficiency,
            base_layers: None,
            layers: vec![layer(0, base), layer(1, layer_bytes - base)],
            wasted_files: Vec::new(),
            tree: TreeNode::default(),
            special_files: SpecialFiles::default(),
        }
    }

    #[test]
    fn sizes_parse_like_dive() {
        assert_eq!(parse_bytes("20MB").unwrap(), 20_000_000);
        assert_eq!(parse_bytes("1.5 GiB").unwrap(), 1_610_612_736);
        assert_eq!(parse_bytes("512").unwrap(), 512);
        assert_eq!(parse_bytes("2kb").unwrap(), 2_000);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("3 parsecs").is_err());
    }

    #[test]
    fn dive_ci_files_are_read_with_defaults_for_the_rest() {
        let text = "# team rules\nrules:\n  # be strict\n  lowestEfficiency: 0.95\n  highestWastedBytes: \"20MB\"\n";
        let rules = Rules::from_dive_ci(text).unwrap();
        assert_eq!(rules.lowest_efficiency, Some(0.95));
        assert_eq!(rules.highest_wasted_bytes, Some(20_000_000));
        assert_eq!(rules.highest_user_wasted_percent, Some(0.1));
    }

    #[test]
    fn rules_can_be_disabled_and_typos_are_errors() {
        let rules = Rules::from_dive_ci("rules:\n  lowestEfficiency: disabled\n").unwrap();
        assert_eq!(rules.lowest_efficiency, None);
        assert!(Rules::from_dive_ci("rules:\n  lowestEfficency: 0.9\n").is_err());
        assert!(Rules::from_dive_ci("rules:\n  lowestEfficiency: 1.5\n").is_err());
    }

    #[test]
    fn each_rule_passes_or_fails_on_its_own_figure() {
        // 100 bytes in layers, 40 in the base, 30 wasted: user waste is 30 / 60 = 0.5.
        let report = report(0.8, 100, 40, 30);
        let rules = Rules {
            lowest_efficiency: Some(0.9),
            highest_wasted_bytes: Some(30),
            highest_user_wasted_percent: Some(0.4),
        };
        let results = evaluate(&report, &rules);
        let statuses: Vec<_> = results.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            vec![RuleStatus::Fail, RuleStatus::Pass, RuleStatus::Fail]
        );
        assert!(!passed(&results));
        assert!((user_wasted_fraction(&report) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn disabled_rules_are_skipped_and_never_fail() {
        let report = report(0.1, 100, 0, 90);
        let rules = Rules {
            lowest_efficiency: None,
            highest_wasted_bytes: None,
            highest_user_wasted_percent: None,
        };
        let results = evaluate(&report, &rules);
        assert!(results.iter().all(|r| r.status == RuleStatus::Skip));
        assert!(passed(&results));
    }
}
