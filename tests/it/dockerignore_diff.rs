//! Differential test: the build context stevedore sends against the one the real Docker CLI
//! uploads with the classic builder (`DOCKER_BUILDKIT=0`), for the same tree and `.dockerignore`.
//!
//! The CLI talks to a recording fake daemon on loopback, so no Engine is needed, only the
//! `docker` binary (or the one `STEVEDORE_TEST_DOCKER_CLI` names), version 23 or newer: older
//! CLIs used moby's `fileutils` matcher, whose different rules stevedore does not reproduce. Cases are rows of `tests/data/dockerignore_diff.tsv`; every case uses the
//! same rich tree (modes, empty and nested directories, symlinks of every sort, hard links, a
//! FIFO and a socket, names with spaces, Unicode and glob characters, names over 100 bytes).

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stevedore::engine::context::write_context_tar;
use stevedore::ignore::docker::{DOCKERIGNORE_FILE, DockerIgnore, context_entries};

use crate::support::recording_daemon::RecordingDaemon;
use crate::support::tar_listing::{self, Member};

const CASES: &str = include_str!("../data/dockerignore_diff.tsv");

/// Names the Docker CLI to compare against, when not `docker` on PATH.
const CLI_VARIABLE: &str = "STEVEDORE_TEST_DOCKER_CLI";

/// The first CLI release built on moby/patternmatcher (v0.5.0, then v0.6 with the same rules).
const MIN_CLI_MAJOR: u32 = 23;

/// How long one `docker build` against the fake daemon may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// Cases run on this many threads, each with its own fake daemon.
const THREADS: usize = 6;

/// What a case expects of the two uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Identical members, in the same order.
    Same,
    /// Both refuse the `.dockerignore`.
    Fail,
    /// The CLI leaves the (excluded) Dockerfile out; otherwise identical.
    CliOmitsDockerfile,
}

/// One row of the table.
#[derive(Debug)]
struct Case {
    line: usize,
    name: String,
    dockerfile: Option<String>,
    expect: Expect,
    /// The `.dockerignore`'s bytes, or `None` for no file.
    ignore: Option<Vec<u8>>,
}

impl Case {
    fn dockerfile(&self) -> &str {
        self.dockerfile.as_deref().unwrap_or("Dockerfile")
    }
}

