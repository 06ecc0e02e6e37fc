//! `stevedore task <env> [name] [-- args…]` (and `stevedore <env> <name>`): the original's
//! named one-offs (`build:dev`, `check`, `test`), declared in stevedore.toml's `[tasks]` and
//! run like `run`: a one-off container, removed afterwards, its exit code passed on.

use serde_json::json;

use super::Context;
use crate::cli::TaskArgs;
use crate::compose;
use crate::exit::{CommandError, ExitStatus};
use crate::lifecycle::oneoff::Request;
use crate::output::Report;
use crate::project::config_file::{TaskCommand, TaskSection};

/// Run `task`.
pub async fn run(ctx: &Context, args: TaskArgs) -> anyhow::Result<Report> {
    let project = ctx.project()?;
    project.environment(&args.env)?;
    let tasks: Vec<(&String, &TaskSection)> = project
        .config
        .tasks
        .iter()
        .filter(|(_, task)| applies(task, &args.env))
        .collect();
    let Some(name) = args.name.clone() else {
        return Ok(list(&args.env, &tasks));
    };
    let Some((_, task)) = tasks.iter().find(|(n, _)| **n == name) else {
        let known: Vec<&str> = tasks.iter().map(|(n, _)| n.as_str()).collect();
        let hint = if crate::argv::ENV_FIRST.contains(&name.as_str())
            || name == "build"
            || name == "image"
        {
            format!(" (for images: `stevedore image {name} {}`)", args.env)
        } else {
            String::new()
        };
        return Err(CommandError::new(
            ExitStatus::Usage,
            format!(
                "`{name}` is neither a command nor a task of environment `{env}`{hint}. Tasks: \
                 {}. Declare one in stevedore.toml under [tasks.{name}], or see `stevedore \
                 --help` for the commands",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
                env = args.env
            ),
        )
        .into());
    };
    let mut cmd = command_words(task, &name)?;
    cmd.extend(args.args.iter().cloned());
    let banner = format!("Running task `{name}`: {}", cmd.join(" "));
    let request = Request {
        service: task.service.clone(),
        cmd,
        banner: Some(banner),
        ..Request::default()
    };
    ctx.run_oneoff(&args.env, &args.compose, request).await
}

fn applies(task: &TaskSection, env: &str) -> bool {
    task.environments
        .as_ref()
        .is_none_or(|envs| envs.iter().any(|e| e == env))
}

fn command_words(task: &TaskSection, name: &str) -> anyhow::Result<Vec<String>> {
    let words = match &task.command {
        TaskCommand::Args(words) => words.clone(),
        TaskCommand::Line(line) => compose::split_command(line).map_err(|problem| {
            CommandError::new(
                ExitStatus::InvalidInput,
                format!("stevedore.toml: [tasks.{name}] command: {problem}"),
            )
        })?,
    };
    if words.is_empty() {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!("stevedore.toml: [tasks.{name}] has an empty command"),
        )
        .into());
    }
    Ok(words)
}

fn list(env: &str, tasks: &[(&String, &TaskSection)]) -> Report {
    let mut text = String::new();
    for (name, task) in tasks {
        let command = match &task.command {
            TaskCommand::Line(line) => line.clone(),
            TaskCommand::Args(words) => words.join(" "),
        };
        text.push_str(&format!(
            "{name:<16} {}{}\n",
            task.description.as_deref().unwrap_or(&command),
            task.service
                .as_ref()
                .map(|s| format!(" (in {s})"))
                .unwrap_or_default()
        ));
    }
    if tasks.is_empty() {
        text = format!(
            "environment {env} has no tasks; declare them in stevedore.toml under [tasks.<name>]\n"
        );
    }
    let data = json!({
        "environment": env,
        "tasks": tasks.iter().map(|(name, task)| json!({
            "name": name,
            "service": task.service,
            "description": task.description,
        })).collect::<Vec<_>>(),
    });
    Report::ok(data, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(command: TaskCommand, environments: Option<Vec<String>>) -> TaskSection {
        TaskSection {
            command,
            service: None,
            environments,
            description: None,
        }
    }

    #[test]
    fn commands_split_like_a_shell_and_environments_filter() {
        let line = task(TaskCommand::Line("gulp 'check all' --fix".into()), None);
        assert_eq!(
            command_words(&line, "check").ok(),
            Some(vec!["gulp".into(), "check all".into(), "--fix".into()])
        );
        let args = task(
            TaskCommand::Args(vec!["gulp".into()]),
            Some(vec!["dev".into()]),
        );
        assert!(applies(&args, "dev"));
        assert!(!applies(&args, "prod"));
        assert!(applies(&line, "prod"));
        assert!(command_words(&task(TaskCommand::Line(" ".into()), None), "x").is_err());
        assert!(command_words(&task(TaskCommand::Line("a 'b".into()), None), "x").is_err());
    }
}
