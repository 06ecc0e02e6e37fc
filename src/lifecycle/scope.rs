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

/// The compose files, variables, profiles and project name asked for on the command line
/// (`-f`, `--env-file`, `--compose-profile`, `-p`).
#[derive(Debug, Clone, Default)]
pub struct ComposeChoice {
    /// `-f`: these compose files, merged in order, instead of the environment's own (and its
    /// override file); absolute or relative to the current directory.
    pub files: Vec<PathBuf>,
    /// `--env-file`: variable files over the `.env` files.
    pub env_files: Vec<PathBuf>,
    /// `--compose-profile`: the active profiles (none: `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// The services the command names (`run <service>`): enabled whatever their profiles.
    pub targeted: Vec<String>,
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
    if runtime == Runtime::Read {
        create_dotenv_from_example(&base, emit)?;
    }
    let selection = selection(compose_args)?;
    let read_env_files = runtime == Runtime::Read;
    let dotenv_path = base.env.dir.join(".env");
    let default = base.env.compose_file.as_deref();
    let file = compose::load_selected(&selection, default, Some(&dotenv_path), read_env_files)?
        .ok_or_else(|| no_compose_file(&base.env.name))?;
    let compose_path = file.path.clone();
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

/// `-f` (each must exist), `--env-file` (each must exist) and `--compose-profile`.
fn selection(compose_args: &ComposeChoice) -> anyhow::Result<compose::Selection> {
    let existing = |paths: &[PathBuf], what: &str| -> anyhow::Result<Vec<PathBuf>> {
        paths
            .iter()
            .map(|path| {
                if path.is_file() {
                    Ok(path.clone())
                } else {
                    Err(CommandError::new(
                        ExitStatus::InvalidInput,
                        format!("{what} {} does not exist", path.display()),
                    )
                    .into())
                }
            })
            .collect()
    };
    Ok(compose::Selection {
        files: existing(&compose_args.files, "compose file")?,
        env_files: existing(&compose_args.env_files, "env file")?,
        profiles: compose_args.profiles.clone(),
        targeted: compose_args.targeted.clone(),
    })
}

fn no_compose_file(env: &str) -> anyhow::Error {
    CommandError::new(
        ExitStatus::InvalidInput,
        format!(
            "environment `{env}` has no compose file: add docker/<service>/{env}/docker-compose.yml, \
             set `compose_file` under [environments.{env}] in stevedore.toml, or pass -f PATH"
        ),
    )
    .into()
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
