//! A dotenv parser that is never a shell.
//!
//! The original `bin/deploy` ran `source environments/<env>/.env`, which executes the file and
//! lets it overwrite the script's own variables. Here a `.env` file is data:
//! - blank lines and lines starting with `#` are ignored; an optional `export ` prefix is allowed;
//! - `KEY=value`: unquoted values are trimmed, and ` #` starts a trailing comment;
//! - `'single'` quotes are literal and may span lines;
//! - `"double"` quotes understand `\n \r \t \" \\ \$` and may span lines;
//! - nothing is expanded or executed (`$(cmd)` and `${VAR}` stay as written).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::exit::{Coded, ExitStatus};

/// A parsed `.env` file: keys in file order, last assignment wins, with the line of each key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DotenvFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Key → (value, 1-based line of the assignment).
    pub entries: IndexMap<String, (String, usize)>,
}

impl DotenvFile {
    /// The value of `key`, if assigned.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|(v, _)| v.as_str())
    }

    /// The line `key` was assigned on.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.entries.get(key).map(|(_, line)| *line)
    }

    /// The keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

/// Why a `.env` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DotenvError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A line is not valid dotenv syntax.
    #[error("{path}:{line}: {reason}; fix: {fix}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
        /// What to write instead.
        fix: String,
    },
}

impl Coded for DotenvError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::InvalidInput
    }
}

/// The longest value a `.env` assignment may have (Elastic Beanstalk's whole option settings
/// stay far below; a larger value is a mistake, not configuration).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// The largest `.env` file read.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Read and parse a `.env` file. A FIFO, device or directory in its place is refused without
/// opening it (reading a FIFO would wait for a writer forever), and so is an oversized file.
pub fn read(path: &Path) -> Result<DotenvFile, DotenvError> {
    let io = |source: std::io::Error| DotenvError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = fs_err::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or directory is never read as .env); put a \
             plain file there",
        )));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} bytes, over the {} MiB a .env file may have",
                meta.len(),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        )));
    }
    let text = fs_err::read_to_string(path).map_err(io)?;
    parse(&text, path)
}

/// Parse dotenv `text`; `path` is used in errors only.
pub fn parse(text: &str, path: &Path) -> Result<DotenvFile, DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(at) = text.find('\0') {
        return Err(DotenvError::Syntax {
            path: path.to_owned(),
            line: text[..at].matches('\n').count() + 1,
            reason: "the file holds a NUL byte (binary data, not a .env file)".into(),
            fix: "remove it: values are text".into(),
        });
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut file = DotenvFile {
        path: path.to_owned(),
        entries: IndexMap::new(),
    };
    let mut index = 0;
    while index < lines.len() {
        let line_no = index + 1;
        let line = lines[index].trim_start();
        index += 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let syntax = |reason: String, fix: String| DotenvError::Syntax {
            path: path.to_owned(),
            line: line_no,
            reason,
            fix,
        };
        let line = strip_export(line);
        let Some((raw_key, raw_value)) = line.split_once('=') else {
            let word = line.trim();
            return Err(syntax(
                format!("`{word}` has no `=`"),
                format!("write `{word}=value`, or `{word}=` for an empty value"),
            ));
        };
        let key = raw_key.trim();
        if !is_valid_key(key) {
            return Err(syntax(
                format!("`{key}` is not a valid variable name"),
                "use letters, digits, `_`, `.` or `-`, not starting with a digit".into(),
            ));
        }
        let value = parse_value(raw_value.trim_start(), &lines, &mut index)
            .map_err(|(reason, fix)| syntax(reason, fix))?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(syntax(
                format!(
                    "the value of `{key}` is {} bytes, over the 1 MiB limit",
                    value.len()
                ),
                "keep large data in a file the container reads, not in the environment".into(),
            ));
        }
        file.entries.shift_remove(key);
        file.entries.insert(key.to_owned(), (value, line_no));
    }
    Ok(file)
}

/// Drop a leading `export ` (as written by shells' `export -p`).
fn strip_export(line: &str) -> &str {
    match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    }
}

fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

type ValueError = (String, String);

/// Parse the value after `=`; quoted values may consume further lines (`index` advances).
fn parse_value(raw: &str, lines: &[&str], index: &mut usize) -> Result<String, ValueError> {
    match raw.chars().next() {
        Some(quote @ ('\'' | '"')) => parse_quoted(&raw[1..], quote, lines, index),
        _ => Ok(strip_inline_comment(raw).trim_end().to_owned()),
    }
}

/// An unquoted value ends at ` #` (a `#` glued to text, as in `a#b`, is kept).
fn strip_inline_comment(raw: &str) -> &str {
    let bytes = raw.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &raw[..i];
        }
    }
    raw
}

