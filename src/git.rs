//! A thin wrapper over the `git` CLI, so the user's ssh and credential setup keeps working.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::exit::{Coded, ExitStatus};

/// Errors running git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` program is not on PATH.
    #[error("git is not installed or not on PATH; install git (e.g. `apt-get install git`)")]
    Missing,
    /// A git command failed.
    #[error("`git {args}` failed in {dir}: {stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// Where it ran.
        dir: PathBuf,
        /// What git said.
        stderr: String,
    },
}

impl Coded for GitError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            GitError::Missing => ExitStatus::Failure,
            GitError::Failed { .. } => ExitStatus::InvalidInput,
        }
    }
}

/// Git commands run in one directory.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
}

/// A summary of a work tree, for `doctor` and `release`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepoState {
    /// The branch checked out, or `None` when HEAD is detached.
    pub branch: Option<String>,
    /// HEAD's commit, or `None` in a repository without commits.
    pub head: Option<String>,
    /// Paths with uncommitted changes (`git status --porcelain`).
    pub dirty: Vec<String>,
}

impl Git {
    /// Git commands that run in `dir`.
    pub fn new(dir: &Path) -> Self {
        Git {
            dir: dir.to_owned(),
        }
    }

    /// Run git with `args`; stdout on success, trimmed.
    pub fn run(&self, args: &[&str]) -> Result<String, GitError> {
        let shown = || {
            args.iter()
                .map(|a| {
                    if a.contains('\n') || a.len() > 80 {
                        "<message>"
                    } else {
                        a
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => GitError::Missing,
                _ => GitError::Failed {
                    args: shown(),
                    dir: self.dir.clone(),
                    stderr: e.to_string(),
                },
            })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_owned())
        } else {
            Err(GitError::Failed {
                args: shown(),
                dir: self.dir.clone(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }

    /// `git --version`.
    pub fn version(&self) -> Result<String, GitError> {
        self.run(&["--version"])
    }

    /// Whether `dir` is inside a work tree.
    pub fn is_repo(&self) -> bool {
        self.run(&["rev-parse", "--is-inside-work-tree"])
            .is_ok_and(|out| out == "true")
    }

    /// The current branch as the EB CLI names it: `default` when detached or outside git.
    pub fn eb_branch(&self) -> String {
        self.run(&["rev-parse", "--abbrev-ref", "HEAD"])
            .ok()
            .filter(|b| !b.is_empty() && b != "HEAD")
            .unwrap_or_else(|| "default".to_owned())
    }

    /// The commit `rev` points at (tags peeled), or `None` when it does not exist.
    pub fn commit_of(&self, rev: &str) -> Option<String> {
        self.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .ok()
        .filter(|c| !c.is_empty())
    }

    /// Whether `refs/tags/<tag>` exists.
    pub fn tag_exists(&self, tag: &str) -> bool {
        self.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/tags/{tag}"),
        ])
        .is_ok()
    }

    /// Whether the local branch exists.
    pub fn branch_exists(&self, branch: &str) -> bool {
        self.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ])
        .is_ok()
    }

    /// The nearest tag reachable from HEAD, as the original changelog used
    /// (`git describe --abbrev=0 --tags`).
    pub fn previous_tag(&self) -> Option<String> {
        self.run(&["describe", "--abbrev=0", "--tags", "HEAD"]).ok()
    }

    /// `* subject - @author` for each commit in `since..HEAD` (all of HEAD's history without
    /// `since`).
    pub fn changelog(&self, since: Option<&str>) -> Result<Vec<String>, GitError> {
        let range = since
            .map(|t| format!("{t}..HEAD"))
            .unwrap_or_else(|| "HEAD".into());
        Ok(self
            .run(&["log", &range, "--pretty=format:* %s - @%an"])?
            .lines()
            .map(str::to_owned)
            .collect())
    }

    /// Create annotated tag `tag` at `commit` with `message` (kept as written).
    pub fn create_tag(&self, tag: &str, commit: &str, message: &str) -> Result<(), GitError> {
        self.annotated_tag(tag, commit, message, false)
    }

    /// Replace annotated tag `tag` (same commit) with a new message.
    pub fn rewrite_tag(&self, tag: &str, commit: &str, message: &str) -> Result<(), GitError> {
        self.annotated_tag(tag, commit, message, true)
    }

    fn annotated_tag(
        &self,
        tag: &str,
        commit: &str,
        message: &str,
        force: bool,
    ) -> Result<(), GitError> {
        let mut args = vec!["tag", "-a", "--cleanup=whitespace", "-m", message];
        if force {
            args.push("-f");
        }
        args.extend([tag, commit]);
        self.run(&args).map(|_| ())
    }

    /// The object id of the tag itself (not the commit), to restore it exactly.
    pub fn tag_object(&self, tag: &str) -> Option<String> {
        self.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/tags/{tag}"),
        ])
        .ok()
    }

    /// Point `refs/tags/<tag>` back at `object`.
    pub fn restore_tag(&self, tag: &str, object: &str) -> Result<(), GitError> {
        self.run(&["update-ref", &format!("refs/tags/{tag}"), object])
            .map(|_| ())
    }

    /// The message of annotated tag `tag`.
    pub fn tag_message(&self, tag: &str) -> Result<String, GitError> {
        self.run(&["tag", "-l", "--format=%(contents)", tag])
    }

    /// Delete tag `tag`.
    pub fn delete_tag(&self, tag: &str) -> Result<(), GitError> {
        self.run(&["tag", "-d", tag]).map(|_| ())
    }

    /// Create `branch` at `commit` without switching to it.
    pub fn create_branch(&self, branch: &str, commit: &str) -> Result<(), GitError> {
        self.run(&["branch", branch, commit]).map(|_| ())
    }

    /// Delete `branch` (forced: it was just created by us).
    pub fn delete_branch(&self, branch: &str) -> Result<(), GitError> {
        self.run(&["branch", "-D", branch]).map(|_| ())
    }

    /// Push exactly `refspecs` to `remote` (never `--tags`).
    pub fn push(&self, remote: &str, refspecs: &[String]) -> Result<(), GitError> {
        let mut args = vec!["push", "--porcelain", remote];
        args.extend(refspecs.iter().map(String::as_str));
        self.run(&args).map(|_| ())
    }

    /// Branch, HEAD and dirty paths.
    pub fn state(&self) -> Result<RepoState, GitError> {
        let branch = self
            .run(&["symbolic-ref", "--quiet", "--short", "HEAD"])
            .ok()
            .filter(|b| !b.is_empty());
        let head = self.run(&["rev-parse", "--verify", "--quiet", "HEAD"]).ok();
        let dirty = self
            .run(&["status", "--porcelain", "--untracked-files=normal"])?
            .lines()
            .map(|l| l.get(3..).unwrap_or(l).to_owned())
            .collect();
        Ok(RepoState {
            branch,
            head,
            dirty,
        })
    }
}
