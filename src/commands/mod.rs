//! One module per subcommand; the only place that sequences steps.
//!
//! Each command turns its clap arguments into plain options and calls core modules; core
//! modules never see clap.

mod bundle;
mod completions;
mod config;
mod context;
mod create;
mod deploy;
mod doctor;
mod down;
mod env_help;
mod env_vars;
mod events;
mod health;
mod history;
mod image;
mod lock;
mod logs;
mod man;
mod oneoff;
mod prune;
mod publish;
mod release;
mod remote_logs;
mod remote_status;
mod rollback;
mod scale;
mod start;
mod status;
mod stop;
mod swap;
mod task;
mod terminate;
mod versions;
mod wait;

use crate::cli::{Command, ImageAction, LockAction};
use crate::output::Report;

pub use context::Context;
pub use env_help::env_help;

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
        Command::Env(args) => match args.action {
            None | Some(crate::cli::EnvVarsAction::List { .. }) => "env list",
            Some(crate::cli::EnvVarsAction::Set { .. }) => "env set",
            Some(crate::cli::EnvVarsAction::Unset { .. }) => "env unset",
        },
        Command::Versions(_) => "versions",
        Command::Prune(_) => "prune",
        Command::Create(_) => "create",
        Command::Terminate(_) => "terminate",
        Command::Swap(_) => "swap",
        Command::Scale(_) => "scale",
        Command::Wait(_) => "wait",
        Command::Logs(_) => "logs",
        Command::Lock(args) => match args.action {
            LockAction::Status(_) => "lock status",
            LockAction::Acquire(_) => "lock acquire",
            LockAction::Release(_) => "lock release",
        },
        Command::Health(_) => "health",
        Command::Events(_) => "events",
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
    // Hints repeat the first `-f`; several are rare enough to leave to the user.
    (
        compose.file.first().map(std::path::PathBuf::as_path),
        compose.project_name.as_deref(),
    )
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
        Command::Down(args) => down::run(ctx, args).await,
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
        Command::Logs(args) if args.remote => remote_logs::run(ctx, args).await,
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Lock(args) => lock::run(ctx, args.action).await,
        Command::Health(args) => health::run(ctx, args).await,
        Command::Events(args) => events::run(ctx, args).await,
        Command::Task(args) => task::run(ctx, args).await,
        Command::Run(args) => oneoff::run(ctx, args).await,
        Command::Shell(args) => oneoff::shell(ctx, args).await,
    }
}

/// A `--timeout` value (`90s`, `2m`, `1m30s`, `1h`); a bad one is a usage error that shows the
/// form.
fn timeout_flag(text: &str) -> anyhow::Result<std::time::Duration> {
    crate::compose::parse_duration(text).map_err(|problem| {
        crate::exit::CommandError::new(
            crate::exit::ExitStatus::Usage,
            format!("--timeout {text}: {problem}; write e.g. 90s, 2m or 1m30s"),
        )
        .into()
    })
}
