//! Reading a `.dockerignore`: `ignorefile.ReadAll` and `patternmatcher.New`, line by line.

use super::*;

/// Splits like Go's `bufio.ScanLines`: on `\n`, dropping one `\r` before it, and
/// keeping a last line that has no terminator.
pub(super) fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

/// Applies the reader's limits and the comment rule; returns, per line, the
/// text still to be parsed (`None` for comments). The BOM goes from line 1.
pub(super) fn decode_lines(
    lines: &[&[u8]],
    source: &Path,
) -> Result<Vec<Option<String>>, DockerIgnoreError> {
    let mut out = Vec::with_capacity(lines.len());
    for (index, raw) in lines.iter().enumerate() {
        let fail = |reason: &str| DockerIgnoreError::Pattern {
            path: source.to_path_buf(),
            line: index + 1,
            pattern: String::from_utf8_lossy(raw)
                .trim()
                .chars()
                .take(80)
                .collect(),
            reason: reason.to_owned(),
        };
        if raw.len() >= MAX_LINE_BYTES {
            return Err(fail(
                "the line is 64 KiB or longer; Docker's reader fails on it",
            ));
        }
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = match index {
            0 => line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line),
            _ => line,
        };
        if line.first() == Some(&b'#') {
            out.push(None);
            continue;
        }
        match std::str::from_utf8(line) {
            Ok(text) => out.push(Some(text.to_owned())),
            Err(_) => return Err(fail("the line is not valid UTF-8")),
        }
    }
    Ok(out)
}

/// ReadAll's normalisation of one non-comment line; `None` when it is blank.
pub(super) fn read_all_line(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return None;
    }
    let (bang, rest) = match trimmed.strip_prefix('!') {
        Some(rest) => ("!", rest.trim()),
        None => ("", trimmed),
    };
    if rest.is_empty() {
        return Some(bang.to_owned());
    }
    let cleaned = go_clean(rest);
    // Clean leaves at most one leading slash; a lone "/" is kept as is.
    let relative = match cleaned.strip_prefix('/') {
        Some(tail) if !tail.is_empty() => tail,
        _ => cleaned.as_str(),
    };
    Some(format!("{bang}{relative}"))
}

/// patternmatcher.New's handling of one string from ReadAll. `Ok(None)` when it
/// trims to nothing (Docker skips it); `Err` carries the reason Docker rejects it.
pub(super) fn compile_line(read: &str, line: usize) -> Result<Option<Pattern>, String> {
    let trimmed = read.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let cleaned = go_clean(trimmed);
    let (exception, text) = match cleaned.strip_prefix('!') {
        Some("") => {
            return Err("a lone `!` is not a pattern (Docker: illegal exclusion pattern)".into());
        }
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    check_glob_syntax(text).map_err(|why| format!("syntax error in pattern: {why}"))?;
    let matcher = build_matcher(text)?;
    Ok(Some(Pattern {
        text: text.to_owned(),
        exception,
        line,
        matcher,
    }))
}

/// Cleans a context-relative path the way Docker names the Dockerfile.
pub(super) fn context_relative(path: &str) -> String {
    let cleaned = go_clean(path);
    match cleaned.strip_prefix('/') {
        Some(tail) if !tail.is_empty() => tail.to_owned(),
        _ => cleaned,
    }
}

/// Go's `path/filepath.Clean` for `/`-separated paths.
pub(super) fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            _ => parts.push(part),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// Go's `path/filepath.Dir` for `/`-separated paths.
pub(super) fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(slash) => go_clean(&path[..=slash]),
        None => ".".to_owned(),
    }
}

/// Rejects what Go's `filepath.Match` calls `ErrBadPattern`: a trailing `\`
/// and malformed `[...]` classes (empty, unterminated, a bare `-` or `]` as a
/// range end). Reversed ranges are legal there.
pub(super) fn check_glob_syntax(pattern: &str) -> Result<(), &'static str> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    while pos < chars.len() {
        pos = match chars[pos] {
            '\\' if pos + 1 >= chars.len() => return Err("trailing backslash"),
            '\\' => pos + 2,
            '[' => check_glob_class(&chars, pos + 1)?,
            _ => pos + 1,
        };
    }
    Ok(())
}

/// Checks the class starting after its `[`; returns the position after its `]`.
fn check_glob_class(chars: &[char], mut pos: usize) -> Result<usize, &'static str> {
    if chars.get(pos) == Some(&'^') {
        pos += 1;
    }
    let mut ranges = 0;
    loop {
        if ranges > 0 && chars.get(pos) == Some(&']') {
            return Ok(pos + 1);
        }
        pos = glob_class_char(chars, pos)?;
        if chars.get(pos) == Some(&'-') {
            pos = glob_class_char(chars, pos + 1)?;
        }
        ranges += 1;
    }
}

/// One (possibly escaped) class character; it may not be the last character.
fn glob_class_char(chars: &[char], mut pos: usize) -> Result<usize, &'static str> {
    match chars.get(pos) {
        None => return Err("unterminated character class"),
        Some('-' | ']') => return Err("empty or malformed character class"),
        Some('\\') => pos += 1,
        Some(_) => {}
    }
    if pos + 1 >= chars.len() {
        return Err("unterminated character class");
    }
    Ok(pos + 1)
}
