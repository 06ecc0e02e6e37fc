//! One module per subcommand; the only place that sequences steps.
//!
//! Each command turns its clap arguments into plain options and calls core modules; core
//! modules never see clap.

mod bundle;
mod completions;
mod config;
mod create;
mod deploy;
mod doctor;
mod eb_follow;
mod eb_scope;
mod env_help;
mod env_vars;
mod follow;
mod history;
mod image;
mod lifecycle_scope;
mod logs;
mod man;
mod oneoff;
mod prune;
mod publish;
mod readiness;
mod release;
mod release_scope;
mod remote_status;
mod rollback;
mod scale;
mod service_images;
mod start;
mod status;
mod stop;
mod swap;
mod task;
mod terminate;
mod versions;
mod wait;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::cli::{Command, GlobalArgs, ImageAction};
use crate::git::Git;
use crate::output::{Event, Printer, Report};
use crate::project::Project;
use crate::project::settings::{self, FlagValues, Resolution};

pub use env_help::env_help;

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

/// The project with its settings for one environment (or none).
#[derive(Debug)]
pub struct Loaded {
    /// The project.
    pub project: Project,
    /// Its settings, typed values checked.
    pub resolution: Resolution,
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

    /// The flags that take part in settings resolution.
    pub fn flag_values(&self) -> FlagValues {
        FlagValues {
            region: self.global.region.clone(),
            profile: self.global.profile.clone(),
        }
    }
}

/// The name of a command, for the JSON summary.
pub fn name_of(command: &Command) -> &'static str {
    match command {
        Command::Image(args) => match args.action {
            ImageAction::Build(_) => "image build",
            ImageAction::Update(_) => "image update",
            ImageAction::Destroy(_) => "image destroy",
            ImageAction::Ls(_) => "image ls",
        },
        Command::Start(_) => "start",
        Command::Stop(_) => "stop",
        Command::Down(_) => "down",
        Command::Restart(_) => "restart",
        Command::Status(_) => "status",
        Command::Env(_) => "env",
        Command::Versions(_) => "versions",
        Command::Prune(_) => "prune",
        Command::Create(_) => "create",
        Command::Terminate(_) => "terminate",
        Command::Swap(_) => "swap",
        Command::Scale(_) => "scale",
        Command::Wait(_) => "wait",
        Command::Logs(_) => "logs",
        Command::Shell(_) => "shell",
        Command::Run(_) => "run",
        Command::Task(_) => "task",
        Command::Release(_) => "release",
        Command::Publish(_) => "publish",
        Command::Bundle(_) => "bundle",
        Command::Deploy(_) => "deploy",
        Command::Rollback(_) => "rollback",
        Command::History(_) => "history",
        Command::Config(_) => "config",
        Command::Doctor => "doctor",
        Command::Completions(_) => "completions",
        Command::Man => "man",
    }
}

/// The `-f` file and `-p` project given to a command on an environment's containers.
pub fn compose_flags_of(command: &Command) -> (Option<&std::path::Path>, Option<&str>) {
    let compose = match command {
        Command::Start(args) => &args.compose,
        Command::Stop(args) | Command::Restart(args) => &args.compose,
        Command::Down(args) => &args.compose,
        Command::Status(args) => &args.compose,
        Command::Shell(args) => &args.compose,
        Command::Run(args) => &args.compose,
        Command::Task(args) => &args.compose,
        Command::Logs(args) => return (args.file.as_deref(), args.project_name.as_deref()),
        _ => return (None, None),
    };
    (compose.file.as_deref(), compose.project_name.as_deref())
}

/// Run `command`.
pub async fn execute(ctx: &Context, command: Command) -> anyhow::Result<Report> {
    match command {
        Command::Config(args) => config::run(ctx, args.env.as_deref()),
        Command::Doctor => doctor::run(ctx).await,
        Command::Completions(args) => completions::run(args.shell),
        Command::Image(args) => image::run(ctx, args.action).await,
        Command::Release(args) => release::run(ctx, args).await,
        Command::Bundle(args) => bundle::run(ctx, args).await,
        Command::Deploy(args) => deploy::run(ctx, args).await,
        Command::Rollback(args) => rollback::run(ctx, args).await,
        Command::History(args) => history::run(ctx, args).await,
        // `--remote` (and `--follow`, which only exists for it) is Elastic Beanstalk's side.
        Command::Status(args) if args.remote || args.follow => remote_status::run(ctx, args).await,
        Command::Publish(args) => publish::run(ctx, args).await,
        Command::Man => man::run(),
        Command::Start(args) => start::run(ctx, args).await,
        Command::Stop(args) => stop::stop(ctx, args).await,
        Command::Down(args) => stop::down(ctx, args).await,
        Command::Restart(args) => stop::restart(ctx, args).await,
        Command::Status(args) => status::run(ctx, args).await,
        Command::Env(args) => env_vars::run(ctx, args).await,
        Command::Versions(args) => versions::run(ctx, args).await,
        Command::Prune(args) => prune::run(ctx, args).await,
        Command::Create(args) => create::run(ctx, args).await,
        Command::Terminate(args) => terminate::run(ctx, args).await,
        Command::Swap(args) => swap::run(ctx, args).await,
        Command::Scale(args) => scale::run(ctx, args).await,
        Command::Wait(args) => wait::run(ctx, args).await,
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Task(args) => task::run(ctx, args).await,
        Command::Run(args) => {
            let what = oneoff::OneOff {
                env: args.env,
                service: args.service,
                compose: args.compose,
                cmd: args.cmd,
                banner: None,
                container: args.container,
            };
            oneoff::run(ctx, what).await
        }
        Command::Shell(args) => {
            let what = oneoff::OneOff {
                env: args.env,
                service: args.service,
                compose: args.compose,
                cmd: vec!["sh".to_owned()],
                banner: Some("Opening a shell in a one-off container...".to_owned()),
                container: Default::default(),
            };
            oneoff::run(ctx, what).await
        }
    }
}

/// Take the environment lock for `command` (see [`crate::lifecycle::lock`]), telling the user
/// who holds it while waiting; `--no-wait` fails at once with exit 10.
pub(crate) async fn lock_env(
    ctx: &Context,
    root: &std::path::Path,
    env: &str,
    command: &str,
) -> anyhow::Result<crate::lifecycle::lock::EnvLock> {
    let lock = crate::lifecycle::lock::acquire(root, env, command, !ctx.global.no_wait, |holder| {
        ctx.printer.emit(crate::output::Event::info(format!(
            "waiting for environment {env}: {holder} (--no-wait fails instead)"
        )));
    })
    .await?;
    Ok(lock)
}
