//! The user's project: where its root is, its environments and services, and its settings.
//!
//! Conventions (ARCHITECTURE §1): an environment is a directory under `environments/`; a service
//! is a directory `docker/<service>/` with a `<env>/` subdirectory holding its `Dockerfile`
//! and/or the environment's `docker-compose.yml`.

pub mod config_file;
pub mod dotenv;
pub mod eb_config;
pub mod settings;
pub mod typed;

use std::path::{Path, PathBuf};

use crate::exit::{Coded, ExitStatus};
pub use config_file::ConfigFile;

/// A project with its settings resolved for one environment (or none): what every command
/// works from, loaded once per run.
#[derive(Debug)]
pub struct Loaded {
    /// The project.
    pub project: Project,
    /// Its settings, typed values checked.
    pub resolution: settings::Resolution,
}

impl Loaded {
    /// The resolved settings.
    pub fn settings(&self) -> &settings::Settings {
        &self.resolution.settings
    }

    /// The typed, checked settings.
    pub fn typed(&self) -> &typed::Typed {
        &self.resolution.typed
    }

    /// The Compose/stevedore project name: `project_name`, else the directory's.
    pub fn project_name(&self) -> String {
        self.resolution
            .settings
            .project_name
            .get()
            .unwrap_or_else(|| self.project.default_name())
    }
}

/// The file that marks a project root and holds tool settings.
pub const CONFIG_FILE_NAME: &str = "stevedore.toml";

/// Why the project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No root was found walking up from the start directory.
    #[error(
        "no stevedore project found in {start} or any parent directory; a project root holds \
         `stevedore.toml` or an `environments/` directory. Run from inside the project or pass \
         `-C <dir>`"
    )]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// A setting's value does not parse.
    #[error("{at}: {key} = `{value}` is not {expected}; fix the value there")]
    InvalidSetting {
        /// Where it was set: `file:line`, or the variable or flag.
        at: String,
        /// The dotted key.
        key: String,
        /// The value as written.
        value: String,
        /// What it must be.
        expected: String,
    },
    /// `-C` names a directory that does not exist.
    #[error("project directory {path} does not exist; fix the path given to -C/--project-dir")]
    MissingDir {
        /// The directory.
        path: PathBuf,
    },
    /// The environment name is not a directory under environments/.
    #[error(
        "no environment named `{name}`: {dir} does not exist. {available} Create the directory \
         or pick an existing environment"
    )]
    UnknownEnvironment {
        /// The requested name.
        name: String,
        /// The directory that was expected.
        dir: PathBuf,
        /// A sentence listing the environments that exist.
        available: String,
    },
    /// The environment name could escape the project (`..`, `/`) or is empty.
    #[error(
        "`{name}` is not a valid environment name; use letters, digits, `-`, `_` or `.`, \
         starting with a letter or digit"
    )]
    InvalidEnvironmentName {
        /// The rejected name.
        name: String,
    },
    /// Two or more compose files claim the same environment.
    #[error(
        "environment `{env}` has several compose files ({found}); choose one with \
         `compose_file` under [environments.{env}] in stevedore.toml"
    )]
    AmbiguousCompose {
        /// The environment.
        env: String,
        /// The candidates, comma-separated.
        found: String,
    },
    /// `stevedore.toml` is not valid.
    #[error("{path}:{line}: {message}; fix the file (see the README's configuration section)")]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// `.elasticbeanstalk/config.yml` is not valid YAML of the expected shape.
    #[error("{path}:{line}: {message}; fix the file or run `eb init` again")]
    EbConfigSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// An environment's `.env` is not valid dotenv (the message names file, line and fix).
    #[error("{0}")]
    Dotenv(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

impl Coded for ProjectError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::InvalidInput
    }
}

/// A loaded project root.
#[derive(Debug, Clone)]
pub struct Project {
    /// The root directory (absolute).
    pub root: PathBuf,
    /// `stevedore.toml`, or defaults when absent.
    pub config: ConfigFile,
    /// Where `stevedore.toml` was read from, when it exists.
    pub config_path: Option<PathBuf>,
}