#[test]
fn build_context_matches_the_docker_cli_upload() {
    let Some(cli) = docker_cli() else {
        return;
    };
    let cases = parse_cases(CASES);
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let chunk = cases.len().div_ceil(THREADS);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = cases
            .chunks(chunk)
            .map(|batch| {
                let cli = cli.as_os_str();
                scope.spawn(move || run_batch(cli, batch))
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a case thread panicked"))
            .collect()
    });
    eprintln!(
        "dockerignore differential: {} of {} cases agree with the Docker CLI",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from the Docker CLI:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Runs cases one after another against one fake daemon; returns the failures.
fn run_batch(cli: &OsStr, cases: &[Case]) -> Vec<String> {
    let daemon = RecordingDaemon::start();
    cases
        .iter()
        .filter_map(|case| {
            run_case(cli, &daemon, case)
                .err()
                .map(|why| format!("line {} `{}`: {why}", case.line, case.name))
        })
        .collect()
}

fn run_case(cli: &OsStr, daemon: &RecordingDaemon, case: &Case) -> Result<(), String> {
    let dir = tempfile::Builder::new()
        .prefix("stevedore-diff-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let context = dir.path().join("context");
    build_tree(&context);
    if let Some(ignore) = &case.ignore {
        write_file(&context.join(DOCKERIGNORE_FILE), ignore, 0o644);
    }
    let cli = cli_upload(
        cli,
        daemon,
        case,
        &context,
        &dir.path().join("docker-config"),
    )?;
    let ours = stevedore_upload(case, &context);
    compare(case, cli, ours)
}

/// The CLI's upload, or `Err(stderr)` when the build command failed.
fn cli_upload(
    cli: &OsStr,
    daemon: &RecordingDaemon,
    case: &Case,
    context: &Path,
    config: &Path,
) -> Result<Result<Vec<u8>, String>, String> {
    fs_err::create_dir_all(config).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(cli);
    cmd.arg("build");
    if let Some(dockerfile) = &case.dockerfile {
        cmd.args(["-f", dockerfile]);
    }
    cmd.arg(".")
        .current_dir(context)
        .env("DOCKER_BUILDKIT", "0")
        .env("DOCKER_HOST", daemon.host())
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_CONTENT_TRUST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    let (ok, output) = run_with_timeout(cmd, CLI_TIMEOUT)?;
    let mut builds = daemon.take_builds();
    match (ok, builds.len()) {
        (true, 1) => Ok(Ok(builds.pop().ok_or("no build")?)),
        (false, 0) => Ok(Err(output)),
        (ok, n) => Err(format!(
            "docker build {} with {n} uploads; requests {:?}\n{output}",
            if ok { "succeeded" } else { "failed" },
            daemon.requests()
        )),
    }
}

/// Runs `cmd` to completion or kills it after `timeout`; returns success and its output.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<(bool, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().ok_or("no stdout")?));
    let stderr = drain(Box::new(child.stderr.take().ok_or("no stderr")?));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("docker build ran over {}s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = format!(
        "--- stdout\n{}--- stderr\n{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    Ok((status.success(), output))
}

/// stevedore's upload, or `Err(reason)` when it refuses the context.
fn stevedore_upload(case: &Case, context: &Path) -> Result<Vec<u8>, String> {
    let ignore = DockerIgnore::read(&context.join(DOCKERIGNORE_FILE)).map_err(|e| e.to_string())?;
    let always = [DOCKERIGNORE_FILE, case.dockerfile()];
    let write = || -> Result<Vec<u8>, String> {
        let entries = context_entries(context, &ignore, &always).map_err(|e| e.to_string())?;
        let mut tar = Vec::new();
        write_context_tar(context, entries, &mut tar).map_err(|e| e.to_string())?;
        Ok(tar)
    };
    let tar = write()?;
    if write()? != tar {
        return Err("two writes of the same tree differ".into());
    }
    Ok(tar)
}

fn compare(
    case: &Case,
    cli: Result<Vec<u8>, String>,
    ours: Result<Vec<u8>, String>,
) -> Result<(), String> {
    match (case.expect, cli, ours) {
        (Expect::Fail, Err(_), Err(_)) => Ok(()),
        (Expect::Fail, cli, ours) => Err(format!(
            "both should refuse the .dockerignore; CLI: {}, stevedore: {}",
            outcome(&cli),
            outcome(&ours)
        )),
        (_, Err(output), _) => Err(format!("docker build failed:\n{output}")),
        (_, _, Err(why)) => Err(format!("stevedore failed: {why}")),
        (Expect::Same, Ok(cli), Ok(ours)) => same_upload(
            tar_listing::members_in_order(&cli),
            tar_listing::members_in_order(&ours),
        ),
        (Expect::CliOmitsDockerfile, Ok(cli), Ok(ours)) => {
            let mut ours = tar_listing::members_in_order(&ours);
            let before = ours.len();
            ours.retain(|m| m.path != case.dockerfile());
            if ours.len() + 1 != before {
                return Err("stevedore did not send the Dockerfile".into());
            }
            same_upload(tar_listing::members_in_order(&cli), ours)
        }
    }
}

fn outcome(result: &Result<Vec<u8>, String>) -> &'static str {
    if result.is_ok() {
        "accepted"
    } else {
        "refused"
    }
}

/// Same members (path, type, link, mode, content) and the same order.
fn same_upload(cli: Vec<Member>, ours: Vec<Member>) -> Result<(), String> {
    let cli_set: BTreeSet<&Member> = cli.iter().collect();
    let our_set: BTreeSet<&Member> = ours.iter().collect();
    if cli_set != our_set {
        let only = |a: &BTreeSet<&Member>, b: &BTreeSet<&Member>| -> String {
            a.difference(b).map(|m| format!("\n    {m}")).collect()
        };
        return Err(format!(
            "members differ\n  only the CLI sent:{}\n  only stevedore sent:{}",
            only(&cli_set, &our_set),
            only(&our_set, &cli_set)
        ));
    }
    let paths =
        |members: &[Member]| -> Vec<String> { members.iter().map(|m| m.path.clone()).collect() };
    if paths(&cli) != paths(&ours) {
        return Err(format!(
            "same members in another order\n  CLI:       {:?}\n  stevedore: {:?}",
            paths(&cli),
            paths(&ours)
        ));
    }
    Ok(())
}

/// The Docker CLI to compare against, or `None` (after skipping loudly, or failing under CI)
/// when it is missing or older than [`MIN_CLI_MAJOR`].
fn docker_cli() -> Option<OsString> {
    let program = std::env::var_os(CLI_VARIABLE).unwrap_or_else(|| "docker".into());
    let what = format!("a Docker CLI {MIN_CLI_MAJOR}.0 or newer");
    let version = match Command::new(&program).arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            crate::support::unavailable(&what, &format!("`{program:?} --version` failed: {why}"));
            return None;
        }
        Err(err) => {
            crate::support::unavailable(&what, &format!("{program:?}: {err}"));
            return None;
        }
    };
    match cli_major(&version) {
        Some(major) if major >= MIN_CLI_MAJOR => Some(program),
        _ => {
            let why = format!(
                "{program:?} is {version:?}, whose .dockerignore rules predate moby/patternmatcher; \
                 point {CLI_VARIABLE} at a newer CLI"
            );
            crate::support::unavailable(&what, &why);
            None
        }
    }
}

