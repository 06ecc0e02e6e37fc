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
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => GitError::Missing,
                _ => GitError::Failed {
                    args: args.join(" "),
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
                args: args.join(" "),
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
