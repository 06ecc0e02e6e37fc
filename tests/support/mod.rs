//! The test rig: a fluent builder that runs the real binary in a temporary project, and fixtures
//! for the real Docker Engine and a real v2 registry on loopback.
//!
//! ```ignore
//! Project::demo().env("STEVEDORE_REGION", "eu-west-1").run(["config", "prod", "--json"]).success();
//! ```

#![allow(dead_code)]

pub mod docker;
pub mod ebsim;
pub mod ecr;
pub mod endpoints;
pub mod proxy;
pub mod recording_daemon;
pub mod registry;
pub mod s3;
pub mod stall;
pub mod tar_listing;
pub mod token_auth;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (holds the demo app).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stevedore"))
}

/// A temporary project directory with its own HOME, so no user config leaks in.
pub struct Project {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    program: Option<PathBuf>,
}

impl Project {
    /// An empty project root (it has an `environments/` directory).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("stevedore-it-")
            .tempdir()
            .expect("create a temp dir");
        std::fs::create_dir_all(dir.path().join("project/environments")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("mkdir");
        // git needs an identity for commits and annotated tags, as on any developer machine.
        std::fs::write(
            dir.path().join("home/.gitconfig"),
            "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .expect("write .gitconfig");
        Project {
            dir,
            env: Vec::new(),
            program: None,
        }
    }

    /// A copy of the bundled demo app (without stevedore's own sources): the files git tracks,
    /// never what a run of the demo left in the working tree (e.g. a created `.env`).
    pub fn demo() -> Self {
        let project = Project::new();
        for entry in [
            "app",
            "docker",
            "environments",
            ".dockerignore",
            ".ebignore",
            "stevedore.toml",
        ] {
            copy_tracked(entry, &project.root().join(entry));
        }
        project
    }

    /// The project root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    /// The isolated HOME.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Write `contents` to `path` (relative to the root), creating directories.
    pub fn file(self, path: &str, contents: &str) -> Self {
        let full = self.root().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&full, contents).expect("write file");
        self
    }

    /// Write a file under the isolated HOME.
    pub fn home_file(self, path: &str, contents: &str) -> Self {
        let full = self.home().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&full, contents).expect("write file");
        self
    }

    /// Set an environment variable for runs.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Run through a symlink named `name` (multi-call: `image`, `deploy`).
    pub fn via_symlink(mut self, name: &str) -> Self {
        let link = self.dir.path().join("bin").join(name);
        std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(binary(), &link).expect("symlink");
        self.program = Some(link);
        self
    }

    /// `git init` with one commit of everything.
    pub fn git_init(self) -> Self {
        for args in [
            &["init", "-q", "-b", "main"][..],
            &["add", "-A"],
            &[
                "-c",
                "user.name=Test",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-q",
                "-m",
                "init",
            ],
        ] {
            self.git(args);
        }
        self
    }

    /// Commit everything, as a developer would before a release (author Grace).
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&[
            "-c",
            "user.name=Grace",
            "-c",
            "user.email=g@example.com",
            "commit",
            "-q",
            "-m",
            message,
        ]);
    }

    /// Run git with `args` in the project root, with the project's HOME (asserting success);
    /// its trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        run_git(&self.root(), Some(&self.home()), args)
    }

    /// Run the binary with `args` in the project root.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_in(&self.root(), args)
    }

    /// The binary with `args`, in the project root, with the project's environment, not yet
    /// started (for tests that signal or time the process themselves).
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let program = self.program.clone().unwrap_or_else(binary);
        let mut cmd = Command::new(&program);
        cmd.args(args).current_dir(self.root()).env_clear();
        for key in ["PATH", "DOCKER_HOST", "CI", "RUST_BACKTRACE"] {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        cmd.env("HOME", self.home())
            .env("DOCKER_CONFIG", self.home().join(".docker"));
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Run the binary with `args` in `dir`.
    pub fn run_in<I, S>(&self, dir: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        cmd.current_dir(dir);
        let out = cmd.output().expect("run stevedore");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What a run produced, with fluent assertions.
#[derive(Debug)]
pub struct Output {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Assert exit code 0.
    pub fn success(self) -> Self {
        self.code(0)
    }

    /// Assert the exit code.
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert stdout contains `needle`.
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert stderr contains `needle`.
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert neither stream contains `needle` (e.g. a secret).
    pub fn nowhere(self, needle: &str) -> Self {
        assert!(
            !self.stdout.contains(needle) && !self.stderr.contains(needle),
            "{needle:?} leaked\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Parse stdout as NDJSON; every line must be a JSON object.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}\n{}", self.stdout))
            })
            .collect()
    }

    /// The final `summary` object of `--json` output.
    pub fn summary(&self) -> serde_json::Value {
        let lines = self.json_lines();
        let last = lines.last().cloned().expect("at least one JSON line");
        assert_eq!(last["event"], "summary", "last line is the summary: {last}");
        last
    }
}