/// One environment of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The name (the directory name under `environments/`).
    pub name: String,
    /// `environments/<name>/`.
    pub dir: PathBuf,
    /// The environment's compose file, if one exists by convention or configuration.
    pub compose_file: Option<PathBuf>,
    /// Services that have a `docker/<service>/<name>/` directory.
    pub services: Vec<Service>,
}

/// A service's per-environment directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service name (`docker/<service>/`).
    pub name: String,
    /// `docker/<service>/<env>/`.
    pub dir: PathBuf,
    /// `docker/<service>/<env>/Dockerfile` when it exists.
    pub dockerfile: Option<PathBuf>,
}

/// Compose's own default file names, in its order, for a project that keeps its compose file
/// at the root.
const ROOT_COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

impl Project {
    /// Find the project root by walking up from `start`, then load `stevedore.toml`.
    pub fn discover(start: &Path) -> Result<Project, ProjectError> {
        if !start.is_dir() {
            return Err(ProjectError::MissingDir {
                path: start.to_owned(),
            });
        }
        let start = std::path::absolute(start).map_err(|source| ProjectError::Io {
            path: start.to_owned(),
            source,
        })?;
        let root = start
            .ancestors()
            .find(|dir| is_root(dir))
            .ok_or_else(|| ProjectError::NotFound {
                start: start.clone(),
            })?
            .to_owned();
        Project::load(root)
    }

    /// Load the project at `root` (which is taken to be a root).
    pub fn load(root: PathBuf) -> Result<Project, ProjectError> {
        let path = root.join(CONFIG_FILE_NAME);
        let (config, config_path) = if path.is_file() {
            (config_file::read(&path)?, Some(path))
        } else {
            (ConfigFile::default(), None)
        };
        Ok(Project {
            root,
            config,
            config_path,
        })
    }

