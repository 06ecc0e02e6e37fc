//! Docker's `.dockerignore` semantics, reproduced exactly (own implementation).
//!
//! What Docker does, and therefore what this module does:
//!
//! * **Reading** (`ignorefile.ReadAll` in moby/patternmatcher 0.6): the file is
//!   split on `\n` with one trailing `\r` dropped per line; a UTF-8 BOM is
//!   stripped from the first line only; a line whose *first byte* is `#` is a
//!   comment (checked before trimming, so `  # x` is the pattern `# x`);
//!   whitespace is trimmed; empty lines are skipped; a leading `!` marks an
//!   exception and is trimmed again after; the rest is `filepath.Clean`ed and one
//!   leading `/` dropped. Lines of 64 KiB or more make Docker's reader fail.
//! * **Compiling** (`patternmatcher.New`): each resulting string is trimmed and
//!   cleaned *again* (so `foo /` ends up as `foo`, and `/!foo` as the exception
//!   `!foo`); a bare `!` is rejected, as is anything Go's `filepath.Match`
//!   considers malformed. Each pattern is then an exact, prefix (`dir/**`),
//!   suffix (`**foo`, which is a plain string suffix: it matches `xfoo`) or
//!   regular-expression matcher, built the way patternmatcher builds it. The
//!   regular expression is written in Go's RE2 dialect and run by Go, so it has
//!   quirks the glob syntax does not suggest (`[*]` matches `]`, and `|`, `{`,
//!   `}` are not quoted although patternmatcher means to, so `a?|b` is an
//!   alternation); we translate that Go expression to `regex` syntax rather
//!   than re-deriving it from the glob, so the quirks carry over. Docker only
//!   notices an expression Go cannot compile (`[z-a]`, `\x`) when it first
//!   evaluates it; we reject it up front.
//! * **Matching**: patterns are anchored at the context root; a pattern matches
//!   a path when it matches the path or one of its parent directories; the last
//!   matching pattern decides. Precisely, we evaluate like Docker's context
//!   walkers (the classic tar archiver and BuildKit's fsutil both call
//!   `MatchesUsingParentResults` down the directory chain), which differs from
//!   a naive "last match wins" in contrived orderings such as
//!   `d`, `!d/f`, `d` (there `d/f` is *sent*).
//! * **Walking** ([`ContextWalk`]): we reproduce the upload of the classic
//!   builder, i.e. `DOCKER_BUILDKIT=0 docker build`, whose context is written
//!   by `TarWithOptions` (moby's `pkg/archive`, now `moby/go-archive`), because
//!   that is the builder stevedore talks to. Entries come in `filepath.WalkDir`
//!   order: depth first, each directory's entries sorted byte-wise by name (so
//!   `a/`, `a/b`, `a.txt`). An excluded file is skipped. An excluded directory
//!   is never sent itself; its contents are skipped (pruned) unless some
//!   exception's text plus `/` starts with the directory's path plus `/`, a
//!   literal prefix test in which glob characters are just characters. So
//!   `!node_modules/x/keep` keeps `node_modules` open, `!**/keep` does not, and
//!   a re-included file arrives without its excluded parent directories.
//!   (BuildKit differs on both counts: it never prunes when an exception has a
//!   wildcard, and it sends the parents of re-included files.)
//! * **Build files** (`TrimBuildFilesFromExcludes` in docker/cli): the
//!   `.dockerignore` itself and the Dockerfile are always sent, because the
//!   daemon must read them; the CLI appends `!<path>` exceptions, which also
//!   stop the pruning of the directories above them. See
//!   [`DockerIgnore::with_always_included`] for the case where the CLI's check
//!   misses an excluded Dockerfile (we match it).
//!
//! Paths are `/`-separated and relative to the context root (Unix semantics:
//! `\` is an escape character in patterns, as on Linux and macOS). A
//! `<Dockerfile>.dockerignore` next to the Dockerfile replaces the context's
//! `.dockerignore`, as BuildKit has it ([`ignore_file_for`]); stevedore applies
//! that rule with both builders, so they get the same context.

use std::fs::FileType;
use std::io;
use std::path::{Path, PathBuf};

use regex::Regex;

/// The name of Docker's ignore file in the root of the build context.
pub const DOCKERIGNORE_FILE: &str = ".dockerignore";

/// The ignore file that governs a build of `dockerfile` (relative to `context_root`,
/// `/`-separated): `<Dockerfile>.dockerignore` beside the Dockerfile when it exists (BuildKit's
/// rule, e.g. `docker/web.Dockerfile.dockerignore`), else the context's `.dockerignore`.
pub fn ignore_file_for(context_root: &Path, dockerfile: &str) -> PathBuf {
    let dockerfile_path = context_root.join(dockerfile);
    if let Some(name) = dockerfile_path.file_name() {
        let mut beside = name.to_os_string();
        beside.push(".dockerignore");
        let beside = dockerfile_path.with_file_name(beside);
        if beside.is_file() {
            return beside;
        }
    }
    context_root.join(DOCKERIGNORE_FILE)
}

/// Go's `bufio.Scanner` gives up on a line of this many bytes or more
/// (`MaxScanTokenSize`, the line and its `\n` must fit in 64 KiB).
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Everything that can go wrong reading a `.dockerignore` or listing a context.
#[derive(Debug, thiserror::Error)]
pub enum DockerIgnoreError {
    /// The ignore file exists but could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The ignore file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A line Docker would refuse; `docker build` fails on it.
    #[error("{}:{line}: invalid .dockerignore pattern `{pattern}`: {reason}", .path.display())]
    Pattern {
        /// The ignore file.
        path: PathBuf,
        /// 1-based line number in the ignore file.
        line: usize,
        /// The line as written, trimmed of surrounding whitespace.
        pattern: String,
        /// Why Docker rejects it.
        reason: String,
    },
    /// The build context could not be walked.
    #[error("cannot walk build context at {}: {source}", .path.display())]
    Walk {
        /// The entry that failed (or the context root).
        path: PathBuf,
        /// What the walk reported.
        #[source]
        source: walkdir::Error,
    },
    /// A context entry's name is not UTF-8, so patterns cannot be applied to it.
    #[error("build context entry {} has a name that is not valid UTF-8", .path.display())]
    NonUtf8Path {
        /// The offending entry.
        path: PathBuf,
    },
}

/// One compiled `.dockerignore` pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    exception: bool,
    line: usize,
    matcher: Matcher,
}

impl Pattern {
    /// The pattern as Docker holds it: trimmed, cleaned, without its leading `!`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True for an exception (`!pattern`), which re-includes what it matches.
    pub fn is_exception(&self) -> bool {
        self.exception
    }

