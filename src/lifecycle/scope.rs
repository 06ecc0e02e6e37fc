//! What the lifecycle commands (`start`, `stop`, `down`, `restart`, `status`, `logs`, `run`,
//! `shell`) share: the environment, its compose file and Compose project name, the image each
//! service runs, and the first-run `.env`.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::compose::{self, ComposeFile};
use crate::engine::labels;
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::image::BuildScope;
use crate::lifecycle::names;
use crate::lifecycle::plan::Target;
use crate::output::Event;
use crate::project::Loaded;

/// The compose file and project name asked for on the command line (`-f`, `-p`).
#[derive(Debug, Clone, Default)]
pub struct ComposeChoice {
    /// `-f`: this compose file instead of the environment's own (absolute or relative to the
    /// current directory).
    pub file: Option<PathBuf>,
    /// `-p`: the Compose project name.
    pub project_name: Option<String>,
}

/// An environment ready to run: its compose file loaded, its names resolved.
pub struct EnvScope {
    /// The project, environment and stevedore project name.
    pub base: BuildScope,
    /// The compose file in use.
    pub compose_path: PathBuf,
    /// The loaded compose file.
    pub file: ComposeFile,
    /// The Compose project name: `-p`, else the file's `name:`, else the environment.
    pub project: String,
    /// The image reference each service runs.
    pub images: HashMap<String, String>,
}

impl EnvScope {
    /// The plan's view of this environment.
    pub fn target(&self) -> Target<'_> {
        Target {
            file: &self.file,
            project: &self.project,
            env: &self.base.env.name,
            images: &self.images,
        }
    }

    /// The environment's name.
    pub fn env(&self) -> &str {
        &self.base.env.name
    }

    /// The hint the original printed when nothing ran.
    pub fn not_running(&self) -> CommandError {
        CommandError::new(
            ExitStatus::Failure,
            format!(
                "No Docker container is running for environment `{env}` (project `{project}`). \
                 Try: `{start}` to start it",
                env = self.env(),
                project = self.project,
                start = hint::command(&["start", self.env()])
            ),
        )
    }
}

/// Whether the compose file's `env_file:`s are read (they hold runtime secrets; only commands
/// that create containers need them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Read them (`start`, `restart`, `run`, `shell`): the containers get the variables.
    Read,
    /// Skip them (`stop`, `down`, `status`, `logs`): names and order are enough.
    Skip,
}

/// Resolve the environment, load its compose file and name its project.
pub fn load(
    loaded: &Loaded,
    env: &str,
    compose_args: &ComposeChoice,
    runtime: Runtime,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<EnvScope> {
    let base = BuildScope::load(loaded, env)?;
    let compose_path = compose_path(&base, compose_args)?;
    let dotenv_path = base.env.dir.join(".env");
    if runtime == Runtime::Read {
        create_dotenv_from_example(&base, emit)?;
    }
    let dotenv = if dotenv_path.is_file() {
        Some(crate::project::dotenv::read(&dotenv_path)?)
    } else {
        None
    };
    let vars = compose::process_env_over(dotenv.as_ref());
    let file = match runtime {
        Runtime::Read => compose::load(&compose_path, &vars)?,
        Runtime::Skip => compose::load_for_build(&compose_path, &vars)?,
    };
    for warning in &file.warnings {
        emit(Event::warning(warning.clone()));
    }
    let project = project_name(compose_args, &file, &base.env.name)?;
    let images = file
        .services
        .iter()
        .filter_map(|(name, service)| {
            let reference = if service.build.is_some() {
                // `image build` tags what it builds per environment; run exactly that.
                Some(labels::local_tag(&base.project_name, name, &base.env.name))
            } else {
                service.image.clone()
            };
            reference.map(|r| (name.clone(), r))
        })
        .collect();
    Ok(EnvScope {
        base,
        compose_path,
        file,
        project,
        images,
    })
}

fn compose_path(base: &BuildScope, compose_args: &ComposeChoice) -> anyhow::Result<PathBuf> {
    match &compose_args.file {
        Some(path) => {
            let path = path.clone();
            if path.is_file() {
                Ok(path)
            } else {
                Err(CommandError::new(
                    ExitStatus::InvalidInput,
                    format!("compose file {} does not exist", path.display()),
                )
                .into())
            }
        }
        None => base.env.compose_file.clone().ok_or_else(|| {
            CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "environment `{env}` has no compose file: add \
                     docker/<service>/{env}/docker-compose.yml, set `compose_file` under \
                     [environments.{env}] in stevedore.toml, or pass -f PATH",
                    env = base.env.name
                ),
            )
            .into()
        }),
    }
}

/// `-p`, else the file's `name:`, else the environment's name; normalised as Compose does.
fn project_name(
    compose_args: &ComposeChoice,
    file: &ComposeFile,
    env: &str,
) -> anyhow::Result<String> {
    let (raw, from_flag) = match (&compose_args.project_name, &file.name) {
        (Some(flag), _) => (flag.as_str(), true),
        (None, Some(name)) => (name.as_str(), false),
        (None, None) => (env, false),
    };
    names::project_name(raw).ok_or_else(|| {
        CommandError::new(
            if from_flag {
                ExitStatus::Usage
            } else {
                ExitStatus::InvalidInput
            },
            format!(
                "`{raw}` is not a usable Compose project name: use lower-case letters, digits, \
                 `-` and `_`, starting with a letter or digit"
            ),
        )
        .into()
    })
}

/// A fresh clone has `environments/<env>/.env.example` but no `.env` (it is git-ignored, and
/// the compose files name it in `env_file:`). Make it from the template, as the original's
/// setup instructions told people to, and say so.
fn create_dotenv_from_example(
    base: &BuildScope,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    let dotenv = base.env.dir.join(".env");
    let example = base.env.dir.join(".env.example");
    if dotenv.exists() || !example.is_file() {
        return Ok(());
    }
    fs_err::copy(&example, &dotenv)?;
    emit(Event::warning(format!(
        "{} did not exist: created it from .env.example. It is git-ignored; put this \
         environment's real settings and secrets there",
        relative(&dotenv, &base.project.root)
    )));
    Ok(())
}

fn relative(path: &std::path::Path, root: &std::path::Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
