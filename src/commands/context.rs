//! What every command gets ([`Context`]): the global flags, the printer, the starting
//! directory, and the project's settings loaded once per environment; plus the few steps
//! several commands share at the edge (connecting to Elastic Beanstalk, loading an
//! environment to run, taking its lock).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::cli::GlobalArgs;
use crate::exit::ExitStatus;
use crate::git::Git;
use crate::lifecycle::oneoff;
use crate::lifecycle::scope::{self, ComposeChoice, EnvScope, Runtime};
use crate::output::{Event, Printer, Report};
use crate::project::settings::{self, FlagValues};
use crate::project::{Loaded, Project};

/// What every command gets: the global flags, the printer and the starting directory.
pub struct Context {
    /// Global flags.
    pub global: GlobalArgs,
    /// The output layer.
    pub printer: Printer,
    /// The directory stevedore was started in (or `-C`).
    pub start_dir: PathBuf,
    /// Settings loaded so far, by environment: each is loaded (and its warnings shown) once.
    pub loaded: Mutex<HashMap<Option<String>, Arc<Loaded>>>,
}

impl Context {
    /// Discover and load the project.
    pub fn project(&self) -> anyhow::Result<Project> {
        Ok(Project::discover(&self.start_dir)?)
    }

    /// The project and its settings for `env` (checked to exist), loaded on first use and
    /// shared after: the one place `settings::load` is called, so each command resolves its
    /// settings once and shows their warnings once.
    pub fn settings(&self, env: Option<&str>) -> anyhow::Result<Arc<Loaded>> {
        let key = env.map(str::to_owned);
        let cached = self
            .loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .cloned();
        if let Some(loaded) = cached {
            return Ok(loaded);
        }
        let project = self.project()?;
        if let Some(env) = env {
            project.environment(env)?;
        }
        let branch = Git::new(&project.root).eb_branch();
        let resolution = settings::load(&project, &self.flag_values(), &branch, env)?;
        for warning in &resolution.warnings {
            self.printer.emit(Event::warning(warning.clone()));
        }
        let loaded = Arc::new(Loaded {
            project,
            resolution,
        });
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, Arc::clone(&loaded));
        Ok(loaded)
    }

    /// Connect to the Elastic Beanstalk environment `env` deploys to.
    pub async fn eb_target(&self, env: &str) -> anyhow::Result<crate::eb::EbTarget> {
        let loaded = self.settings(Some(env))?;
        crate::eb::EbTarget::connect(&loaded, env, &|event| self.printer.emit(event)).await
    }

    /// `-f`/`--env-file`/`--compose-profile`/`-p` as the lifecycle core takes them (paths
    /// relative to the starting directory).
    pub fn compose_choice(&self, args: &crate::cli::ComposeArgs) -> ComposeChoice {
        let resolve = |paths: &[std::path::PathBuf]| -> Vec<std::path::PathBuf> {
            paths.iter().map(|p| self.start_dir.join(p)).collect()
        };
        ComposeChoice {
            files: resolve(&args.file),
            env_files: resolve(&args.env_file),
            profiles: args.compose_profile.clone(),
            targeted: Vec::new(),
            project_name: args.project_name.clone(),
        }
    }

    /// Load environment `env` to run it: its settings, its compose file and project name.
    pub fn env_scope(
        &self,
        env: &str,
        compose: &crate::cli::ComposeArgs,
        runtime: Runtime,
    ) -> anyhow::Result<EnvScope> {
        self.env_scope_with(env, &self.compose_choice(compose), runtime)
    }

    /// [`Context::env_scope`] with a compose choice the command has adjusted.
    fn env_scope_with(
        &self,
        env: &str,
        choice: &ComposeChoice,
        runtime: Runtime,
    ) -> anyhow::Result<EnvScope> {
        let loaded = self.settings(Some(env))?;
        scope::load(&loaded, env, choice, runtime, &|event| {
            self.printer.emit(event)
        })
    }

    /// Take the environment lock for `command` (see [`crate::lifecycle::lock`]), telling the
    /// user who holds it while waiting; `--no-wait` fails at once with exit 10.
    pub async fn lock_env(
        &self,
        root: &std::path::Path,
        env: &str,
        command: &str,
    ) -> anyhow::Result<crate::lifecycle::lock::EnvLock> {
        let wait = !self.global.no_wait;
        let lock = crate::lifecycle::lock::acquire(root, env, command, wait, |holder| {
            self.printer.emit(Event::info(format!(
                "waiting for environment {env}: {holder} (--no-wait fails instead)"
            )));
        })
        .await?;
        Ok(lock)
    }

    /// The flags that take part in settings resolution.
    pub fn flag_values(&self) -> FlagValues {
        FlagValues {
            region: self.global.region.clone(),
            profile: self.global.profile.clone(),
        }
    }

    /// Run a one-off container of `env` and report its exit code as the command's status
    /// (`run`, `shell`, `task`).
    pub async fn run_oneoff(
        &self,
        env: &str,
        compose: &crate::cli::ComposeArgs,
        request: oneoff::Request,
    ) -> anyhow::Result<Report> {
        // The service named is enabled whatever its profiles, as Compose's `run` does.
        let mut choice = self.compose_choice(compose);
        choice.targeted.extend(request.service.clone());
        let scope = self.env_scope_with(env, &choice, Runtime::Read)?;
        let emit = |event| self.printer.emit(event);
        let docker = crate::engine::connect().await?;
        let output_to = |service: &str, stderr: bool, bytes: &[u8]| {
            self.printer.passthrough(service, stderr, bytes)
        };
        let ran = oneoff::run(&docker, &scope, request, &emit, &output_to).await?;
        let status = match ran.code {
            0 => ExitStatus::Ok,
            code => ExitStatus::Child(u8::try_from(code).unwrap_or(1)),
        };
        Ok(Report {
            data: serde_json::json!({
                "environment": scope.env(),
                "service": ran.service,
                "container": ran.container,
                "exit_code": ran.code,
            }),
            text: String::new(),
            status,
        })
    }
}
