//! The `.dockerignore` conformance tables and cases.

use super::*;

const MATCHES: &str = include_str!("../../../tests/data/dockerignore_matches.tsv");
const READALL: &str = include_str!("../../../tests/data/dockerignore_readall.tsv");
const COMPILE: &str = include_str!("../../../tests/data/dockerignore_compile.tsv");

use super::reading::go_clean;
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
    let err = DockerIgnore::parse("ok\n\n  ab[c  \n", Path::new("ctx/.dockerignore")).unwrap_err();
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
    let ignore = "node_modules\n!node_modules/x/keep.txt\nlogs\n*.env\n.dockerignore\nDockerfile\n";
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
    std::os::unix::fs::symlink(outside.path().join("outside"), dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink("app/main.py", dir.path().join("main-link")).unwrap();
    let got = listing(dir.path(), "", &[]);
    assert_eq!(got, ["app/", "app/main.py", "link@", "main-link@"]);
    let got = listing(dir.path(), "link\n", &[]);
    assert_eq!(got, ["app/", "app/main.py", "main-link@"]);
}
