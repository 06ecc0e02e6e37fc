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
        self.get_over(name, |name| std::env::var(name).ok())
    }

    /// [`Self::get`] with `shell` standing for the process environment.
    fn get_over(&self, name: &str, shell: impl Fn(&str) -> Option<String>) -> Option<String> {
        shell(name).or_else(|| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_over_env_files_over_the_environment_over_the_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            path
        };
        write(
            "compose/.env",
            "A=project\nB=project\nC=project\nD=project\nE=project\n",
        );
        let env_dotenv = write("env/.env", "A=env\nB=env\nC=env\nD=env\n");
        let first = write("first.env", "A=first\nB=first\nC=first\n");
        let second = write("second.env", "A=second\nB=second\n");
        let vars = ProjectVariables::read(
            &[first, second],
            Some(&env_dotenv),
            &dir.path().join("compose"),
        )
        .expect("read");
        let shell = |name: &str| (name == "A").then(|| "shell".to_owned());
        let table = [
            ("A", Some("shell")),
            ("B", Some("second")),
            ("C", Some("first")),
            ("D", Some("env")),
            ("E", Some("project")),
            ("F", None),
        ];
        for (name, want) in table {
            assert_eq!(vars.get_over(name, shell).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn a_missing_env_file_is_an_error_and_the_override_file_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = ProjectVariables::read(&[dir.path().join("nope.env")], None, dir.path())
            .expect_err("missing --env-file");
        assert!(err.to_string().contains("nope.env"), "{err}");
        let compose = dir.path().join("docker-compose.yml");
        assert_eq!(override_file(&compose), None);
        std::fs::write(
            dir.path().join("docker-compose.override.yml"),
            "services: {}\n",
        )
        .expect("write");
        assert_eq!(
            override_file(&compose),
            Some(dir.path().join("docker-compose.override.yml"))
        );
    }
}
