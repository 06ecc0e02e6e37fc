//! `stop` (stop, keep) and `restart` (stop, then start again and wait until up) of an
//! environment (see [`crate::lifecycle::stop`]).

use std::time::Duration;

use serde_json::json;

use super::Context;
use crate::cli::LifecycleArgs;
use crate::engine;
use crate::engine::containers::{self, ContainerInfo};
use crate::hint;
use crate::lifecycle::plan;
use crate::lifecycle::scope::Runtime;
use crate::lifecycle::stop::{self, in_stop_order};
use crate::lifecycle::teardown::{self, Teardown};
use crate::output::{Event, Report};

/// How long `restart` waits for the containers to be up again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(120);

/// Run `stop`.
pub async fn stop(ctx: &Context, args: LifecycleArgs) -> anyhow::Result<Report> {
    let scope = ctx.env_scope(&args.env, &args.compose, Runtime::Skip)?;
    let _lock = ctx
        .lock_env(&scope.base.project.root, scope.env(), "stop")
        .await?;
    let docker = engine::connect().await?;
    let all = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let groups = in_stop_order(&scope, &all);
    if !groups.iter().flatten().any(ContainerInfo::is_running) {
        return Err(scope.not_running().into());
    }
    ctx.printer.emit(Event::step(format!(
        "Stopping environment {} (project {})",
        scope.env(),
        scope.project
    )));
    let services: Vec<ContainerInfo> = groups.into_iter().flatten().collect();
    let emit = |event| ctx.printer.emit(event);
    let stopped = teardown::run(
        &docker,
        &scope.file,
        &services,
        args.stop_timeout.map(Duration::from_secs),
        Teardown::Stop,
        &emit,
    )
    .await?;
    ctx.printer.emit(Event::success(format!(
        "stopped {} container(s); `{}` resumes them",
        stopped.len(),
        hint::command(&["start", scope.env()])
    )));
    Ok(Report::ok(
        json!({"environment": scope.env(), "project": scope.project, "stopped": stopped}),
        "",
    ))
}

/// Run `restart`: the same containers, stopped and started again in dependency order.
pub async fn restart(ctx: &Context, args: LifecycleArgs) -> anyhow::Result<Report> {
    let scope = ctx.env_scope(&args.env, &args.compose, Runtime::Skip)?;
    let _lock = ctx
        .lock_env(&scope.base.project.root, scope.env(), "restart")
        .await?;
    let docker = engine::connect().await?;
    let all = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let groups = in_stop_order(&scope, &all);
    if groups.is_empty() {
        return Err(scope.not_running().into());
    }
    ctx.printer.emit(Event::step(format!(
        "Restarting environment {} (project {})",
        scope.env(),
        scope.project
    )));
    let emit = |event| ctx.printer.emit(event);
    let grace = args.stop_timeout.map(Duration::from_secs);
    let names = stop::restart(&docker, &scope, &groups, grace, RESTART_TIMEOUT, &emit).await?;
    ctx.printer.emit(Event::success(format!(
        "restarted {} container(s)",
        names.len()
    )));
    Ok(Report::ok(
        json!({"environment": scope.env(), "project": scope.project, "restarted": names}),
        "",
    ))
}
