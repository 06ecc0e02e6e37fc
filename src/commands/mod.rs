//! One module per subcommand; the only place that sequences steps.
//!
//! Each command turns its clap arguments into plain options and calls core modules; core
//! modules never see clap.

mod completions;
mod config;
mod doctor;
mod env_help;
mod image;
mod man;
mod pending;
mod publish;
mod release;
mod release_scope;

use std::path::PathBuf;

use crate::cli::{Command, GlobalArgs, ImageAction};
use crate::output::{Printer, Report};
use crate::project::Project;
use crate::project::settings::FlagValues;

pub use env_help::env_help;

/// What every command gets: the global flags, the printer and the starting directory.
pub struct Context {
    /// Global flags.
    pub global: GlobalArgs,
    /// The output layer.
    pub printer: Printer,
    /// The directory stevedore was started in (or `-C`).
    pub start_dir: PathBuf,
}

impl Context {
    /// Discover and load the project.
    pub fn project(&self) -> anyhow::Result<Project> {
        Ok(Project::discover(&self.start_dir)?)
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
        Command::Logs(_) => "logs",
        Command::Shell(_) => "shell",
        Command::Run(_) => "run",
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

/// Run `command`.
pub async fn execute(ctx: &Context, command: Command) -> anyhow::Result<Report> {
    match command {
        Command::Config(args) => config::run(ctx, args.env.as_deref()),
        Command::Doctor => doctor::run(ctx).await,
        Command::Completions(args) => completions::run(args.shell),
        Command::Image(args) => image::run(ctx, args.action).await,
        Command::Release(args) => release::run(ctx, args).await,
        Command::Publish(args) => publish::run(ctx, args).await,
        Command::Man => man::run(),
        other => {
            // Validate what can be validated before admitting the command is not built yet, so
            // a wrong environment name is reported as such (exit 3).
            if let Some(env) = env_of(&other) {
                ctx.project()?.environment(env)?;
            }
            pending::run(name_of(&other))
        }
    }
}

/// The environment argument of a command, if it has one.
fn env_of(command: &Command) -> Option<&str> {
    Some(match command {
        Command::Image(args) => match &args.action {
            ImageAction::Build(a) | ImageAction::Update(a) => &a.select.env,
            ImageAction::Destroy(a) | ImageAction::Ls(a) => &a.env,
        },
        Command::Start(a) => &a.env,
        Command::Stop(a) | Command::Restart(a) => &a.env,
        Command::Down(a) => &a.env,
        Command::Status(a) => &a.env,
        Command::Logs(a) => &a.env,
        Command::Shell(a) => &a.env,
        Command::Run(a) => &a.env,
        Command::Release(a) | Command::Publish(a) => &a.env,
        Command::Bundle(a) => &a.env,
        Command::Deploy(a) => &a.env,
        Command::Rollback(a) => &a.env,
        Command::History(a) => &a.env,
        Command::Config(_) | Command::Doctor | Command::Completions(_) | Command::Man => {
            return None;
        }
    })
}