    /// The 1-based line of the ignore file this pattern came from, or 0 for an
    /// exception added by [`DockerIgnore::with_always_included`].
    pub fn line(&self) -> usize {
        self.line
    }

    /// Whether the pattern matches `path` itself (parents are not considered).
    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(text) => path == text,
            Matcher::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Matcher::Suffix(suffix) => suffix_matches(suffix, path),
            Matcher::Regex(re) => re.is_match(path),
        }
    }

    /// The classic archiver's pruning test: whether this pattern's text plus
    /// `/` starts with `dir` plus `/`, comparing characters literally.
    fn names_path_below(&self, dir: &str) -> bool {
        let text = self.text.as_str();
        text.strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// How many `/`-separated parts the pattern has (patternmatcher's `dirs`).
    fn depth(&self) -> usize {
        self.text.split('/').count()
    }
}

/// How one pattern is matched; mirrors patternmatcher's four match types.
#[derive(Debug, Clone)]
enum Matcher {
    Exact(String),
    Prefix(String),
    /// Bytes, because Docker slices the pattern's first two bytes off blindly.
    Suffix(Vec<u8>),
    Regex(Regex),
}

/// patternmatcher's suffix rule: `**foo` matches any path ending in `foo`, and
/// `**/foo` also matches `foo` itself.
fn suffix_matches(suffix: &[u8], path: &str) -> bool {
    let path = path.as_bytes();
    path.ends_with(suffix) || (suffix.first() == Some(&b'/') && path == &suffix[1..])
}

/// Which pattern decided a path's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// True when the path is left out of the build context.
    pub excluded: bool,
    /// Index of the deciding pattern in [`DockerIgnore::patterns`].
    pub pattern: usize,
    /// The deciding pattern's 1-based line (0 for an always-included path).
    pub line: usize,
}

/// A parsed `.dockerignore`: the patterns in file order.
#[derive(Debug, Clone)]
pub struct DockerIgnore {
    source: PathBuf,
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// No patterns: everything is sent.
    pub fn empty() -> Self {
        Self {
            source: PathBuf::from(DOCKERIGNORE_FILE),
            patterns: Vec::new(),
        }
    }

    /// Reads the ignore file at `path`; a missing file means no patterns, as in
    /// Docker. Bytes that are not UTF-8 are only an error outside comments.
    pub fn read(path: &Path) -> Result<Self, DockerIgnoreError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse_bytes(&bytes, path),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Self {
                source: path.to_path_buf(),
                patterns: Vec::new(),
            }),
            Err(source) => Err(DockerIgnoreError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses the text of an ignore file; `source` names it in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Self, DockerIgnoreError> {
        Self::parse_bytes(text.as_bytes(), source)
    }

    fn parse_bytes(bytes: &[u8], source: &Path) -> Result<Self, DockerIgnoreError> {
        let lines = split_lines(bytes);
        // Docker reads the whole file before compiling anything, so a reader
        // failure anywhere wins over a bad pattern on an earlier line.
        let texts = decode_lines(&lines, source)?;
        let mut patterns = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            let Some(text) = text else { continue };
            let line = index + 1;
            let fail = |reason: String| DockerIgnoreError::Pattern {
                path: source.to_path_buf(),
                line,
                pattern: text.trim().to_owned(),
                reason,
            };
            let Some(read) = read_all_line(text) else {
                continue;
            };
            if let Some(pattern) = compile_line(&read, line).map_err(fail)? {
                patterns.push(pattern);
            }
        }
        Ok(Self {
            source: source.to_path_buf(),
            patterns,
        })
    }

    /// Makes `paths` (context-relative: the `.dockerignore` and the
    /// Dockerfile) always sent, as docker/cli's `TrimBuildFilesFromExcludes`
    /// does: a path gets a trailing `!path` exception (line 0) exactly when the
    /// CLI would add one, that is when patternmatcher's deprecated `Matches`
    /// calls it excluded. That check looks at one parent directory only (the
    /// one as deep as the pattern), so the CLI can miss that `**/build`
    /// excludes `a/b/build/Dockerfile` and then uploads a context without its
    /// Dockerfile; we leave it out too (the classic context matches the CLI's
    /// byte for byte) and the classic build explains the fix. Paths are matched
    /// literally (the CLI would read glob characters in a Dockerfile's name as
    /// a pattern and might then miss the file). The daemon drops these files
    /// from the context the Dockerfile sees.
    pub fn with_always_included(mut self, paths: &[&str]) -> Self {
        for path in paths {
            let path = context_relative(path);
            if path == "." {
                continue;
            }
            if self.cli_matches(&path) {
                self.patterns.push(Pattern {
                    matcher: Matcher::Exact(path.clone()),
                    text: path,
                    exception: true,
                    line: 0,
                });
            }
        }
        self
    }

    /// patternmatcher's deprecated `Matches`, which docker/cli still uses to
    /// decide whether the build files need an exception: each pattern is
    /// tried on the path and on its ancestor with as many parts as the
    /// pattern has; the last matching pattern decides.
    fn cli_matches(&self, path: &str) -> bool {
        let parent = go_dir(path);
        let parent_parts: Vec<&str> = parent.split('/').collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            if pattern.exception != excluded {
                continue;
            }
            let mut hit = pattern.matches(path);
            if !hit && parent != "." && pattern.depth() <= parent_parts.len() {
                hit = pattern.matches(&parent_parts[..pattern.depth()].join("/"));
            }
            if hit {
                excluded = !pattern.exception;
            }
        }
        excluded
    }

    /// The file the patterns came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The patterns in file order, with their line numbers.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether Docker leaves `rel_path` out of the build context. `rel_path` is
    /// relative to the context root, `/`-separated, without a leading `./` (it
    /// is matched as given, like Docker does with the clean paths its walkers
    /// produce); the root itself (`""` or `.`) is never excluded.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        self.decision(rel_path).is_some_and(|d| d.excluded)
    }

    /// The pattern that decided `rel_path`'s fate, or `None` when no pattern
    /// matches it or a parent (the path is sent).
    pub fn decision(&self, rel_path: &str) -> Option<Decision> {
        if rel_path.is_empty() || rel_path == "." {
            return None;
        }
        let mut parent: Option<Level> = None;
        for ancestor in ancestors(rel_path) {
            parent = Some(self.evaluate(&ancestor, parent.as_ref()));
        }
        self.evaluate(rel_path, parent.as_ref()).decided
    }

    /// True when the classic archiver skips the directory `rel_dir` with all
    /// its contents: it is excluded and no exception's text names a path at or
    /// below it (see the module docs). An exception with a wildcard, such as
    /// `!**/keep.txt`, does not keep a directory open.
    pub fn can_skip_dir(&self, rel_dir: &str) -> bool {
        self.is_excluded(rel_dir) && self.may_prune(rel_dir)
    }

    /// The archiver's pruning rule for a directory already known to be excluded.
    fn may_prune(&self, rel_dir: &str) -> bool {
        !self
            .patterns
            .iter()
            .any(|p| p.exception && p.names_path_below(rel_dir))
    }

    /// One step of Docker's chained evaluation: which patterns match `path`
    /// given which matched its parent. A pattern that cannot change the
    /// outcome at its position is not evaluated, and so is not remembered for
    /// the children either; that is Docker's behaviour and why order matters.
    fn evaluate(&self, path: &str, parent: Option<&Level>) -> Level {
        let mut level = Level {
            matched: vec![false; self.patterns.len()],
            decided: None,
        };
        let mut excluded = false;
        for (index, pattern) in self.patterns.iter().enumerate() {
            let mut hit = parent.is_some_and(|p| p.matched[index]);
            if !hit {
                if pattern.exception != excluded {
                    continue;
                }
                hit = pattern.matches(path)
                    || (parent.is_none() && self.parent_matches(pattern, path));
            }
            level.matched[index] = hit;
            if hit {
                excluded = !pattern.exception;
                level.decided = Some(Decision {
                    excluded,
                    pattern: index,
                    line: pattern.line,
                });
            }
        }
        level
    }

    /// Without a parent's results Docker tests each parent directory directly.
    fn parent_matches(&self, pattern: &Pattern, path: &str) -> bool {
        ancestors(path).iter().any(|dir| pattern.matches(dir))
    }
}

