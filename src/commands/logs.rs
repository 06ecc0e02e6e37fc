//! `stevedore logs <env> [-f] [--tail N] [service…]`: the containers' output, prefixed by
//! service. With `-f`, Ctrl-C stops following and exits 0.

use serde_json::json;

use super::Context;
use crate::cli::{ComposeArgs, LogsArgs};
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::logs::{LogOptions, LogSource};
use crate::engine::{self, labels};
use crate::exit::{CommandError, ExitStatus};
use crate::lifecycle::logs as follow;
use crate::lifecycle::plan;
use crate::lifecycle::scope::Runtime;
use crate::output::Report;

/// Run `logs`.
pub async fn run(ctx: &Context, args: LogsArgs) -> anyhow::Result<Report> {
    let compose_args = ComposeArgs {
        file: args.file.iter().cloned().collect(),
        project_name: args.project_name.clone(),
        env_file: Vec::new(),
        compose_profile: Vec::new(),
    };
    let scope = ctx.env_scope(&args.env, &compose_args, Runtime::Skip)?;
    for service in &args.services {
        if !scope.file.services.contains_key(service) {
            let known: Vec<&str> = scope.file.services.keys().map(String::as_str).collect();
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "environment `{}` has no service `{service}`; services: {}",
                    scope.env(),
                    known.join(", ")
                ),
            )
            .into());
        }
    }
    let docker = engine::connect().await?;
    let all = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let chosen: Vec<&ContainerInfo> = all
        .iter()
        .filter(|c| c.label(labels::compose::ONEOFF) != "True")
        .filter(|c| {
            args.services.is_empty()
                || args
                    .services
                    .iter()
                    .any(|s| s == c.label(labels::compose::SERVICE))
        })
        .collect();
    if chosen.is_empty() {
        return Err(scope.not_running().into());
    }
    let sources: Vec<LogSource> = chosen
        .iter()
        .map(|c| LogSource {
            service: c.label(labels::compose::SERVICE).to_owned(),
            container: c.id.clone(),
        })
        .collect();
    let options = LogOptions {
        follow: args.follow,
        tail: args.tail,
        since: None,
    };
    follow::follow(&docker, &sources, options, &|event| ctx.printer.emit(event)).await?;
    Ok(Report::ok(
        json!({
            "environment": scope.env(),
            "project": scope.project,
            "containers": chosen.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        }),
        "",
    ))
}