    /// The project's name: `[project] name`, else the root directory's name.
    pub fn default_name(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "app".to_owned())
    }

    /// The names of all environments, sorted.
    pub fn environment_names(&self) -> Vec<String> {
        let mut names: Vec<String> = read_dir_names(&self.root.join("environments"))
            .into_iter()
            .filter(|n| self.root.join("environments").join(n).is_dir())
            .filter(|n| validate_env_name(n).is_ok())
            .collect();
        names.sort();
        names
    }

    /// Load environment `name`, with its services and compose file.
    pub fn environment(&self, name: &str) -> Result<Environment, ProjectError> {
        validate_env_name(name)?;
        let dir = self.root.join("environments").join(name);
        if !dir.is_dir() {
            let names = self.environment_names();
            let available = if names.is_empty() {
                "This project has no environments yet.".to_owned()
            } else {
                format!("Environments here: {}.", names.join(", "))
            };
            return Err(ProjectError::UnknownEnvironment {
                name: name.to_owned(),
                dir,
                available,
            });
        }
        let services = self.services_of(name);
        let compose_file = self.compose_file_of(name, &services)?;
        Ok(Environment {
            name: name.to_owned(),
            dir,
            compose_file,
            services,
        })
    }

    fn services_of(&self, env: &str) -> Vec<Service> {
        let docker = self.root.join("docker");
        let mut names = read_dir_names(&docker);
        names.sort();
        names
            .into_iter()
            .filter_map(|name| {
                let dir = docker.join(&name).join(env);
                dir.is_dir().then(|| {
                    let dockerfile = Some(dir.join("Dockerfile")).filter(|p| p.is_file());
                    Service {
                        name,
                        dir,
                        dockerfile,
                    }
                })
            })
            .collect()
    }

    /// The compose file of the environment: `compose_file` from stevedore.toml, else the one
    /// `docker-compose.yml` under docker/<service>/<env>/, else the project root's.
    fn compose_file_of(
        &self,
        env: &str,
        services: &[Service],
    ) -> Result<Option<PathBuf>, ProjectError> {
        if let Some(configured) = self
            .config
            .environments
            .get(env)
            .and_then(|e| e.compose_file.as_ref())
        {
            return Ok(Some(self.root.join(configured)));
        }
        let found: Vec<PathBuf> = services
            .iter()
            .map(|s| s.dir.join("docker-compose.yml"))
            .filter(|p| p.is_file())
            .collect();
        match found.len() {
            // A project without the docker/<service>/<env>/ layout: its own compose file at
            // the root, by the names Compose looks for.
            0 => Ok(ROOT_COMPOSE_FILES
                .iter()
                .map(|name| self.root.join(name))
                .find(|p| p.is_file())),
            1 => Ok(found.into_iter().next()),
            _ => Err(ProjectError::AmbiguousCompose {
                env: env.to_owned(),
                found: found
                    .iter()
                    .map(|p| self.relative(p))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// `path` relative to the root, for messages.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }
}

/// A directory is a project root when it has `stevedore.toml` or `environments/`.
fn is_root(dir: &Path) -> bool {
    dir.join(CONFIG_FILE_NAME).is_file() || dir.join("environments").is_dir()
}

/// Reject names that are empty, hidden, or could leave `environments/`.
pub fn validate_env_name(name: &str) -> Result<(), ProjectError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(ProjectError::InvalidEnvironmentName {
            name: name.to_owned(),
        })
    }
}

fn read_dir_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in files {
            let path = dir.path().join(f);
            if f.ends_with('/') {
                std::fs::create_dir_all(&path).expect("mkdir");
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&path, "").expect("write");
        }
        dir
    }

    #[test]
    fn discovers_root_from_a_subdirectory() {
        let t = tree(&["environments/dev/", "app/www/index.html"]);
        let p = Project::discover(&t.path().join("app/www")).expect("found");
        assert_eq!(p.root, t.path());
        assert!(p.config_path.is_none());
    }

    #[test]
    fn stevedore_toml_marks_a_root_too() {
        let t = tree(&["stevedore.toml", "sub/"]);
        let p = Project::discover(&t.path().join("sub")).expect("found");
        assert_eq!(p.root, t.path());
    }

    #[test]
    fn no_root_is_an_invalid_input_error() {
        let t = tree(&["a/b/"]);
        let err = Project::discover(&t.path().join("a/b")).expect_err("none");
        assert!(matches!(err, ProjectError::NotFound { .. }));
        assert_eq!(err.exit_status(), ExitStatus::InvalidInput);
    }

    #[test]
    fn environment_services_and_compose_by_convention() {
        let t = tree(&[
            "environments/dev/Procfile",
            "environments/prod/",
            "docker/app/dev/Dockerfile",
            "docker/app/dev/docker-compose.yml",
            "docker/app/prod/Dockerfile",
            "docker/proxy/prod/Dockerfile",
            "docker/app/start.sh",
        ]);
        let p = Project::discover(t.path()).expect("found");
        assert_eq!(p.environment_names(), vec!["dev", "prod"]);
        let dev = p.environment("dev").expect("dev");
        assert_eq!(
            dev.services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            vec!["app"]
        );
        assert_eq!(
            dev.compose_file,
            Some(t.path().join("docker/app/dev/docker-compose.yml"))
        );
        let prod = p.environment("prod").expect("prod");
        assert_eq!(prod.services.len(), 2);
        assert_eq!(prod.compose_file, None);
    }

    #[test]
    fn unknown_environment_lists_the_existing_ones() {
        let t = tree(&["environments/dev/", "environments/prod/"]);
        let p = Project::discover(t.path()).expect("found");
        let msg = p.environment("staging").expect_err("missing").to_string();
        assert!(msg.contains("environments/staging"), "{msg}");
        assert!(msg.contains("dev, prod"), "{msg}");
    }

    #[test]
    fn environment_names_cannot_escape() {
        for bad in ["", "..", "../etc", "a/b", ".hidden", "-x", "a..b"] {
            assert!(validate_env_name(bad).is_err(), "{bad:?}");
        }
        for good in ["dev", "prod", "staging-eu", "qa_2", "v1.2"] {
            assert!(validate_env_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn two_compose_files_are_ambiguous() {
        let t = tree(&[
            "environments/prod/",
            "docker/app/prod/docker-compose.yml",
            "docker/proxy/prod/docker-compose.yml",
        ]);
        let p = Project::discover(t.path()).expect("found");
        let err = p.environment("prod").expect_err("ambiguous");
        assert!(err.to_string().contains("compose_file"), "{err}");
    }
}