/// The result of evaluating one path: per-pattern matches (inherited by its
/// children) and the deciding pattern.
struct Level {
    matched: Vec<bool>,
    decided: Option<Decision>,
}

impl Level {
    fn excluded(&self) -> bool {
        self.decided.is_some_and(|d| d.excluded)
    }
}

/// The parent directories Docker derives for `path` (Go's `filepath.Dir`, split
/// on `/`), outermost first; empty for a top-level path.
fn ancestors(path: &str) -> Vec<String> {
    let dir = go_dir(path);
    if dir == "." {
        return Vec::new();
    }
    let parts: Vec<&str> = dir.split('/').collect();
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}

// ---------------------------------------------------------------------------
// Reading: ignorefile.ReadAll and patternmatcher.New, line by line.
// ---------------------------------------------------------------------------

/// Splits like Go's `bufio.ScanLines`: on `\n`, dropping one `\r` before it, and
/// keeping a last line that has no terminator.
fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

/// Applies the reader's limits and the comment rule; returns, per line, the
/// text still to be parsed (`None` for comments). The BOM goes from line 1.
fn decode_lines(lines: &[&[u8]], source: &Path) -> Result<Vec<Option<String>>, DockerIgnoreError> {
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
fn read_all_line(line: &str) -> Option<String> {
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
fn compile_line(read: &str, line: usize) -> Result<Option<Pattern>, String> {
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
fn context_relative(path: &str) -> String {
    let cleaned = go_clean(path);
    match cleaned.strip_prefix('/') {
        Some(tail) if !tail.is_empty() => tail.to_owned(),
        _ => cleaned,
    }
}

/// Go's `path/filepath.Clean` for `/`-separated paths.
fn go_clean(path: &str) -> String {
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
fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(slash) => go_clean(&path[..=slash]),
        None => ".".to_owned(),
    }
}

/// Rejects what Go's `filepath.Match` calls `ErrBadPattern`: a trailing `\`
/// and malformed `[...]` classes (empty, unterminated, a bare `-` or `]` as a
/// range end). Reversed ranges are legal there.
fn check_glob_syntax(pattern: &str) -> Result<(), &'static str> {
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

// ---------------------------------------------------------------------------
// Compiling: patternmatcher's glob-to-regexp conversion, then Go RE2 -> regex.
// ---------------------------------------------------------------------------

/// patternmatcher's match types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

fn build_matcher(text: &str) -> Result<Matcher, String> {
    let (kind, go_source) = go_regex_source(text);
    Ok(match kind {
        Kind::Exact => Matcher::Exact(text.to_owned()),
        // Docker strips the two bytes of the trailing or leading `**`.
        Kind::Prefix => Matcher::Prefix(text[..text.len() - 2].to_owned()),
        Kind::Suffix => Matcher::Suffix(text.as_bytes()[2..].to_vec()),
        Kind::Regex => {
            let rust =
                go_regex_to_rust(&go_source).map_err(|why| regex_reason(&go_source, &why))?;
            Matcher::Regex(
                Regex::new(&rust).map_err(|err| regex_reason(&go_source, &err.to_string()))?,
            )
        }
    })
}

fn regex_reason(go_source: &str, why: &str) -> String {
    format!(
        "Docker turns it into the regular expression `{go_source}`, which does not compile ({why})"
    )
}

/// The match type and Go regular expression patternmatcher derives from a
/// cleaned pattern. `*` and `?` never cross `/`; `**/` is zero or more
/// directories; a trailing `**` is everything; `.+()$` are quoted; `\`
/// quotes the next character; everything else passes through to Go.
///
/// patternmatcher means to quote `|`, `{` and `}` too, but its lookup table
/// is a byte-sized bitmap that drops every character from `@` (64) up, so
/// they reach Go unquoted: in a regexp-type pattern `a?|b` is an alternation
/// and `x?{2}` a counted repetition. We reproduce that.
fn go_regex_source(pattern: &str) -> (Kind, String) {
    // Go's text/scanner drops a BOM at the very start of its input.
    let chars: Vec<char> = pattern
        .strip_prefix('\u{feff}')
        .unwrap_or(pattern)
        .chars()
        .collect();
    let mut kind = Kind::Exact;
    let mut out = String::from("^");
    let mut pos = 0;
    while pos < chars.len() {
        let first = pos == 0;
        let c = chars[pos];
        pos += 1;
        match c {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                kind = double_star(&mut out, kind, pos >= chars.len(), first);
            }
            '*' => {
                out.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                out.push_str("[^/]");
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\\' => match chars.get(pos) {
                Some(next) => {
                    out.push('\\');
                    out.push(*next);
                    pos += 1;
                    kind = Kind::Regex;
                }
                None => out.push('\\'),
            },
            '[' | ']' => {
                out.push(c);
                kind = Kind::Regex;
            }
            _ => out.push(c),
        }
    }
    if kind == Kind::Regex {
        out.push('$');
    }
    (kind, out)
}

/// Appends a `**` (its `/` already eaten) and returns the new match type.
fn double_star(out: &mut String, kind: Kind, at_end: bool, first: bool) -> Kind {
    let kind = match (at_end, kind) {
        (true, Kind::Exact) => Kind::Prefix,
        (true, _) => {
            out.push_str(".*");
            Kind::Regex
        }
        (false, _) => {
            out.push_str("(.*/)?");
            Kind::Regex
        }
    };
    if first { Kind::Suffix } else { kind }
}

/// Translates a Go RE2 expression (as patternmatcher builds them) to `regex`
/// syntax, keeping Go's meaning: in Go a `[` inside a class is literal, `\d`,
/// `\s`, `\w` and `\b` are ASCII-only, `\Q..\E` quotes, and so on.
fn go_regex_to_rust(source: &str) -> Result<String, String> {
    let mut t = Translator {
        chars: source.chars().collect(),
        pos: 0,
        out: String::new(),
        depth: 0,
        last: Last::Nothing,
    };
    t.expression()?;
    Ok(t.out)
}

/// What precedes a repetition operator, to reject what Go rejects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    Atom,
    Repeat,
    LazyRepeat,
}

