//! Reading the conformance tables in `tests/data/` (test-only): rows and cell escapes shared
//! by both ignore dialects' tables.

/// Data rows of a table: not blank, not a `#` comment, split on TAB.
pub(crate) fn rows(table: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    table
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(index, line)| (index + 1, line.split('\t').collect()))
}

/// Expands the tables' `{SP}`, `{TAB}`, `{CR}`, `{LF}` and `{U+XXXX}`.
pub(crate) fn unescape(cell: &str) -> String {
    let mut out = String::new();
    let mut rest = cell;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let close = tail.find('}').map_or(tail.len(), |c| c + 1);
        let token = &tail[..close];
        let expanded = match token {
            "{SP}" => Some(" ".to_owned()),
            "{TAB}" => Some("\t".to_owned()),
            "{CR}" => Some("\r".to_owned()),
            "{LF}" => Some("\n".to_owned()),
            _ => token
                .strip_prefix("{U+")
                .and_then(|hex| u32::from_str_radix(hex.trim_end_matches('}'), 16).ok())
                .and_then(char::from_u32)
                .map(String::from),
        };
        match expanded {
            Some(text) => {
                out.push_str(&text);
                rest = &tail[close..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