/// The major version in `Docker version 28.2.2, build e6534b4`.
fn cli_major(version: &str) -> Option<u32> {
    let number = version.strip_prefix("Docker version ")?;
    number.split('.').next()?.parse().ok()
}

// ---------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------

fn parse_cases(table: &str) -> Vec<Case> {
    table
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(index, line)| parse_case(index + 1, line))
        .collect()
}

fn parse_case(line: usize, row: &str) -> Case {
    let cells: Vec<&str> = row.split('\t').collect();
    let [name, dockerfile, expect, ignore] = cells[..] else {
        panic!(
            "line {line}: expected 4 TAB-separated cells, got {}",
            cells.len()
        );
    };
    let expect = match expect {
        "same" => Expect::Same,
        "fail" => Expect::Fail,
        "cli-omits-dockerfile" => Expect::CliOmitsDockerfile,
        other => panic!("line {line}: unknown expectation {other:?}"),
    };
    Case {
        line,
        name: name.to_owned(),
        dockerfile: (dockerfile != "-").then(|| dockerfile.to_owned()),
        expect,
        ignore: ignore_bytes(ignore),
    }
}

/// The `.dockerignore` cell as file contents (see the table's header).
fn ignore_bytes(cell: &str) -> Option<Vec<u8>> {
    match cell {
        "<none>" => return None,
        "<empty>" => return Some(Vec::new()),
        _ => {}
    }
    let (cell, final_newline) = match cell.strip_suffix("{NOEOL}") {
        Some(rest) => (rest, false),
        None => (cell, true),
    };
    let mut text = cell
        .split(" ;; ")
        .map(unescape)
        .collect::<Vec<_>>()
        .join("\n");
    if final_newline {
        text.push('\n');
    }
    Some(text.into_bytes())
}