struct Translator {
    chars: Vec<char>,
    pos: usize,
    out: String,
    depth: usize,
    last: Last,
}

/// Go's POSIX classes; `regex` knows the same names with the same meanings.
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

impl Translator {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn expression(&mut self) -> Result<(), String> {
        while let Some(c) = self.bump() {
            match c {
                '*' | '+' | '?' => self.repeat(&c.to_string())?,
                '{' => self.brace()?,
                '(' => self.open_group()?,
                ')' => self.close_group()?,
                '|' => {
                    self.out.push('|');
                    self.last = Last::Nothing;
                }
                '.' | '^' | '$' => self.atom(&c.to_string()),
                '\\' => {
                    let escaped = self.escape()?;
                    self.atom(&escaped);
                }
                '[' => {
                    let class = self.class()?;
                    self.atom(&class);
                }
                _ => self.atom(&regex::escape(&c.to_string())),
            }
        }
        if self.depth > 0 {
            return Err("missing closing )".into());
        }
        Ok(())
    }

    fn atom(&mut self, text: &str) {
        self.out.push_str(text);
        self.last = Last::Atom;
    }

    /// A repetition operator; Go reads a `?` right after one as "non-greedy"
    /// and rejects any other stacking.
    fn repeat(&mut self, op: &str) -> Result<(), String> {
        self.last = match (self.last, op) {
            (Last::Nothing, _) => {
                return Err(format!("missing argument to repetition operator `{op}`"));
            }
            (Last::Atom, _) => Last::Repeat,
            (Last::Repeat, "?") => Last::LazyRepeat,
            _ => return Err(format!("invalid nested repetition operator `{op}`")),
        };
        self.out.push_str(op);
        Ok(())
    }

    /// A `{` (consumed): Go's counted repetition when `{n}`, `{n,}` or
    /// `{n,m}` follows, a literal `{` otherwise.
    fn brace(&mut self) -> Result<(), String> {
        let Some((min, max)) = self.counted_repeat() else {
            self.atom(r"\{");
            return Ok(());
        };
        let too_big = min > 1000 || max.is_some_and(|max| max > 1000 || max < min);
        if too_big {
            return Err("invalid repeat count".into());
        }
        let op = match max {
            Some(max) => format!("{{{min},{max}}}"),
            None => format!("{{{min},}}"),
        };
        self.repeat(&op)
    }

    /// Parses `n}`, `n,}` or `n,m}` after a `{`, advancing only on success;
    /// `None` as the upper bound means unbounded.
    fn counted_repeat(&mut self) -> Option<(u64, Option<u64>)> {
        let start = self.pos;
        let parsed = self.repeat_bounds();
        if parsed.is_none() {
            self.pos = start;
        }
        parsed
    }

    fn repeat_bounds(&mut self) -> Option<(u64, Option<u64>)> {
        let min = self.repeat_count()?;
        let max = match self.bump()? {
            '}' => return Some((min, Some(min))),
            ',' if self.peek() == Some('}') => None,
            ',' => Some(self.repeat_count()?),
            _ => return None,
        };
        (self.bump()? == '}').then_some((min, max))
    }

