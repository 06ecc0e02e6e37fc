//! Where `${VAR}` values come from for a project, in Compose's order of precedence.

use std::path::{Path, PathBuf};

use super::error::ComposeError;
use crate::project::dotenv::{self, DotenvFile};

/// The variable source of a project: the process environment first, then the `--env-file`s
/// (a later one over an earlier one), then the environment's `environments/<env>/.env`, then
/// the project directory's `.env` (beside the first compose file).
#[derive(Debug, Default)]
pub struct ProjectVariables {
    /// Highest precedence first.
    files: Vec<DotenvFile>,
}

impl ProjectVariables {
    /// Read the files. `env_files` (`--env-file`) must exist; the other two are read when
    /// they do.
    pub fn read(
        env_files: &[PathBuf],
        env_dotenv: Option<&Path>,
        project_dir: &Path,
    ) -> Result<Self, ComposeError> {
        let read = |path: &Path| {
            dotenv::read(path).map_err(|source| ComposeError::Dotenv {
                source: Box::new(source),
            })
        };
        let mut files = Vec::new();
        for path in env_files.iter().rev() {
            files.push(read(path)?);
        }
        let project_dotenv = project_dir.join(".env");
        for path in env_dotenv.into_iter().chain([project_dotenv.as_path()]) {
            if path.is_file() && !files.iter().any(|f| f.path == path) {
                files.push(read(path)?);
            }
        }
        Ok(Self { files })
    }

    /// The value of `name`, or `None` when no source sets it.
    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| {
            self.files
                .iter()
                .find_map(|file| file.get(name).map(str::to_owned))
        })
    }

    /// The files read, highest precedence first.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|f| f.path.as_path())
    }
}

/// The override file Compose reads after `path` when no `-f` is given:
/// `docker-compose.override.yml` beside `docker-compose.yml` (`.yaml` too, and the
/// `compose.override.*` names beside `compose.*`).
pub fn override_file(path: &Path) -> Option<PathBuf> {
    let stem = path.file_stem()?.to_str()?;
    let dir = path.parent()?;
    ["yml", "yaml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.override.{ext}")))
        .find(|candidate| candidate.is_file())
}
