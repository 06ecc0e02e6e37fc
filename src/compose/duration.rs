//! Compose durations (Go's `time.ParseDuration` syntax): `1m30s`, `10s`, `500ms`, `1.5h`, `0`.

use std::time::Duration;

/// Parse a duration; `Err` says what is wrong. A bare number other than `0` is refused: Compose
/// reads it in nanoseconds, which is never what anyone meant.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut total_nanos: f64 = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("`{text}` has no number where one is expected"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("`{text}` has a number without a unit")),
            unit => return Err(format!("`{text}` has the unknown unit `{unit}`")),
        };
        rest = &rest[unit_len..];
        total_nanos += number * nanos_per_unit;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(format!("`{text}` is too long"));
    }
    // Rounded to whole nanoseconds, as Go does.
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// A duration as people write it: `10s`, `2m`, `1m30s`, `1h`, `1h5m` (whole seconds).
pub(crate) fn format(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 || out.is_empty() {
        out.push_str(&format!("{seconds}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let table = [
            ("10s", Duration::from_secs(10)),
            ("1m30s", Duration::from_secs(90)),
            ("500ms", Duration::from_millis(500)),
            ("1h", Duration::from_secs(3600)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m3s4ms", Duration::from_millis(123_004)),
            ("0", Duration::ZERO),
            ("100us", Duration::from_micros(100)),
        ];
        for (text, want) in table {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
        for bad in ["", "10", "10x", "s", "1m30", "-1s", "1..2s"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_as_written_and_parses_back() {
        for (secs, text) in [
            (0, "0s"),
            (10, "10s"),
            (90, "1m30s"),
            (120, "2m"),
            (3600, "1h"),
            (3900, "1h5m"),
            (3601, "1h1s"),
        ] {
            let duration = Duration::from_secs(secs);
            assert_eq!(format(duration), text);
            assert_eq!(parse(text), Ok(duration), "{text}");
        }
    }
}