    /// Decimal digits without a leading zero (Go's rule), saturating.
    fn repeat_count(&mut self) -> Option<u64> {
        let digits: String = self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        self.pos += digits.len();
        Some(digits.bytes().fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        }))
    }

    fn open_group(&mut self) -> Result<(), String> {
        if self.peek() == Some('?') {
            return Err("group flags are not supported".into());
        }
        self.out.push('(');
        self.depth += 1;
        self.last = Last::Nothing;
        Ok(())
    }

    fn close_group(&mut self) -> Result<(), String> {
        if self.depth == 0 {
            return Err("unexpected )".into());
        }
        self.depth -= 1;
        self.atom(")");
        Ok(())
    }

    /// An escape outside a class (the `\` is consumed).
    fn escape(&mut self) -> Result<String, String> {
        let c = self
            .bump()
            .ok_or("trailing backslash at end of expression")?;
        Ok(match c {
            'A' => r"\A".into(),
            'z' => r"\z".into(),
            'b' => r"(?-u:\b)".into(),
            'B' => r"(?-u:\B)".into(),
            'Q' => self.quoted(),
            'p' | 'P' => self.unicode_class(c)?,
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => perl_class(c).into(),
            _ => regex::escape(&self.escaped_char(c)?.to_string()),
        })
    }

    /// `\Q...\E` (or to the end): everything in between is literal.
    fn quoted(&mut self) -> String {
        let mut literal = String::new();
        while let Some(c) = self.bump() {
            if c == '\\' && self.peek() == Some('E') {
                self.pos += 1;
                break;
            }
            literal.push(c);
        }
        regex::escape(&literal)
    }

    /// Go's single-character escapes (`\` and `c` consumed): octal, hex, C
    /// escapes and quoted punctuation. Anything else is an error in Go.
    fn escaped_char(&mut self, c: char) -> Result<char, String> {
        let invalid = || format!("invalid escape sequence `\\{c}`");
        match c {
            '1'..='7' if !self.peek().is_some_and(is_octal) => Err(invalid()),
            '0'..='7' => Ok(self.octal(c)),
            'x' => self.hex().ok_or_else(invalid),
            'a' => Ok('\x07'),
            'f' => Ok('\x0C'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\x0B'),
            _ if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            _ => Err(invalid()),
        }
    }

    /// Up to two more octal digits after `first`.
    fn octal(&mut self, first: char) -> char {
        let mut value = first.to_digit(8).unwrap_or(0);
        for _ in 0..2 {
            match self.peek().and_then(|d| d.to_digit(8)) {
                Some(digit) => {
                    value = value * 8 + digit;
                    self.pos += 1;
                }
                None => break,
            }
        }
        // At most 0o777, always a valid scalar value.
        char::from_u32(value).unwrap_or('\0')
    }

    /// `\xHH` or `\x{H...}` after the `x`.
    fn hex(&mut self) -> Option<char> {
        if self.peek() == Some('{') {
            self.pos += 1;
            let mut value: u32 = 0;
            let mut digits = 0;
            loop {
                let c = self.bump()?;
                if c == '}' && digits > 0 {
                    return char::from_u32(value);
                }
                value = value.checked_mul(16)? + c.to_digit(16)?;
                if value > 0x10FFFF {
                    return None;
                }
                digits += 1;
            }
        }
        let high = self.bump()?.to_digit(16);
        let low = self.bump()?.to_digit(16);
        char::from_u32(high? * 16 + low?)
    }

    /// `\pX`, `\p{Name}`, `\PX`, `\p{^Name}` (the `\` and `p`/`P` consumed).
    fn unicode_class(&mut self, p: char) -> Result<String, String> {
        let c = self.bump().ok_or("missing Unicode class name")?;
        let name = if c == '{' {
            let mut name = String::new();
            loop {
                match self.bump() {
                    Some('}') => break name,
                    Some(c) => name.push(c),
                    None => return Err("missing closing } in Unicode class".into()),
                }
            }
        } else {
            c.to_string()
        };
        let (negated, name) = match name.strip_prefix('^') {
            Some(rest) => (p == 'p', rest.to_owned()),
            None => (p == 'P', name),
        };
        // Go's one-letter names are the general categories C, L, M, N, P, S, Z.
        let known = match name.len() {
            1 => "CLMNPSZ".contains(name.as_str()),
            _ => !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        };
        if !known {
            return Err(format!("invalid Unicode class `{name}`"));
        }
        Ok(format!("\\{}{{{name}}}", if negated { 'P' } else { 'p' }))
    }

    /// A class (the `[` consumed), Go rules, emitted as a `regex` class.
    fn class(&mut self) -> Result<String, String> {
        let mut out = String::from("[");
        if self.peek() == Some('^') {
            self.pos += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err("missing closing ]".into()),
                Some(']') if !first => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            first = false;
            let item = self.class_item()?;
            out.push_str(&item);
        }
        out.push(']');
        Ok(out)
    }

    fn class_item(&mut self) -> Result<String, String> {
        if self.peek() == Some('[')
            && self.peek_at(1) == Some(':')
            && let Some(named) = self.posix_class()?
        {
            return Ok(named);
        }
        if self.peek() == Some('\\') {
            match self.peek_at(1) {
                Some(c @ ('p' | 'P')) => {
                    self.pos += 2;
                    return self.unicode_class(c);
                }
                Some(c @ ('d' | 'D' | 's' | 'S' | 'w' | 'W')) => {
                    self.pos += 2;
                    return Ok(perl_class(c).into());
                }
                _ => {}
            }
        }
        let lo = self.class_char()?;
        let mut hi = lo;
        if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
            self.pos += 1;
            hi = self.class_char()?;
            if hi < lo {
                return Err(format!("invalid character class range `{lo}-{hi}`"));
            }
        }
        let escape = |c: char| regex::escape(&c.to_string());
        Ok(match hi == lo {
            true => escape(lo),
            false => format!("{}-{}", escape(lo), escape(hi)),
        })
    }

    /// `[:name:]` or `[:^name:]`; Go looks for the closing `:]` anywhere ahead
    /// and treats the `[` as literal when there is none.
    fn posix_class(&mut self) -> Result<Option<String>, String> {
        let rest: String = self.chars[self.pos + 2..].iter().collect();
        let Some(end) = rest.find(":]") else {
            return Ok(None);
        };
        let name = &rest[..end];
        if !POSIX_CLASSES.contains(&name.strip_prefix('^').unwrap_or(name)) {
            return Err(format!("invalid character class range `[:{name}:]`"));
        }
        self.pos += 2 + name.chars().count() + 2;
        Ok(Some(format!("[:{name}:]")))
    }

    fn class_char(&mut self) -> Result<char, String> {
        match self.bump() {
            None => Err("missing closing ]".into()),
            Some('\\') => {
                let c = self
                    .bump()
                    .ok_or("trailing backslash at end of expression")?;
                self.escaped_char(c)
            }
            Some(c) => Ok(c),
        }
    }
}

fn is_octal(c: char) -> bool {
    c.is_digit(8)
}

/// Go's ASCII-only Perl classes, spelled out (regex's are Unicode-aware).
fn perl_class(c: char) -> &'static str {
    match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        's' => r"[\t\n\x0C\r\x20]",
        'S' => r"[^\t\n\x0C\r\x20]",
        'w' => "[0-9A-Za-z_]",
        _ => "[^0-9A-Za-z_]",
    }
}

// ---------------------------------------------------------------------------
// Walking the context.
// ---------------------------------------------------------------------------

/// The kind of a build-context entry (symlinks are never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link, sent as a link.
    Symlink,
    /// A FIFO, socket or device node; the caller decides what to do with it.
    Other,
}

/// One entry Docker would send in the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated.
    pub rel_path: String,
    /// The entry's location on disk.
    pub path: PathBuf,
    /// What the entry is.
    pub kind: EntryKind,
}

/// Lists what Docker sends from the context at `root`, lazily, in the order
/// the Docker CLI writes it (see the module docs): every file, directory and
/// symlink that the ignore rules do not exclude, plus the `always` paths.
/// Symlinks are listed, never followed.
///
/// The walk stops after the first error it yields. An unreadable entry that
/// is excluded anyway is passed over (the CLI skips it too).
pub struct ContextWalk {
    root: PathBuf,
    ignore: DockerIgnore,
    walk: walkdir::IntoIter,
    /// Match results of the directories above the next entry, outermost
    /// first; the chained evaluation of their children starts from them.
    parents: Vec<Level>,
    failed: bool,
}

