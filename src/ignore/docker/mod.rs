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
//! `\` is an escape character in patterns, as on Linux and macOS). The classic
//! builder reads only the context's `.dockerignore` (BuildKit would prefer a
//! `<Dockerfile>.dockerignore` next to the Dockerfile).

use std::fs::FileType;
use std::io;
use std::path::{Path, PathBuf};

use regex::Regex;

/// The name of Docker's ignore file in the root of the build context.
pub const DOCKERIGNORE_FILE: &str = ".dockerignore";

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

mod goregex;
mod reading;
#[cfg(test)]
mod tests;
mod walk;

pub use walk::{ContextEntry, ContextWalk, EntryKind, context_entries};

use goregex::go_regex_to_rust;
use reading::{compile_line, context_relative, decode_lines, go_dir, read_all_line, split_lines};

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
