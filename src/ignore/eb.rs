//! The EB CLI's `.ebignore` semantics, reproduced exactly.
//!
//! When a project has a `.ebignore`, the EB CLI (awsebcli 3.27.x) does not use
//! `git archive`; it zips the project directory itself and skips what the file
//! excludes. It reads the file with Python's `codecs.open(.., 'utf-8')`, hands
//! the lines to `pathspec.PathSpec.from_lines('gitwildmatch', ..)` (pathspec
//! pinned to 0.12.1), collects `match_tree_entries(project_root)` into a skip
//! set and then walks the tree with `os.walk` in `_zipdir`. That is *not* git's
//! `.gitignore` dialect, and the differences matter when predicting what lands
//! in the bundle:
//!
//! * every path (file or directory, relative, `/`-separated, never with a
//!   trailing slash) is tested on its own against all patterns and the last
//!   matching pattern wins, so `!keep.txt` re-includes a file even beneath an
//!   excluded directory;
//! * a pattern ending in `/` matches only paths *beneath* that directory, never
//!   the directory's own entry (this only shows for a symlink to a directory,
//!   the one kind of directory entry the EB CLI checks against the skip set);
//! * whitespace is stripped from both ends of a line (Python's `str.strip`), a
//!   trailing `\ ` survives only on a line with no line terminator after it
//!   (the terminator is part of the line pathspec sees, so it no longer *ends*
//!   with `\ `);
//! * `[!...]` and `[^...]` both negate, and bracket expressions otherwise follow
//!   Python's regex rules (so `[z-a]` is an error, and a negated class matches
//!   `/`);
//! * `foo**bar` is `foo*bar`, and `foo**/bar` needs at least one directory
//!   level between `foo` and `bar` (python-pathspec issue #93);
//! * the zip step also skips files ending in `~`, sockets, the project's
//!   `.ebignore` itself and *everything directly inside any directory whose
//!   path contains the substring `.elasticbeanstalk`* (a bug in the EB CLI:
//!   `if '.elasticbeanstalk' in root` — so `my.elasticbeanstalk-notes/` is
//!   dropped too). We mirror that bug on purpose: the goal is to predict the
//!   bundle the EB CLI would upload, byte for byte.
//!
//! Paths are matched as Unicode text; a file name that is not valid UTF-8 is an
//! error here (Python would match its surrogate-escaped form).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use regex::Regex;

/// The name of the ignore file the EB CLI looks for in the project root.
pub const EBIGNORE_FILE: &str = ".ebignore";

/// The directory-name fragment whose presence anywhere in a directory path
/// makes the EB CLI skip that directory's files (see the module docs).
const EB_DIR_FRAGMENT: &str = ".elasticbeanstalk";

/// Everything that can go wrong reading a `.ebignore` or predicting a bundle.
///
/// Several variants describe situations in which the EB CLI itself would crash
/// or hang; we report them instead of guessing what it would upload.
#[derive(Debug, thiserror::Error)]
pub enum EbIgnoreError {
    /// pathspec rejects the pattern (`GitWildMatchPatternError`, or Python's
    /// `re.error` for a bracket expression it cannot compile), so the EB CLI
    /// fails before zipping anything.
    #[error("{}:{line}: invalid .ebignore pattern {pattern:?}: {reason}", file.display())]
    InvalidPattern {
        /// The ignore file the pattern came from.
        file: PathBuf,
        /// 1-based line number, counting lines the way Python's
        /// `str.splitlines` does.
        line: usize,
        /// The line as written, without its line terminator.
        pattern: String,
        /// Why pathspec rejects it.
        reason: String,
    },
    /// The ignore file is not valid UTF-8; the EB CLI's strict UTF-8 decoding
    /// raises `UnicodeDecodeError`.
    #[error("{}: .ebignore is not valid UTF-8 (the EB CLI would fail to read it)", file.display())]
    NotUtf8 {
        /// The ignore file.
        file: PathBuf,
    },
    /// A file-system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A path under the project is not valid UTF-8, so it cannot be matched
    /// against the patterns as text.
    #[error("{}: file name is not valid UTF-8", path.display())]
    NonUtf8Path {
        /// The offending path.
        path: PathBuf,
    },
    /// A symlink points at a directory that contains it (or at the project
    /// root's own ancestors); pathspec follows directory symlinks and raises
    /// its `RecursionError`, so the EB CLI fails.
    #[error(
        "{}: symlink to {} loops back to one of its own parent directories (the EB CLI's pathspec walk would fail)",
        path.display(),
        target.display()
    )]
    SymlinkLoop {
        /// The symlink.
        path: PathBuf,
        /// Its resolved target.
        target: PathBuf,
    },
    /// A symlink whose target cannot be resolved would make the EB CLI's
    /// `os.stat` call in `_zipdir` raise.
    #[error("{}: broken symlink (the EB CLI would crash zipping it)", path.display())]
    BrokenSymlink {
        /// The symlink.
        path: PathBuf,
    },
    /// A FIFO or device node: the EB CLI would try to read it as a regular
    /// file (hanging on a FIFO), so we refuse instead.
    #[error("{}: special file (FIFO or device) cannot be bundled", path.display())]
    SpecialFile {
        /// The special file.
        path: PathBuf,
    },
}