impl ContextWalk {
    /// Starts a walk of `root` under `ignore`, with `always` (context-relative
    /// paths: the `.dockerignore` and the Dockerfile) sent even when excluded,
    /// see [`DockerIgnore::with_always_included`]. Nothing is read until the
    /// first call to `next`.
    pub fn new(root: &Path, ignore: &DockerIgnore, always: &[&str]) -> Self {
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .min_depth(1)
            // Go's os.ReadDir sorts names byte-wise, as this does on Unix.
            .sort_by_file_name()
            .into_iter();
        Self {
            root: root.to_path_buf(),
            ignore: ignore.clone().with_always_included(always),
            walk,
            parents: Vec::new(),
            failed: false,
        }
    }

    /// Decides one entry: `Ok(None)` when it is not sent. An excluded
    /// directory is still descended into unless it may be pruned, because an
    /// exception may re-include something beneath it.
    fn visit(
        &mut self,
        entry: &walkdir::DirEntry,
    ) -> Result<Option<ContextEntry>, DockerIgnoreError> {
        self.parents.truncate(entry.depth().saturating_sub(1));
        let rel_path = relative(&self.root, entry.path())?;
        let level = self.ignore.evaluate(&rel_path, self.parents.last());
        let excluded = level.excluded();
        let kind = kind_of(entry.file_type());
        if kind == EntryKind::Dir {
            if excluded && self.ignore.may_prune(&rel_path) {
                self.walk.skip_current_dir();
                return Ok(None);
            }
            self.parents.push(level);
        }
        Ok((!excluded).then(|| ContextEntry {
            rel_path,
            path: entry.path().to_path_buf(),
            kind,
        }))
    }

    fn fail(&mut self, err: DockerIgnoreError) -> Option<Result<ContextEntry, DockerIgnoreError>> {
        self.failed = true;
        Some(Err(err))
    }
}

impl Iterator for ContextWalk {
    type Item = Result<ContextEntry, DockerIgnoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let entry = match self.walk.next()? {
                Ok(entry) => entry,
                Err(err) => match skip_excluded_error(&self.root, &self.ignore, err) {
                    Ok(()) => continue,
                    Err(err) => return self.fail(err),
                },
            };
            match self.visit(&entry) {
                Ok(Some(listed)) => return Some(Ok(listed)),
                Ok(None) => continue,
                Err(err) => return self.fail(err),
            }
        }
    }
}

impl std::iter::FusedIterator for ContextWalk {}

impl std::fmt::Debug for ContextWalk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextWalk")
            .field("root", &self.root)
            .field("patterns", &self.ignore.patterns.len())
            .field("depth", &self.parents.len())
            .field("failed", &self.failed)
            .finish()
    }
}

/// [`ContextWalk`], collected: what Docker sends from the context at `root`,
/// in the order the Docker CLI writes it.
pub fn context_entries(
    root: &Path,
    ignore: &DockerIgnore,
    always: &[&str],
) -> Result<Vec<ContextEntry>, DockerIgnoreError> {
    ContextWalk::new(root, ignore, always).collect()
}

/// An unreadable entry that is excluded anyway does not matter (the CLI's
/// archiver logs and skips every error; its pre-flight check fails on an
/// unreadable excluded directory, which we see no reason to copy); anything
/// else stops the listing.
fn skip_excluded_error(
    root: &Path,
    ignore: &DockerIgnore,
    err: walkdir::Error,
) -> Result<(), DockerIgnoreError> {
    let excluded = err
        .path()
        .filter(|path| *path != root)
        .and_then(|path| relative(root, path).ok())
        .is_some_and(|rel| ignore.is_excluded(&rel));
    if excluded {
        return Ok(());
    }
    Err(DockerIgnoreError::Walk {
        path: err.path().unwrap_or(root).to_path_buf(),
        source: err,
    })
}

fn relative(root: &Path, path: &Path) -> Result<String, DockerIgnoreError> {
    let non_utf8 = || DockerIgnoreError::NonUtf8Path {
        path: path.to_path_buf(),
    };
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Ok(parts.ok_or_else(non_utf8)?.join("/"))
}

