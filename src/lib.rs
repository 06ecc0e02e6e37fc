//! Stevedore: take a Docker web app from a laptop to AWS Elastic Beanstalk.
//!
//! The binary is a thin shell over [`run`], so tests can call the whole program in-process.

pub mod argv;
pub mod aws;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod compose;
pub mod doctor;
pub mod eb;
pub mod engine;
pub mod exit;
pub mod git;
pub mod hint;
pub mod ignore;
pub mod image;
pub mod interrupt;
pub mod lifecycle;
pub mod output;
pub mod project;
pub mod registry;
pub mod release;
pub mod secrets;
pub mod terminal;

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

use crate::argv::Invocation;
use crate::cli::Cli;
use crate::commands::Context;
use crate::exit::{CommandError, ExitStatus};
use crate::output::{OutputOptions, Printer, Verbosity};

/// Every error type that says its own exit status ([`exit::Coded`]): [`exit::classify`] asks
/// each in turn. A new core error type is added here, next to its `Coded` impl's module.
pub const CODED_ERRORS: &[exit::Classifier] = &[
    exit::classifier::<CommandError>,
    exit::classifier::<project::ProjectError>,
    exit::classifier::<project::dotenv::DotenvError>,
    exit::classifier::<ignore::docker::DockerIgnoreError>,
    exit::classifier::<ignore::eb::EbIgnoreError>,
    exit::classifier::<engine::EngineError>,
    exit::classifier::<engine::endpoint::EndpointError>,
    exit::classifier::<engine::buildkit::secrets::SecretSpecError>,
    exit::classifier::<engine::build::BuildError>,
    exit::classifier::<engine::push::PushError>,
    exit::classifier::<registry::client::RegistryError>,
    exit::classifier::<registry::ecr::EcrError>,
    exit::classifier::<git::GitError>,
    exit::classifier::<compose::ComposeError>,
    exit::classifier::<release::VersionError>,
    exit::classifier::<engine::context::ContextError>,
    exit::classifier::<bundle::BundleError>,
    exit::classifier::<aws::AwsError>,
    exit::classifier::<aws::env_vars::EnvVarError>,
    exit::classifier::<aws::provision::ProvisionError>,
    exit::classifier::<lifecycle::lock::LockError>,
    exit::classifier::<lifecycle::external::ExternalError>,
    exit::classifier::<aws::deploy_lock::DeployLockError>,
];

/// Run stevedore with `args` (argv[0] included) and return the exit status.
pub fn run(args: Vec<OsString>) -> ExitStatus {
    let cli = match rewrite_and_parse(args) {
        Ok(cli) => cli,
        Err(status) => return status,
    };
    let verbosity = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, _) => Verbosity::Verbose,
    };
    let printer = Printer::new(OutputOptions::detect(
        cli.global.json,
        verbosity,
        cli.global.color,
    ));
    init_tracing(cli.global.verbose);
    engine::endpoint::set_context_flag(cli.global.context.clone());
    let command_name = commands::name_of(&cli.command);
    let (compose_file, compose_project) = commands::compose_flags_of(&cli.command);
    hint::record(hint::Invocation {
        program: hint::Invocation::program_from_env(),
        project_dir: cli
            .global
            .project_dir
            .as_ref()
            .map(|d| d.display().to_string()),
        compose_file: compose_file.map(|f| f.display().to_string()),
        compose_project: compose_project.map(str::to_owned),
    });
    let start_dir = match start_dir(&cli) {
        Ok(dir) => dir,
        Err(err) => {
            printer.error(command_name, &err, ExitStatus::Failure);
            return ExitStatus::Failure;
        }
    };
    let ctx = Context {
        global: cli.global,
        printer: printer.clone(),
        start_dir,
        loaded: Default::default(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            printer.error(command_name, &err.into(), ExitStatus::Failure);
            return ExitStatus::Failure;
        }
    };
    let aws_before = aws::pace::counts();
    let outcome = runtime.block_on(run_interruptible(&ctx, cli.command));
    if let Some(requests) = aws::pace::summary_since(&aws_before) {
        printer.emit(output::Event::debug(requests));
    }
    match outcome {
        Ok(report) => {
            printer.report(command_name, &report);
            report.status
        }
        Err(err) => {
            let status = exit::classify(&err, CODED_ERRORS);
            printer.error(command_name, &err, status);
            status
        }
    }
}