/// One compiled, non-null pattern line.
#[derive(Debug, Clone)]
struct Pattern {
    /// `true` for a `!` pattern, which re-includes what it matches.
    negated: bool,
    /// The translated expression, anchored at both ends.
    regex: Regex,
}

/// A parsed `.ebignore`: pathspec 0.12.1's `gitwildmatch` patterns in file
/// order.
#[derive(Debug, Clone)]
pub struct EbIgnore {
    patterns: Vec<Pattern>,
    source: PathBuf,
}

impl EbIgnore {
    /// Parses the text of a `.ebignore`; `source` only names the file in
    /// errors.
    ///
    /// Lines are split like Python's `str.splitlines` (which is what the EB
    /// CLI's `codecs` reader does, so `\r`, `\x0b`, `\x0c`, `\x1c`..`\x1e`,
    /// `\x85`, U+2028 and U+2029 all end a line) and each line is translated
    /// *with* its terminator, as pathspec sees it.
    ///
    /// # Errors
    ///
    /// [`EbIgnoreError::InvalidPattern`] for the first line pathspec would
    /// reject.
    pub fn parse(text: &str, source: &Path) -> Result<Self, EbIgnoreError> {
        let mut patterns = Vec::new();
        for (index, line) in split_lines_keep_ends(text).into_iter().enumerate() {
            match translate_line(line) {
                Ok(Some(pattern)) => patterns.push(pattern),
                Ok(None) => {}
                Err(reason) => {
                    return Err(EbIgnoreError::InvalidPattern {
                        file: source.to_path_buf(),
                        line: index + 1,
                        pattern: strip_line_end(line).to_owned(),
                        reason,
                    });
                }
            }
        }
        Ok(Self {
            patterns,
            source: source.to_path_buf(),
        })
    }

    /// Reads and parses the ignore file at `path`.
    ///
    /// Returns `Ok(None)` when `path` is not a regular file (following
    /// symlinks, like Python's `os.path.isfile`): the EB CLI then bundles with
    /// `git archive` instead.
    ///
    /// # Errors
    ///
    /// [`EbIgnoreError::Io`] if the file cannot be read,
    /// [`EbIgnoreError::NotUtf8`] if it is not UTF-8, and
    /// [`EbIgnoreError::InvalidPattern`] as for [`EbIgnore::parse`].
    pub fn read(path: &Path) -> Result<Option<Self>, EbIgnoreError> {
        // `os.path.isfile` swallows every error, so any failure means "absent".
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {}
            _ => return Ok(None),
        }
        let bytes = fs_err::read(path).map_err(|source| EbIgnoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| EbIgnoreError::NotUtf8 {
            file: path.to_path_buf(),
        })?;
        Self::parse(&text, path).map(Some)
    }

    /// The file this ignore list was read from (as given to
    /// [`EbIgnore::parse`] or [`EbIgnore::read`]).
    #[must_use]
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Whether pathspec's `match_file` reports `rel_path` as matched, i.e.
    /// the last pattern that matches it is not a `!` pattern.
    ///
    /// `rel_path` is `/`-separated and relative to the project root; like
    /// pathspec's `normalize_file`, one leading `/` or else one leading `./`
    /// is dropped first. Directory entries should be passed without a trailing
    /// slash, which is how `match_tree_entries` reports them.
    #[must_use]
    pub fn matches(&self, rel_path: &str) -> bool {
        let path = normalize_path(rel_path);
        self.patterns
            .iter()
            .rev()
            .find(|pattern| pattern.regex.is_match(path))
            .is_some_and(|pattern| !pattern.negated)
    }
}

/// pathspec's `normalize_file` on a POSIX system: no separator rewriting,
/// just the leading `/` or `./` removed once.
fn normalize_path(path: &str) -> &str {
    path.strip_prefix('/')
        .or_else(|| path.strip_prefix("./"))
        .unwrap_or(path)
}