fn kind_of(file_type: FileType) -> EntryKind {
    if file_type.is_symlink() {
        EntryKind::Symlink
    } else if file_type.is_dir() {
        EntryKind::Dir
    } else if file_type.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATCHES: &str = include_str!("../../tests/data/dockerignore_matches.tsv");
    const READALL: &str = include_str!("../../tests/data/dockerignore_readall.tsv");
    const COMPILE: &str = include_str!("../../tests/data/dockerignore_compile.tsv");

    use crate::ignore::table::{rows, unescape};

    fn parse(text: &str) -> Result<DockerIgnore, DockerIgnoreError> {
        DockerIgnore::parse(text, Path::new(".dockerignore"))
    }

    fn outcome(patterns: &str, path: &str) -> String {
        let text = unescape(&patterns.split(" ;; ").collect::<Vec<_>>().join("\n"));
        match parse(&text) {
            Err(_) => "error".into(),
            Ok(ignore) => {
                let excluded = ignore.is_excluded(path);
                assert_eq!(excluded, ignore.decision(path).is_some_and(|d| d.excluded));
                if excluded { "excluded" } else { "included" }.into()
            }
        }
    }

    #[test]
    fn conformance_table_matches() {
        let mut failures = Vec::new();
        let mut count = 0;
        for (line, cells) in rows(MATCHES) {
            let [patterns, path, expected] = cells[..] else {
                failures.push(format!(
                    "line {line}: expected 3 cells, got {}",
                    cells.len()
                ));
                continue;
            };
            count += 1;
            let got = outcome(patterns, &unescape(path));
            if got != expected {
                failures.push(format!(
                    "line {line}: {patterns:?} vs {path:?}: want {expected}, got {got}"
                ));
            }
        }
        assert!(count >= 100, "only {count} rows");
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    fn rendered(ignore: &DockerIgnore) -> String {
        let shown: Vec<String> = ignore
            .patterns()
            .iter()
            .map(|p| {
                format!(
                    "{}{}@{}",
                    if p.is_exception() { "!" } else { "" },
                    p.text(),
                    p.line()
                )
            })
            .collect();
        if shown.is_empty() {
            "<none>".into()
        } else {
            shown.join(" ;; ")
        }
    }

    #[test]
    fn conformance_table_readall() {
        let mut failures = Vec::new();
        for (line, cells) in rows(READALL) {
            let [input, expected] = cells[..] else {
                failures.push(format!(
                    "line {line}: expected 2 cells, got {}",
                    cells.len()
                ));
                continue;
            };
            let got = match parse(&unescape(input)) {
                Ok(ignore) => unescape(&rendered(&ignore)),
                Err(DockerIgnoreError::Pattern { line, .. }) => format!("error@{line}"),
                Err(other) => format!("unexpected {other}"),
            };
            if got != unescape(expected) {
                failures.push(format!(
                    "line {line}: {input:?}: want {expected:?}, got {got:?}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn conformance_table_compile() {
        let mut failures = Vec::new();
        for (line, cells) in rows(COMPILE) {
            let [pattern, kind, regex] = cells[..] else {
                failures.push(format!(
                    "line {line}: expected 3 cells, got {}",
                    cells.len()
                ));
                continue;
            };
            let (got_kind, got_regex) = go_regex_source(&go_clean(pattern));
            let got_kind = format!("{got_kind:?}").to_lowercase();
            let want_regex = if regex == "-" { "" } else { regex };
            let got_regex = if got_kind == "regex" {
                got_regex
            } else {
                String::new()
            };
            if got_kind != kind || got_regex != want_regex {
                failures.push(format!(
                    "line {line}: {pattern}: want {kind} {regex}, got {got_kind} {got_regex}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn go_clean_and_dir() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("./foo", "foo"),
            ("foo//", "foo"),
            ("/foo/../..", "/"),
            ("../a/../..", "../.."),
            ("a/./b/../c", "a/c"),
            ("//x", "/x"),
        ] {
            assert_eq!(go_clean(input), want, "Clean({input:?})");
        }
        assert_eq!(go_dir("a/b/c"), "a/b");
        assert_eq!(go_dir("file/"), "file");
        assert_eq!(go_dir("/"), "/");
        assert_eq!(go_dir("x"), ".");
    }

    #[test]
    fn translated_regexes_keep_go_meaning() {
        let cases = [
            (r"^\d[[:alpha:]]\x41\101\Qa.b$", "7zAAa.b$", true),
            (r"^\w$", "é", false),
            (r"^[\d-]$", "-", true),
            (r"^a\b", "a", true),
            (r"^a\b", "a\u{e9}", true),
            (r"^[[^/]*]$", "^^]", true),
            (r"^\pL$", "é", true),
        ];
        for (go, input, want) in cases {
            let rust = go_regex_to_rust(go).unwrap();
            assert_eq!(
                Regex::new(&rust).unwrap().is_match(input),
                want,
                "{go} -> {rust} on {input}"
            );
        }
        for bad in [
            r"^[z-a]$",
            r"^\y$",
            r"^\1$",
            r"^[]$",
            r"^[[:foo:]]$",
            r"^\pX$",
            r"^a**$",
        ] {
            assert!(go_regex_to_rust(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn decision_names_the_deciding_line() {
        let ignore = parse("# secrets\n*.env\n!example.env\n\nsecrets/\n").unwrap();
        let lines: Vec<usize> = ignore.patterns().iter().map(Pattern::line).collect();
        assert_eq!(lines, [2, 3, 5]);
        let d = ignore.decision("prod.env").unwrap();
        assert_eq!((d.excluded, d.line, d.pattern), (true, 2, 0));
        let d = ignore.decision("example.env").unwrap();
        assert_eq!((d.excluded, d.line), (false, 3));
        let d = ignore.decision("secrets/a/b.txt").unwrap();
        assert_eq!((d.excluded, d.line), (true, 5));
        assert_eq!(ignore.decision("src/main.rs"), None);
        assert_eq!(ignore.decision("."), None);
    }

    #[test]
    fn errors_carry_file_line_pattern_and_reason() {
        let err =
            DockerIgnore::parse("ok\n\n  ab[c  \n", Path::new("ctx/.dockerignore")).unwrap_err();
        let DockerIgnoreError::Pattern {
            path,
            line,
            pattern,
            reason,
        } = &err
        else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(
            (path.as_path(), *line, pattern.as_str()),
            (Path::new("ctx/.dockerignore"), 3, "ab[c")
        );
        assert!(reason.contains("character class"), "{reason}");
        assert!(
            err.to_string().starts_with("ctx/.dockerignore:3: "),
            "{err}"
        );
        let err = parse("a\n!\n").unwrap_err();
        assert!(
            matches!(err, DockerIgnoreError::Pattern { line: 2, .. }),
            "{err:?}"
        );
        let err = parse("[z-a]\n").unwrap_err();
        assert!(err.to_string().contains("regular expression"), "{err}");
    }

    #[test]
    fn lines_of_64_kib_fail_like_docker_reader() {
        let longest = "x".repeat(MAX_LINE_BYTES - 1);
        assert_eq!(parse(&format!("{longest}\n")).unwrap().patterns().len(), 1);
        for too_long in [format!("{longest}\r\n"), format!("a\n#{longest}")] {
            let err = parse(&too_long).unwrap_err();
            assert!(matches!(err, DockerIgnoreError::Pattern { .. }), "{err:?}");
        }
    }

    #[test]
    fn read_treats_a_missing_file_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let ignore = DockerIgnore::read(&dir.path().join(DOCKERIGNORE_FILE)).unwrap();
        assert!(ignore.patterns().is_empty());
        fs_err::write(dir.path().join(DOCKERIGNORE_FILE), b"# caf\xe9\nx\n").unwrap();
        let ignore = DockerIgnore::read(&dir.path().join(DOCKERIGNORE_FILE)).unwrap();
        assert_eq!(ignore.patterns().len(), 1);
        fs_err::write(dir.path().join(DOCKERIGNORE_FILE), b"x\ncaf\xe9\n").unwrap();
        let err = DockerIgnore::read(&dir.path().join(DOCKERIGNORE_FILE)).unwrap_err();
        assert!(
            matches!(err, DockerIgnoreError::Pattern { line: 2, .. }),
            "{err:?}"
        );
    }

    // This used BuildKit's rule; stevedore now reproduces the classic
    // archiver, which prunes by literal prefix even under wildcard exceptions.
    #[test]
    fn can_skip_dir_follows_the_classic_archiver() {
        let literal = parse("node_modules\ndocs\n!docs/keep.md\n").unwrap();
        assert!(literal.can_skip_dir("node_modules"));
        assert!(
            !literal.can_skip_dir("docs"),
            "an exception lies beneath docs"
        );
        assert!(!literal.can_skip_dir("src"), "not excluded");
        let trailing_glob = parse("docs\n!docs/**\n").unwrap();
        assert!(!trailing_glob.can_skip_dir("docs"));
        let wildcard = parse("node_modules\n!**/keep.txt\n").unwrap();
        assert!(
            wildcard.can_skip_dir("node_modules"),
            "a wildcard exception does not name a path below node_modules"
        );
        let glob_text = parse("a\n!a/*/keep\n").unwrap();
        assert!(!glob_text.can_skip_dir("a"), "`a/*/keep/` starts with `a/`");
        assert!(glob_text.can_skip_dir("a/b"), "`a/*/keep/` lacks `a/b/`");
        let sibling = parse("doc\n!docs/x\n").unwrap();
        assert!(
            sibling.can_skip_dir("doc"),
            "`docs/x/` does not start with `doc/`"
        );
        let none = parse("*\n").unwrap();
        assert!(none.can_skip_dir("anything"));
        let always = parse("build\n")
            .unwrap()
            .with_always_included(&["build/Dockerfile"]);
        assert!(!always.can_skip_dir("build"));
        assert!(!always.is_excluded("build/Dockerfile"));
        assert!(always.is_excluded("build/other"));
    }

    #[test]
    fn always_included_follows_the_cli_check() {
        let exceptions = |ignore: &DockerIgnore| -> Vec<String> {
            ignore
                .patterns()
                .iter()
                .filter(|p| p.line() == 0)
                .map(|p| p.text().to_owned())
                .collect()
        };
        // The CLI's one-parent check misses `**/build` here and sends no
        // Dockerfile; we match it.
        let missed = parse("**/build\n")
            .unwrap()
            .with_always_included(&["a/b/build/Dockerfile"]);
        assert!(exceptions(&missed).is_empty());
        // Included, but only through `!**/b`, which cannot keep `a` open: the
        // CLI's check calls it excluded, and its exception keeps `a` open.
        let reopened = parse("a\n!**/b\n")
            .unwrap()
            .with_always_included(&["a/x/b/Dockerfile"]);
        assert!(!parse("a\n!**/b\n").unwrap().is_excluded("a/x/b/Dockerfile"));
        assert_eq!(exceptions(&reopened), ["a/x/b/Dockerfile"]);
        assert!(!reopened.can_skip_dir("a"));
        // Sent anyway: nothing to add.
        let sent = parse("a\n!a/x\n")
            .unwrap()
            .with_always_included(&["a/x/Dockerfile"]);
        assert!(exceptions(&sent).is_empty());
    }

    #[test]
    fn always_included_only_adds_what_is_excluded() {
        let ignore = parse("*\n!src\n")
            .unwrap()
            .with_always_included(&[".dockerignore", "./src/Dockerfile"]);
        let added: Vec<(&str, bool, usize)> = ignore
            .patterns()
            .iter()
            .map(|p| (p.text(), p.is_exception(), p.line()))
            .collect();
        assert_eq!(
            added,
            [
                ("*", false, 1),
                ("src", true, 2),
                (".dockerignore", true, 0)
            ]
        );
        let d = ignore.decision(".dockerignore").unwrap();
        assert_eq!((d.excluded, d.line), (false, 0));
    }

    /// Builds a context tree: paths ending in `/` are directories.
    fn tree(entries: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for entry in entries {
            let path = dir.path().join(entry.trim_end_matches('/'));
            if entry.ends_with('/') {
                fs_err::create_dir_all(&path).unwrap();
            } else {
                fs_err::create_dir_all(path.parent().unwrap()).unwrap();
                fs_err::write(&path, entry.as_bytes()).unwrap();
            }
        }
        dir
    }

    fn listing(root: &Path, ignore: &str, always: &[&str]) -> Vec<String> {
        context_entries(root, &parse(ignore).unwrap(), always)
            .unwrap()
            .into_iter()
            .map(|e| match e.kind {
                EntryKind::Dir => format!("{}/", e.rel_path),
                EntryKind::Symlink => format!("{}@", e.rel_path),
                _ => e.rel_path,
            })
            .collect()
    }

    // Under BuildKit's rules `node_modules/` and `node_modules/x/` were listed
    // too; the classic archiver never sends an excluded directory, and it
    // lists depth first (`a/b.txt` before `a.txt`), as the CLI writes them.
    #[test]
    fn context_entries_prunes_reincludes_and_orders_like_the_cli() {
        let dir = tree(&[
            ".dockerignore",
            "Dockerfile",
            "a.txt",
            "a/b.txt",
            "node_modules/x/y.js",
            "node_modules/x/keep.txt",
            "logs/",
            "secret.env",
        ]);
        let ignore =
            "node_modules\n!node_modules/x/keep.txt\nlogs\n*.env\n.dockerignore\nDockerfile\n";
        let got = listing(dir.path(), ignore, &[]);
        assert_eq!(got, ["a/", "a/b.txt", "a.txt", "node_modules/x/keep.txt"]);
        let got = listing(dir.path(), ignore, &[".dockerignore", "Dockerfile"]);
        assert_eq!(got[..3], [".dockerignore", "Dockerfile", "a/"]);
    }

    #[test]
    fn context_entries_prunes_by_literal_prefix_only() {
        let dir = tree(&["vendor/a/keep.txt", "vendor/a/drop.txt", "src/keep.txt"]);
        // `!**/keep.txt` re-includes, but cannot stop `vendor` being pruned.
        let got = listing(dir.path(), "vendor\n!**/keep.txt\n", &[]);
        assert_eq!(got, ["src/", "src/keep.txt"]);
        let got = listing(dir.path(), "vendor\n!vendor/a/keep.txt\n", &[]);
        assert_eq!(got, ["src/", "src/keep.txt", "vendor/a/keep.txt"]);
    }

    #[test]
    fn context_walk_is_lazy_and_stops_after_an_error() {
        let dir = tree(&["a.txt"]);
        let mut walk = ContextWalk::new(&dir.path().join("missing"), &DockerIgnore::empty(), &[]);
        assert!(matches!(
            walk.next(),
            Some(Err(DockerIgnoreError::Walk { .. }))
        ));
        assert!(walk.next().is_none());
        let mut walk = ContextWalk::new(dir.path(), &DockerIgnore::empty(), &[]);
        assert_eq!(walk.next().unwrap().unwrap().rel_path, "a.txt");
        assert!(walk.next().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn context_entries_never_follows_symlinks() {
        let outside = tree(&["outside/secret.txt"]);
        let dir = tree(&["app/main.py"]);
        std::os::unix::fs::symlink(outside.path().join("outside"), dir.path().join("link"))
            .unwrap();
        std::os::unix::fs::symlink("app/main.py", dir.path().join("main-link")).unwrap();
        let got = listing(dir.path(), "", &[]);
        assert_eq!(got, ["app/", "app/main.py", "link@", "main-link@"]);
        let got = listing(dir.path(), "link\n", &[]);
        assert_eq!(got, ["app/", "app/main.py", "main-link@"]);
    }
}