/// Run git in `dir`, asserting success; its stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    run_git(dir, None, args)
}

fn run_git(dir: &Path, home: Option<&Path>, args: &[&str]) -> String {
    let mut command = Command::new("git");
    command.args(args).current_dir(dir);
    if let Some(home) = home {
        command.env("HOME", home);
    }
    let out = command.output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The files git tracks under `pathspecs` of the repository (relative paths). Tests build their
/// fixtures from these only, so a file a developer's run created cannot change a result.
pub fn tracked_files(pathspecs: &[&str]) -> Vec<PathBuf> {
    let out = Command::new("git")
        .args(["ls-files", "-z", "--"])
        .args(pathspecs)
        .current_dir(repo_root())
        .output()
        .expect("run git ls-files in the repository");
    assert!(
        out.status.success(),
        "git ls-files: {} (the tests read the repository's tracked files)",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Vec<PathBuf> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .collect();
    assert!(!files.is_empty(), "git tracks none of {pathspecs:?}");
    files
}

/// Copy what git tracks of the repository's `entry` (a file or directory, relative to the
/// repository root) to `to`.
pub fn copy_tracked(entry: &str, to: &Path) {
    for path in tracked_files(&[entry]) {
        let relative = path.strip_prefix(entry).expect("under the pathspec");
        let target = if relative.as_os_str().is_empty() {
            to.to_path_buf()
        } else {
            to.join(relative)
        };
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        copy_tree(&repo_root().join(&path), &target);
    }
}

/// Copy a file or directory tree (symlinks copied as links).
pub fn copy_tree(from: &Path, to: &Path) {
    let meta = std::fs::symlink_metadata(from).expect("stat source");
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).expect("readlink");
        std::os::unix::fs::symlink(target, to).expect("symlink");
    } else if meta.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy file");
    }
}

/// Whether tests must fail rather than skip when a real component is missing.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Skip (loudly) or, under CI, fail, because `what` is unavailable.
pub fn unavailable(what: &str, why: &str) -> bool {
    if in_ci() {
        panic!("{what} is required under CI=true but unavailable: {why}");
    }
    eprintln!("\n!!! SKIPPED: {what} unavailable ({why}); set CI=true to make this a failure\n");
    record_skip(what, why);
    false
}

/// Append the skipping test to `STEVEDORE_SKIP_LOG` (set by `tests/run.sh`, which counts the
/// lines), since libtest counts a test that returns early as passed and swallows its stderr.
fn record_skip(what: &str, why: &str) {
    use std::io::Write;
    let Some(path) = std::env::var_os("STEVEDORE_SKIP_LOG") else {
        return;
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unnamed test");
    // One short line per skip, written in a single call so parallel tests do not interleave.
    let line = format!("{test}: {what} unavailable ({why})\n");
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
}

/// Poll `done` every 100 ms for up to a minute; panic naming `what` if it never holds.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what} never happened");
}

/// Send SIGINT to process `pid`, as Ctrl-C would.
pub fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -INT {pid}");
}