/// Python's `str.isspace`: Unicode `White_Space` plus the four ASCII
/// information separators `\x1c`..`\x1f`, which Rust does not count.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// The characters Python's `str.splitlines` breaks on (`\r\n` is handled by
/// the caller as one break).
fn is_py_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `str.splitlines(keepends=True)`: each line keeps its terminator, a final
/// unterminated line is kept, and an empty text has no lines.
fn split_lines_keep_ends(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if !is_py_line_break(c) {
            continue;
        }
        let mut end = at + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
            chars.next();
            end += 1;
        }
        lines.push(&text[start..end]);
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// The line without its terminator, for error messages.
fn strip_line_end(line: &str) -> &str {
    line.strip_suffix("\r\n")
        .or_else(|| line.strip_suffix(is_py_line_break))
        .unwrap_or(line)
}

/// Python's `$` without MULTILINE also matches just before a final `\n`.
const PY_END: &str = r"\n?\z";

/// Translates one line into a pattern, `None` for a null operation (blank,
/// comment, or the lone `/`), or the reason pathspec rejects it.
fn translate_line(line: &str) -> Result<Option<Pattern>, String> {
    let text = trim_pattern(line);
    if text.is_empty() || text.starts_with('#') || text == "/" {
        return Ok(None);
    }
    let (negated, body) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let source = pattern_regex(body)?;
    let regex = Regex::new(&source).map_err(|err| format!("cannot compile pattern: {err}"))?;
    Ok(Some(Pattern { negated, regex }))
}

/// pathspec strips whitespace from both ends, except that a line ending in an
/// escaped space (`\ `) keeps its trailing whitespace.
fn trim_pattern(line: &str) -> &str {
    if line.ends_with("\\ ") {
        line.trim_start_matches(is_py_space)
    } else {
        line.trim_matches(is_py_space)
    }
}

/// Builds the anchored regex source for a pattern body (after `!`).
fn pattern_regex(body: &str) -> Result<String, String> {
    let mut segments: Vec<&str> = body.split('/').collect();
    collapse_double_stars(&mut segments);
    if segments == ["**", ""] {
        // `**/` matches every path that has a directory part (anything but a
        // plain file in the root); it does not fit the general scheme below.
        return Ok(format!("^.+/.*{PY_END}"));
    }
    anchor_segments(&mut segments);
    if segments.is_empty() {
        // Only a lone `!` gets here: nothing is left to negate.
        return Err("a lone `!` has no pattern to negate".to_owned());
    }
    if segments.len() > 1 && segments.last().is_some_and(|last| last.is_empty()) {
        // A trailing `/` means "everything beneath this directory".
        let last = segments.len() - 1;
        segments[last] = "**";
    }
    segments_regex(&segments)
}

/// Consecutive `**` segments mean the same as one.
fn collapse_double_stars(segments: &mut Vec<&str>) {
    segments.dedup_by(|current, previous| *current == "**" && *previous == "**");
}

/// A leading `/` anchors the pattern at the root; a single name (with or
/// without a trailing `/`) may match at any depth; anything else with a slash
/// is relative to the root.
fn anchor_segments(segments: &mut Vec<&str>) {
    let single_name = segments.len() == 1 || (segments.len() == 2 && segments[1].is_empty());
    if segments.first().is_some_and(|first| first.is_empty()) {
        segments.remove(0);
    } else if single_name && segments[0] != "**" {
        segments.insert(0, "**");
    }
}

/// Joins the normalized segments into one expression.
fn segments_regex(segments: &[&str]) -> Result<String, String> {
    let mut out = String::from("^");
    let end = segments.len() - 1;
    let mut need_slash = false;
    for (i, &segment) in segments.iter().enumerate() {
        if segment == "**" {
            out.push_str(match (i == 0, i == end) {
                (true, true) => "[^/]+(?:/.*)?",
                (true, false) => "(?:.+/)?",
                (false, true) => "/.*",
                (false, false) => "(?:/.+)?",
            });
            // Only a leading `**` ends with its own slash.
            need_slash = i != 0;
            continue;
        }
        if need_slash {
            out.push('/');
        }
        if segment == "*" {
            out.push_str("[^/]+");
        } else {
            out.push_str(&segment_glob_regex(segment)?);
        }
        if i == end {
            // A last name also matches everything beneath a directory of
            // that name.
            out.push_str("(?:/.*)?");
        }
        need_slash = true;
    }
    out.push_str(PY_END);
    Ok(out)
}