/// Expands `{SP}`, `{TAB}`, `{CR}` and `{U+XXXX}`; other braces stay as written.
fn unescape(cell: &str) -> String {
    let mut out = String::new();
    let mut rest = cell;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let token = tail.find('}').map(|close| &tail[..=close]);
        let expanded = token.and_then(|token| match token {
            "{SP}" => Some(' '),
            "{TAB}" => Some('\t'),
            "{CR}" => Some('\r'),
            _ => token
                .strip_prefix("{U+")
                .and_then(|hex| u32::from_str_radix(hex.trim_end_matches('}'), 16).ok())
                .and_then(char::from_u32),
        });
        match (token, expanded) {
            (Some(token), Some(c)) => {
                out.push(c);
                rest = &tail[token.len()..];
            }
            _ => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------
// The tree every case starts from.
// ---------------------------------------------------------------------------

/// One node of the tree.
enum Node {
    /// A file with a mode and contents.
    File(u32, &'static str),
    /// A directory (created with its parents) and its mode, set last.
    Dir(u32),
    /// A symlink with its target, written as is.
    Link(&'static str),
    /// A hard link to another file of the tree.
    HardLink(&'static str),
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
}

const TREE: &[(&str, Node)] = &[
    ("Dockerfile", Node::File(0o644, "FROM scratch\nCOPY . /\n")),
    ("README.md", Node::File(0o644, "# readme\n")),
    ("run.sh", Node::File(0o755, "#!/bin/sh\necho hi\n")),
    ("setuid-tool", Node::File(0o4755, "#!/bin/sh\n")),
    ("private.key", Node::File(0o600, "key\n")),
    ("empty.txt", Node::File(0o644, "")),
    ("a.txt", Node::File(0o644, "a\n")),
    ("a.md", Node::File(0o644, "a md\n")),
    ("a/inner.txt", Node::File(0o644, "inner\n")),
    ("b.txt", Node::File(0o664, "b\n")),
    ("c.txt", Node::File(0o644, "c\n")),
    ("ab.txt", Node::File(0o644, "ab\n")),
    ("abc.txt", Node::File(0o444, "abc\n")),
    ("x.TXT", Node::File(0o644, "upper\n")),
    ("1.txt", Node::File(0o644, "digit\n")),
    ("a.t+t", Node::File(0o644, "plus\n")),
    ("(x)", Node::File(0o644, "parens\n")),
    ("a$", Node::File(0o644, "dollar\n")),
    ("a.{1}", Node::File(0o644, "braces\n")),
    ("*", Node::File(0o644, "a file named star\n")),
    (".env", Node::File(0o600, "SECRET=1\n")),
    (".env.example", Node::File(0o644, "SECRET=\n")),
    (".hidden/config", Node::File(0o644, "hidden\n")),
    ("file with spaces.txt", Node::File(0o644, "spaces\n")),
    ("-dash.txt", Node::File(0o644, "dash\n")),
    ("naïve-ünïcödé.txt", Node::File(0o644, "unicode\n")),
    ("日本語/ファイル.txt", Node::File(0o644, "japanese\n")),
    ("[brackets].txt", Node::File(0o644, "brackets\n")),
    ("star*name.txt", Node::File(0o644, "star\n")),
    ("q?mark.txt", Node::File(0o644, "question\n")),
    ("back\\slash.txt", Node::File(0o644, "backslash\n")),
    ("src/main.py", Node::File(0o644, "print('main')\n")),
    ("src/util.py", Node::File(0o755, "print('util')\n")),
    (
        "src/__pycache__/main.cpython-311.pyc",
        Node::File(0o644, "\0pyc"),
    ),
    ("src/pkg/__init__.py", Node::File(0o644, "")),
    ("src/pkg/mod.py", Node::File(0o644, "x = 1\n")),
    ("src/pkg/data/x.json", Node::File(0o644, "{}\n")),
    ("src/pkg/data/keep.json", Node::File(0o644, "[]\n")),
    ("docs/index.md", Node::File(0o644, "index\n")),
    ("docs/keep.md", Node::File(0o644, "keep\n")),
    ("docs/api/ref.md", Node::File(0o644, "ref\n")),
    ("docs/api/keep.md", Node::File(0o644, "api keep\n")),
    ("docs/up", Node::Link("../README.md")),
    (
        "node_modules/lib/index.js",
        Node::File(0o644, "module.exports = 1\n"),
    ),
    ("node_modules/lib/keep.txt", Node::File(0o644, "keep\n")),
    ("node_modules/.bin/tool", Node::File(0o755, "#!/bin/sh\n")),
    ("build/out.o", Node::File(0o644, "obj\n")),
    ("build/Dockerfile", Node::File(0o644, "FROM scratch\n")),
    ("build/sub/deep/x.bin", Node::File(0o600, "\u{1}\u{2}\u{3}")),
    ("logs/old", Node::Dir(0o700)),
    ("logs", Node::Dir(0o755)),
    ("empty", Node::Dir(0o700)),
    ("sticky/f", Node::File(0o644, "sticky\n")),
    ("sticky", Node::Dir(0o1777)),
    ("tmp/cache/a.tmp", Node::File(0o644, "tmp\n")),
    ("tmp/b.tmp", Node::File(0o644, "tmp\n")),
    ("secrets/.env", Node::File(0o600, "TOKEN=1\n")),
    ("secrets/prod.env", Node::File(0o600, "TOKEN=2\n")),
    ("deep/a/b/c/d/e.txt", Node::File(0o644, "e\n")),
    ("deep/a/x/b/f.txt", Node::File(0o644, "f\n")),
    ("deep/a/x/b/Dockerfile", Node::File(0o644, "FROM scratch\n")),
    (
        "docker/app/prod/Dockerfile",
        Node::File(0o644, "FROM scratch\n"),
    ),
    (
        "docker/app/dev/Dockerfile",
        Node::File(0o644, "FROM scratch\n"),
    ),
    ("docker/app/nginx.conf", Node::File(0o644, "server {}\n")),
    ("link-to-file", Node::Link("a.txt")),
    ("link-to-dir", Node::Link("src")),
    ("link-odd", Node::Link("./src//pkg/../main.py")),
    ("dangling", Node::Link("does/not/exist")),
    ("abs-link", Node::Link("/etc/hostname")),
    ("hard/one.txt", Node::File(0o644, "shared\n")),
    ("hard/two.txt", Node::HardLink("hard/one.txt")),
    ("hard/three.txt", Node::HardLink("hard/one.txt")),
    ("pipe.fifo", Node::Fifo),
    ("sock", Node::Socket),
];

/// Builds the tree at `root`, plus names longer than a tar header holds.
fn build_tree(root: &Path) {
    fs_err::create_dir_all(root).expect("create the context");
    let long_dir = format!("long/{}", "n".repeat(90));
    let long_file = format!("{long_dir}/{}.txt", "m".repeat(40));
    write_file(&root.join(&long_file), b"long\n", 0o644);
    let long_target = format!("./{long_file}");
    std::os::unix::fs::symlink(long_target, root.join("long-link")).expect("symlink");
    let mut dir_modes: Vec<(PathBuf, u32)> = Vec::new();
    for (rel, node) in TREE {
        let path = root.join(rel);
        match node {
            Node::File(mode, text) => write_file(&path, text.as_bytes(), *mode),
            Node::Dir(mode) => {
                fs_err::create_dir_all(&path).expect("mkdir");
                dir_modes.push((path, *mode));
            }
            Node::Link(target) => std::os::unix::fs::symlink(target, &path).expect("symlink"),
            Node::HardLink(first) => fs_err::hard_link(root.join(first), &path).expect("link"),
            Node::Fifo => make_fifo(&path),
            Node::Socket => drop(std::os::unix::net::UnixListener::bind(&path).expect("socket")),
        }
    }
    // Modes last, so a restrictive directory mode cannot stop its children being made.
    for (path, mode) in dir_modes {
        set_mode(&path, mode);
    }
}

fn write_file(path: &Path, contents: &[u8], mode: u32) {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).expect("mkdir");
    }
    fs_err::write(path, contents).expect("write");
    set_mode(path, mode);
}

fn set_mode(path: &Path, mode: u32) {
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn make_fifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}