fn parse_quoted(
    first: &str,
    quote: char,
    lines: &[&str],
    index: &mut usize,
) -> Result<String, ValueError> {
    let opened_on = *index;
    let mut value = String::new();
    let mut current = first.to_owned();
    loop {
        if let Some(rest) = scan_until_quote(&current, quote, &mut value) {
            let trailing = rest.trim();
            if !trailing.is_empty() && !trailing.starts_with('#') {
                return Err((
                    format!("unexpected `{trailing}` after the closing {quote}"),
                    "put the whole value inside the quotes, or add `#` before a comment".into(),
                ));
            }
            return Ok(value);
        }
        let Some(next) = lines.get(*index) else {
            return Err((
                format!("the {quote} opened on line {opened_on} is never closed"),
                format!("add the closing {quote}"),
            ));
        };
        value.push('\n');
        current = (*next).to_owned();
        *index += 1;
    }
}

/// Append the text of `segment` up to the closing quote to `value`, handling escapes in double
/// quotes. Returns the rest of the line after the closing quote, or `None` when the line ends
/// first.
fn scan_until_quote<'a>(segment: &'a str, quote: char, value: &mut String) -> Option<&'a str> {
    let mut chars = segment.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some(&segment[i + 1..]);
        }
        if c == '\\' && quote == '"' {
            match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 't')) => value.push('\t'),
                Some((_, e @ ('"' | '\\' | '$'))) => value.push(e),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            }
            continue;
        }
        value.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn nul_bytes_huge_values_and_non_files_are_refused() {
        let path = Path::new("environments/prod/.env");
        let err = parse("A=1\nB=x\0y\n", path).expect_err("NUL");
        assert!(
            err.to_string().contains(":2: the file holds a NUL byte"),
            "{err}"
        );
        let big = format!("BIG={}\n", "x".repeat(MAX_VALUE_BYTES + 1));
        let err = parse(&big, path).expect_err("too big");
        assert!(err.to_string().contains("over the 1 MiB limit"), "{err}");
        assert!(parse(&format!("OK={}\n", "x".repeat(1000)), path).is_ok());
        // A device and a FIFO are refused without being opened (a FIFO would block).
        let err = read(Path::new("/dev/null")).expect_err("device");
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join(".env");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read(&fifo).expect_err("fifo");
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
    }

    use super::*;

    fn parse_ok(text: &str) -> Vec<(String, String)> {
        parse(text, Path::new("t.env"))
            .map(|f| {
                f.entries
                    .into_iter()
                    .map(|(k, (v, _))| (k, v))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn one(text: &str) -> String {
        let all = parse_ok(text);
        assert_eq!(all.len(), 1, "{text:?} gave {all:?}");
        all[0].1.clone()
    }

    #[test]
    fn values_table() {
        let table = [
            ("A=1", "1"),
            ("A = 1 ", "1"),
            ("export A=1", "1"),
            ("export\tA=1", "1"),
            ("A=", ""),
            ("A=a b c", "a b c"),
            ("A=a # comment", "a"),
            ("A=a#b", "a#b"),
            ("A='a # b'", "a # b"),
            ("A='$(rm -rf /)'", "$(rm -rf /)"),
            ("A=$(whoami)", "$(whoami)"),
            ("A=\"${HOME}\"", "${HOME}"),
            ("A=\"a\\nb\"", "a\nb"),
            ("A='a\\nb'", "a\\nb"),
            ("A=\"say \\\"hi\\\"\"", "say \"hi\""),
            ("A=\"x\" # trailing", "x"),
            ("A=\"line1\nline2\"", "line1\nline2"),
            (
                "A='-----BEGIN KEY-----\nabc\n-----END KEY-----'",
                "-----BEGIN KEY-----\nabc\n-----END KEY-----",
            ),
            ("\u{feff}A=bom", "bom"),
            ("A=crlf\r\n", "crlf"),
            ("A=//192.168.99.100:8010/", "//192.168.99.100:8010/"),
            ("A==equals", "=equals"),
        ];
        for (text, want) in table {
            assert_eq!(one(text), want, "input {text:?}");
        }
    }

    #[test]
    fn comments_blank_lines_and_last_assignment_wins() {
        let got = parse_ok("# top\n\nA=1\n  # indented comment\nB=2\nA=3\n");
        assert_eq!(
            got,
            vec![("B".into(), "2".into()), ("A".into(), "3".into())]
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let table = [
            ("A=1\nNOVALUE\n", 2, "has no `=`"),
            ("A=1\n\nB=\"open\nC=2\n", 3, "never closed"),
            ("1A=x", 1, "not a valid variable name"),
            ("A=\"x\" y", 1, "unexpected `y`"),
            ("A B=1", 1, "not a valid variable name"),
        ];
        for (text, line, needle) in table {
            let err = parse(text, Path::new("environments/prod/.env")).expect_err(text);
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!("environments/prod/.env:{line}:")),
                "{text:?} → {msg}"
            );
            assert!(msg.contains(needle), "{text:?} → {msg}");
            assert!(msg.contains("fix:"), "{text:?} → {msg}");
        }
    }

    #[test]
    fn line_numbers_are_recorded() {
        let f = parse("A=1\n\nB='x\ny'\nC=3", Path::new("e")).expect("parses");
        assert_eq!(f.line_of("A"), Some(1));
        assert_eq!(f.line_of("B"), Some(3));
        assert_eq!(f.line_of("C"), Some(5));
    }
}