/// Translates one path segment's glob (`*`, `?`, `[...]`, `\` escapes).
fn segment_glob_regex(segment: &str) -> Result<String, String> {
    let chars: Vec<char> = segment.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut escaped = false;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if escaped {
            escaped = false;
            push_literal(&mut out, c);
            continue;
        }
        match c {
            '\\' => escaped = true,
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => match bracket_end(&chars, i) {
                Some(end) => {
                    out.push_str(&bracket_regex(&chars[i..end - 1])?);
                    i = end;
                }
                // No closing bracket: the `[` is an ordinary character.
                None => push_literal(&mut out, '['),
            },
            _ => push_literal(&mut out, c),
        }
    }
    if escaped {
        return Err(
            "it ends with an unescaped `\\` (trailing whitespace is stripped before escapes are read)"
                .to_owned(),
        );
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
}

/// Given the index just past a `[`, the index just past its closing `]`.
/// A `]` right after the opening (or after `!`/`^`) is a member, not the end;
/// backslashes do not escape anything here.
fn bracket_end(chars: &[char], open: usize) -> Option<usize> {
    let mut j = open;
    if matches!(chars.get(j), Some('!' | '^')) {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    let close = j + chars.get(j..)?.iter().position(|&c| c == ']')?;
    Some(close + 1)
}

/// One member of a bracket expression.
enum ClassItem {
    Char(char),
    Range(char, char),
}

/// Translates a bracket expression's contents (between `[` and the closing
/// `]`). pathspec hands these to Python's regex engine nearly verbatim, so
/// members follow Python's class syntax: `-` between two members is a range
/// (an inverted one is an error), a `-` first or last is literal, `[` is
/// literal, and a backslash is a literal backslash.
fn bracket_regex(contents: &[char]) -> Result<String, String> {
    let (negated, members) = match contents.split_first() {
        Some((&('!' | '^'), rest)) => (true, rest),
        _ => (false, contents),
    };
    let items = class_items(members)?;
    let mut out = String::from(if negated { "[^" } else { "[" });
    for item in items {
        match item {
            ClassItem::Char(c) => push_class_char(&mut out, c),
            ClassItem::Range(lo, hi) => {
                push_class_char(&mut out, lo);
                out.push('-');
                push_class_char(&mut out, hi);
            }
        }
    }
    out.push(']');
    Ok(out)
}

fn class_items(members: &[char]) -> Result<Vec<ClassItem>, String> {
    let mut items = Vec::new();
    let mut k = 0;
    while k < members.len() {
        let lo = members[k];
        // A `-` that is last in the class is literal, like one that is first.
        if let (Some('-'), Some(&hi)) = (members.get(k + 1), members.get(k + 2)) {
            if hi < lo {
                return Err(format!(
                    "bad character range {lo}-{hi} in a bracket expression"
                ));
            }
            items.push(ClassItem::Range(lo, hi));
            k += 3;
        } else {
            items.push(ClassItem::Char(lo));
            k += 1;
        }
    }
    Ok(items)
}

/// Hex escapes keep every character literal inside a Rust class, where `[`,
/// `&&`, `--` and `~~` would otherwise mean something.
fn push_class_char(out: &mut String, c: char) {
    // Writing to a `String` cannot fail.
    let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
}

/// What the EB CLI writes into the zip for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleEntryKind {
    /// A directory entry. The EB CLI writes one for a directory only when it
    /// adds a file (or file symlink) directly inside it — including the
    /// project root itself — so directories holding only subdirectories or
    /// directory symlinks get none, and empty directories are not archived.
    Dir,
    /// A regular file, stored with its contents.
    File,
    /// A symlink (to a file or a directory), stored as a link; the EB CLI
    /// never follows it.
    Symlink {
        /// The link's target exactly as `readlink` returns it.
        target: PathBuf,
    },
}

/// One entry of the bundle the EB CLI would build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// `/`-separated path relative to the project root, without a trailing
    /// slash; the root directory itself is `""`.
    pub rel_path: String,
    /// What kind of entry it is.
    pub kind: BundleEntryKind,
}

