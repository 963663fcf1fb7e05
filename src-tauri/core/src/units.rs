//! Sizes and shares as people read them, the same in the CLI and in exported reports.
//!
//! ```
//! assert_eq!(squashbox_core::units::human_bytes(2_150_000_000), "2.15 GB");
//! ```

/// Decimal units with three significant digits, as Docker prints sizes and as the window does
/// (`formatBytes`; both are tested against `ui/src/lib/byte-sizes.json`).
pub fn human_bytes(bytes: u64) -> String {
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    // In integers, so every case rounds as the window's `toPrecision(3)` does (half up).
    let mut unit = 0;
    let mut scale: u128 = 1;
    while bytes as u128 >= scale * 1000 && unit < UNITS.len() - 1 {
        scale *= 1000;
        unit += 1;
    }
    let integer_digits = (bytes as u128 / scale).to_string().len() as u32;
    let mut decimals = 3u32.saturating_sub(integer_digits);
    let rounded = |decimals: u32, scale: u128| {
        let shifted = bytes as u128 * 10u128.pow(decimals);
        (shifted + scale / 2) / scale
    };
    let mut digits = rounded(decimals, scale);
    // 99.96 kB is "100 kB", and 999.95 kB "1.00 MB": rounding may add a digit.
    if digits >= 1000 {
        if decimals > 0 {
            decimals -= 1;
        } else if unit < UNITS.len() - 1 {
            unit += 1;
            scale *= 1000;
            decimals = 2;
        }
        digits = rounded(decimals, scale);
    }
    let point = 10u128.pow(decimals);
    match decimals {
        0 => format!("{digits} {}", UNITS[unit]),
        _ => format!(
            "{}.{:0width$} {}",
            digits / point,
            digits % point,
            UNITS[unit],
            width = decimals as usize
        ),
    }
}

/// Decimal units, as `docker images` prints them (go-units' HumanSize).
const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];

/// `part` as a percentage of `whole`; 0 when there is no whole.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_in_the_window() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../../ui/src/lib/byte-sizes.json")).unwrap();
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() > 10);
        for case in cases {
            let bytes = case[0].as_u64().unwrap();
            assert_eq!(human_bytes(bytes), case[1].as_str().unwrap(), "{bytes}");
        }
    }

    #[test]
    fn percent_of_nothing_is_zero() {
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
    }
}