/// Run the command; Ctrl-C ends it, unless it is inside an [`interrupt::Critical`] section, in
/// which case the first Ctrl-C is deferred so the command can undo its steps.
async fn run_interruptible(ctx: &Context, command: cli::Command) -> anyhow::Result<output::Report> {
    let work = commands::execute(ctx, command);
    tokio::pin!(work);
    let mut deferred = false;
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = tokio::signal::ctrl_c() => {
                // The command listens for Ctrl-C itself (e.g. `start` detaching from logs).
                if interrupt::handled_by_command() {
                    continue;
                }
                if interrupt::in_critical_section() && !deferred {
                    deferred = true;
                    interrupt::defer_interrupt();
                    ctx.printer.emit(output::Event::warning(
                        "interrupted: finishing the current step, then undoing what was done \
                         (Ctrl-C again to stop at once)",
                    ));
                    continue;
                }
                return Err(CommandError::new(ExitStatus::Interrupted, "interrupted").into());
            }
        }
    }
}

/// Apply the legacy argument orders, then parse. Help and version print here.
fn rewrite_and_parse(args: Vec<OsString>) -> Result<Cli, ExitStatus> {
    let args = match argv::rewrite(args) {
        Invocation::Parse(args) => args,
        Invocation::EnvHelp { env, args } => return Err(env_help_or_usage(&env, args)),
    };
    let json = wants_json(&args);
    Cli::try_parse_from(args).map_err(|err| {
        let _ = err.print();
        if err.use_stderr() {
            if json {
                // Scripts reading --json get their final object for this outcome too.
                let rendered = err.render().to_string();
                let mut parts = rendered.split("\n\n");
                let message = parts
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let usage: Vec<&str> = parts.map(str::trim).filter(|p| !p.is_empty()).collect();
                let summary = serde_json::json!({
                    "event": "summary",
                    "command": serde_json::Value::Null,
                    "ok": false,
                    "exit_code": ExitStatus::Usage.code(),
                    "error": message,
                    "causes": usage,
                });
                println!("{summary}");
            }
            ExitStatus::Usage
        } else {
            ExitStatus::Ok
        }
    })
}

/// Whether `--json` is among the options (before a `--` that starts a container command).
fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// `stevedore <word> --help`: help for environment `word` when it is one (or when no project is
/// around to say otherwise); clap's unknown-command error otherwise.
fn env_help_or_usage(env: &str, args: Vec<OsString>) -> ExitStatus {
    let here = std::env::current_dir().ok();
    let known = here
        .and_then(|dir| project::Project::discover(&dir).ok())
        .map(|p| p.environment_names().iter().any(|n| n == env));
    if known == Some(false) {
        let without_help: Vec<OsString> = args
            .into_iter()
            .filter(|a| a != "--help" && a != "-h")
            .collect();
        if let Err(err) = Cli::command().try_get_matches_from(without_help) {
            let _ = err.print();
            return ExitStatus::Usage;
        }
    }
    print!("{}", commands::env_help(env));
    ExitStatus::Ok
}

fn start_dir(cli: &Cli) -> anyhow::Result<std::path::PathBuf> {
    let cwd = std::env::current_dir()?;
    Ok(match &cli.global.project_dir {
        Some(dir) => cwd.join(dir),
        None => cwd,
    })
}

/// `-v` shows stevedore's debug logs; `-vv` everyone's (bollard, the AWS SDK). `RUST_LOG` wins.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "off",
        1 => "stevedore=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // No escape codes in logs that go to a file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

#[cfg(test)]
mod coded_errors_tests {
    /// Every type with a `Coded` impl in the sources is in `CODED_ERRORS`: a type left out would
    /// exit 1 ("unexpected") instead of its documented code.
    #[test]
    fn every_coded_error_type_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(root.join("lib.rs")).expect("lib.rs");
        let pattern = regex::Regex::new(r"impl (?:crate::exit::|exit::)?Coded for (?:\w+::)*(\w+)")
            .expect("pattern");
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(&root) {
            let entry = entry.expect("walk src");
            if entry.path().extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(entry.path()).expect("read");
                found.extend(pattern.captures_iter(&text).map(|c| c[1].to_owned()));
            }
        }
        assert!(found.len() >= 10, "{found:?}");
        for name in found {
            assert!(
                lib.contains(&format!("{name}>,")),
                "{name} implements Coded but is not in CODED_ERRORS"
            );
        }
    }
}