impl BundleEntry {
    /// The member name the EB CLI gives this entry in the zip: files keep
    /// their relative path, directories get a trailing `/` (the root is
    /// `./`), and symlinks keep the `./` prefix of the walk (`./dir/link`)
    /// because the EB CLI names their `ZipInfo` without normalizing.
    #[must_use]
    pub fn zip_name(&self) -> String {
        match self.kind {
            BundleEntryKind::File => self.rel_path.clone(),
            BundleEntryKind::Dir if self.rel_path.is_empty() => "./".to_owned(),
            BundleEntryKind::Dir => format!("{}/", self.rel_path),
            BundleEntryKind::Symlink { .. } => format!("./{}", self.rel_path),
        }
    }
}

/// The entries the EB CLI would put in the zip for the project at `root`,
/// sorted by `rel_path` bytes (the EB CLI itself writes them in directory
/// listing order).
///
/// Mirrors `get_ebignore_list` + `_zipdir`: a file is skipped when `ignore`
/// matches it, when it is the root `.ebignore`, when its name ends in `~`,
/// when it is a socket (or a symlink to one), or when its directory path
/// contains `.elasticbeanstalk`. Directories are always descended into (a
/// matched directory only drops files that themselves match), symlinks are
/// never followed, and a directory symlink is kept unless its own path
/// matches. Broken symlinks are never matched by pathspec (it cannot stat
/// them), so unless skipped by name they are an error, as they crash the EB
/// CLI.
///
/// Unlike pathspec, we do not walk the contents of directory symlinks; that
/// walk only affects the skip set for paths the EB CLI never visits, but
/// errors pathspec would hit in there (unreadable directories, loops outside
/// the project) are not reproduced. Loops back to an ancestor are.
///
/// # Errors
///
/// Wherever the EB CLI itself would fail: [`EbIgnoreError::BrokenSymlink`],
/// [`EbIgnoreError::SymlinkLoop`], [`EbIgnoreError::SpecialFile`] (a FIFO
/// would hang it), plus [`EbIgnoreError::Io`] for unreadable directories and
/// [`EbIgnoreError::NonUtf8Path`] for names we cannot match as text.
pub fn bundle_entries(root: &Path, ignore: &EbIgnore) -> Result<Vec<BundleEntry>, EbIgnoreError> {
    let real_root = fs_err::canonicalize(root).map_err(|source| EbIgnoreError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let mut walk = BundleWalk {
        root,
        real_root,
        ignore,
        entries: Vec::new(),
        dirs_with_files: BTreeSet::new(),
        zip_error: None,
    };
    walk.run()?;
    walk.finish()
}

/// State of one pass over the project tree.
struct BundleWalk<'a> {
    root: &'a Path,
    real_root: PathBuf,
    ignore: &'a EbIgnore,
    entries: Vec<BundleEntry>,
    /// Directories that get a `dir/` entry because a file in them was added.
    dirs_with_files: BTreeSet<String>,
    /// The first failure the EB CLI would only hit while zipping. pathspec's
    /// walk runs to completion first, so its errors take precedence.
    zip_error: Option<EbIgnoreError>,
}

/// How the EB CLI's walk classifies a non-directory entry.
enum Node {
    /// A real (non-symlink) directory: descended into, never archived itself.
    Dir,
    /// A symlink whose target is a directory (`os.walk` lists it in `dirs`).
    DirLink,
    /// A symlink to anything else; `target` is the followed metadata.
    FileLink { target: Metadata },
    /// A symlink whose target cannot be stat'ed.
    BrokenLink,
    /// Anything that is not a symlink or directory.
    Plain { file_type: FileType },
}

impl BundleWalk<'_> {
    fn run(&mut self) -> Result<(), EbIgnoreError> {
        let walker = walkdir::WalkDir::new(self.root)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1);
        for entry in walker {
            let entry = entry.map_err(|err| walk_error(self.root, err))?;
            let rel = relative_path(self.root, entry.path())?;
            let node = classify(&entry);
            self.visit(entry.path(), rel, node)?;
        }
        Ok(())
    }

    fn visit(&mut self, path: &Path, rel: String, node: Node) -> Result<(), EbIgnoreError> {
        let parent = parent_rel(&rel);
        // The EB CLI skips everything directly inside such a directory, but
        // pathspec has already walked it, so loop checks still apply.
        let in_eb_dir = parent.contains(EB_DIR_FRAGMENT);
        match node {
            Node::Dir => {}
            Node::DirLink => {
                self.check_link_loop(path, parent)?;
                if !in_eb_dir && !self.skipped_by_list(&rel, true) {
                    let target = read_link(path)?;
                    self.push(rel, BundleEntryKind::Symlink { target });
                }
            }
            Node::FileLink { target } => {
                if !in_eb_dir && !self.skipped_file(&rel, true) && !is_socket(target.file_type()) {
                    let target = read_link(path)?;
                    self.push_file(rel, BundleEntryKind::Symlink { target });
                }
            }
            Node::BrokenLink => {
                if !in_eb_dir && !self.skipped_file(&rel, false) {
                    self.defer(EbIgnoreError::BrokenSymlink {
                        path: path.to_path_buf(),
                    });
                }
            }
            Node::Plain { file_type } => {
                let listed = file_type.is_file();
                if !in_eb_dir && !self.skipped_file(&rel, listed) && !is_socket(file_type) {
                    if listed {
                        self.push_file(rel, BundleEntryKind::File);
                    } else {
                        self.defer(EbIgnoreError::SpecialFile {
                            path: path.to_path_buf(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The `~` rule and the skip set, in the EB CLI's order.
    fn skipped_file(&self, rel: &str, listed_by_pathspec: bool) -> bool {
        rel.ends_with('~') || self.skipped_by_list(rel, listed_by_pathspec)
    }

    /// Whether `rel` is in the EB CLI's skip set: the matched entries that
    /// pathspec's walk listed, plus the root `.ebignore`.
    fn skipped_by_list(&self, rel: &str, listed_by_pathspec: bool) -> bool {
        rel == EBIGNORE_FILE || (listed_by_pathspec && self.ignore.matches(rel))
    }

    /// pathspec follows directory symlinks and raises `RecursionError` on
    /// reaching a directory already on its walk stack; the stack holds the
    /// real paths of the link's parent directories (and, if the target lies
    /// above the root, walking it leads back into the root).
    fn check_link_loop(&self, path: &Path, parent: &str) -> Result<(), EbIgnoreError> {
        let Ok(target) = std::fs::canonicalize(path) else {
            return Ok(());
        };
        let real_parent = if parent.is_empty() {
            self.real_root.clone()
        } else {
            self.real_root.join(parent)
        };
        if real_parent.starts_with(&target) {
            return Err(EbIgnoreError::SymlinkLoop {
                path: path.to_path_buf(),
                target,
            });
        }
        Ok(())
    }

    fn push(&mut self, rel_path: String, kind: BundleEntryKind) {
        self.entries.push(BundleEntry { rel_path, kind });
    }

    /// Adds a file-list entry and notes its directory, which the EB CLI
    /// writes as a `dir/` entry the first time it adds a file from it.
    fn push_file(&mut self, rel_path: String, kind: BundleEntryKind) {
        self.dirs_with_files
            .insert(parent_rel(&rel_path).to_owned());
        self.push(rel_path, kind);
    }

    fn defer(&mut self, error: EbIgnoreError) {
        self.zip_error.get_or_insert(error);
    }

    fn finish(mut self) -> Result<Vec<BundleEntry>, EbIgnoreError> {
        if let Some(error) = self.zip_error {
            return Err(error);
        }
        for dir in std::mem::take(&mut self.dirs_with_files) {
            self.push(dir, BundleEntryKind::Dir);
        }
        self.entries
            .sort_by(|a, b| a.rel_path.as_bytes().cmp(b.rel_path.as_bytes()));
        Ok(self.entries)
    }
}

fn classify(entry: &walkdir::DirEntry) -> Node {
    let file_type = entry.file_type();
    if file_type.is_dir() {
        return Node::Dir;
    }
    if !file_type.is_symlink() {
        return Node::Plain { file_type };
    }
    match std::fs::metadata(entry.path()) {
        Ok(target) if target.is_dir() => Node::DirLink,
        Ok(target) => Node::FileLink { target },
        Err(_) => Node::BrokenLink,
    }
}

fn walk_error(root: &Path, err: walkdir::Error) -> EbIgnoreError {
    let path = err.path().unwrap_or(root).to_path_buf();
    let source = err
        .into_io_error()
        .unwrap_or_else(|| io::Error::other("directory walk failed"));
    EbIgnoreError::Io { path, source }
}

/// The `/`-separated path of `path` below `root`.
fn relative_path(root: &Path, path: &Path) -> Result<String, EbIgnoreError> {
    let non_utf8 = || EbIgnoreError::NonUtf8Path {
        path: path.to_path_buf(),
    };
    let rel = path.strip_prefix(root).map_err(|_| non_utf8())?;
    let parts: Option<Vec<&str>> = rel
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect();
    parts.map(|parts| parts.join("/")).ok_or_else(non_utf8)
}

/// The directory part of a relative path (`""` for the root).
fn parent_rel(rel: &str) -> &str {
    rel.rfind('/').map_or("", |slash| &rel[..slash])
}

fn read_link(path: &Path) -> Result<PathBuf, EbIgnoreError> {
    fs_err::read_link(path).map_err(|source| EbIgnoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn is_socket(file_type: FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    file_type.is_socket()
}

#[cfg(not(unix))]
fn is_socket(_file_type: FileType) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ignore::table::unescape;

    fn outcome(patterns: &str, path: &str) -> String {
        let text = patterns
            .split(" ;; ")
            .map(unescape)
            .collect::<Vec<_>>()
            .join("\n");
        match EbIgnore::parse(&text, Path::new(".ebignore")) {
            Err(EbIgnoreError::InvalidPattern { .. }) => "error".to_owned(),
            Err(other) => format!("unexpected error {other}"),
            Ok(ignore) if ignore.matches(&unescape(path)) => "ignored".to_owned(),
            Ok(_) => "kept".to_owned(),
        }
    }

    #[test]
    fn conformance_table_matches_pathspec() {
        let table = include_str!("../../tests/data/ebignore_cases.tsv");
        let mut rows = 0;
        let mut failures = Vec::new();
        for (number, line) in table.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                cells.len(),
                3,
                "malformed row at line {}: {line:?}",
                number + 1
            );
            rows += 1;
            let got = outcome(cells[0], cells[1]);
            if got != cells[2] {
                failures.push(format!(
                    "line {}: patterns {:?} path {:?}: expected {}, got {got}",
                    number + 1,
                    cells[0],
                    cells[1],
                    cells[2]
                ));
            }
        }
        assert!(rows >= 120, "only {rows} rows");
        assert!(
            failures.is_empty(),
            "{} of {rows} rows failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn invalid_pattern_reports_file_line_and_pattern() {
        let err =
            EbIgnore::parse("# ok\nfoo\r\nbar\\ \nbaz", Path::new("proj/.ebignore")).unwrap_err();
        match err {
            EbIgnoreError::InvalidPattern {
                file,
                line,
                pattern,
                reason,
            } => {
                assert_eq!(file, Path::new("proj/.ebignore"));
                assert_eq!(line, 3);
                assert_eq!(pattern, "bar\\ ");
                assert!(reason.contains("unescaped"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = EbIgnore::parse("a\n[z-a]", Path::new(".ebignore")).unwrap_err();
        assert!(err.to_string().contains(".ebignore:2:"), "{err}");
        assert!(err.to_string().contains("bad character range z-a"), "{err}");
    }

    #[test]
    fn escaped_trailing_space_survives_only_on_the_last_line() {
        let ignore = EbIgnore::parse("x\nfoo\\ ", Path::new(".ebignore")).unwrap();
        assert!(ignore.matches("foo "));
        assert!(!ignore.matches("foo"));
    }

    #[test]
    fn splits_lines_like_python() {
        let text = "a\r\nb\rc\x0bd\x1ce\u{2028}f\n\ng";
        assert_eq!(
            split_lines_keep_ends(text),
            [
                "a\r\n",
                "b\r",
                "c\x0b",
                "d\x1c",
                "e\u{2028}",
                "f\n",
                "\n",
                "g"
            ]
        );
        assert!(split_lines_keep_ends("").is_empty());
    }

    #[test]
    fn read_returns_none_when_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            EbIgnore::read(&dir.path().join(EBIGNORE_FILE))
                .unwrap()
                .is_none()
        );
        // A directory named .ebignore is not a file either.
        fs_err::create_dir(dir.path().join(EBIGNORE_FILE)).unwrap();
        assert!(
            EbIgnore::read(&dir.path().join(EBIGNORE_FILE))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn read_rejects_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EBIGNORE_FILE);
        fs_err::write(&path, b"foo\n\xff\n").unwrap();
        assert!(matches!(
            EbIgnore::read(&path),
            Err(EbIgnoreError::NotUtf8 { .. })
        ));
    }

    #[cfg(unix)]
    mod bundle {
        use super::*;
        use std::os::unix::fs::symlink;

        fn touch(root: &Path, rel: &str) {
            let path = root.join(rel);
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent).unwrap();
            }
            fs_err::write(path, rel).unwrap();
        }

        fn names(root: &Path, ebignore: &str) -> Vec<String> {
            fs_err::write(root.join(EBIGNORE_FILE), ebignore).unwrap();
            let ignore = EbIgnore::read(&root.join(EBIGNORE_FILE)).unwrap().unwrap();
            bundle_entries(root, &ignore)
                .unwrap()
                .iter()
                .map(BundleEntry::zip_name)
                .collect()
        }

        #[test]
        fn negation_beneath_excluded_dir_and_skips() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            for rel in [
                "app.py",
                "app.py~",
                "logs/a.log",
                "logs/keep.log",
                "logs/deep/b.log",
                "node_modules/x/index.js",
                ".elasticbeanstalk/config.yml",
                "notes.elasticbeanstalk.bak/readme.txt",
                "notes.elasticbeanstalk.bak/sub/deeper.txt",
                "sub/.ebignore",
                "only/sub/dir/file.txt",
            ] {
                touch(root, rel);
            }
            fs_err::create_dir_all(root.join("empty/dir")).unwrap();
            let got = names(root, "logs/\n!logs/keep.log\nnode_modules\n# comment\n");
            assert_eq!(
                got,
                [
                    "./",
                    "app.py",
                    "logs/",
                    "logs/keep.log",
                    "only/sub/dir/",
                    "only/sub/dir/file.txt",
                    "sub/",
                    "sub/.ebignore",
                ]
            );
        }

        #[test]
        fn symlinks_are_stored_as_links() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            touch(root, "real/file.txt");
            touch(root, "target.txt");
            symlink("real", root.join("dirlink")).unwrap();
            symlink("real", root.join("dirlink_slash")).unwrap();
            symlink("real", root.join("dirlink_named")).unwrap();
            symlink("target.txt", root.join("filelink")).unwrap();
            symlink("target.txt", root.join("ignored_link")).unwrap();
            // A broken link ending in `~` is skipped by name before the EB
            // CLI would stat it.
            symlink("missing", root.join("broken~")).unwrap();
            let ignore = "real/\ntarget.txt\nignored_link\ndirlink_slash/\ndirlink_named\n";
            fs_err::write(root.join(EBIGNORE_FILE), ignore).unwrap();
            let ignore = EbIgnore::read(&root.join(EBIGNORE_FILE)).unwrap().unwrap();
            let entries = bundle_entries(root, &ignore).unwrap();
            let link = |rel: &str, target: &str| BundleEntry {
                rel_path: rel.to_owned(),
                kind: BundleEntryKind::Symlink {
                    target: PathBuf::from(target),
                },
            };
            assert_eq!(
                entries,
                [
                    BundleEntry {
                        rel_path: String::new(),
                        kind: BundleEntryKind::Dir,
                    },
                    // `dirlink_slash/` matches only paths beneath the link,
                    // never the link's own entry, so the link is kept.
                    link("dirlink", "real"),
                    link("dirlink_slash", "real"),
                    link("filelink", "target.txt"),
                ]
            );
            assert_eq!(entries[1].zip_name(), "./dirlink");
        }

        #[test]
        fn dir_link_alone_writes_no_dir_entry() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            touch(root, "real/file.txt");
            symlink("../real", {
                fs_err::create_dir(root.join("holder")).unwrap();
                root.join("holder/link")
            })
            .unwrap();
            let got = names(root, "real\n");
            assert_eq!(got, ["./holder/link"]);
        }

        #[test]
        fn broken_symlink_is_an_error_even_when_matched() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            symlink("missing", root.join("dangling")).unwrap();
            fs_err::write(root.join(EBIGNORE_FILE), "dangling\n").unwrap();
            let ignore = EbIgnore::read(&root.join(EBIGNORE_FILE)).unwrap().unwrap();
            let err = bundle_entries(root, &ignore).unwrap_err();
            assert!(matches!(err, EbIgnoreError::BrokenSymlink { .. }), "{err}");
        }

        #[test]
        fn link_to_ancestor_is_a_loop() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            touch(root, "a/file.txt");
            symlink("..", root.join("a/up")).unwrap();
            let ignore = EbIgnore::parse("a/up\n", Path::new(".ebignore")).unwrap();
            let err = bundle_entries(root, &ignore).unwrap_err();
            assert!(matches!(err, EbIgnoreError::SymlinkLoop { .. }), "{err}");
        }

        #[test]
        fn sockets_are_skipped() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            touch(root, "a.txt");
            let _listener = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
            symlink("sock", root.join("socklink")).unwrap();
            assert_eq!(names(root, ""), ["./", "a.txt"]);
        }

        #[test]
        fn ebignore_is_skipped_only_at_the_root() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            touch(root, "nested/.ebignore");
            assert_eq!(names(root, "\n"), ["nested/", "nested/.ebignore"]);
        }
    }
}
