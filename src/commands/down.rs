//! `stevedore down <env>`: remove the environment's containers and networks; `--volumes`
//! also its named volumes, `--rmi local|all` its images (see [`crate::lifecycle::down`]).

use std::time::Duration;

use serde_json::json;

use super::Context;
use crate::cli::{DownArgs, RemoveImages};
use crate::engine;
use crate::lifecycle::down::{self, DownOptions};
use crate::lifecycle::scope::Runtime;
use crate::output::{Event, Report};

/// Run `down`.
pub async fn run(ctx: &Context, args: DownArgs) -> anyhow::Result<Report> {
    let emit = |event| ctx.printer.emit(event);
    let scope = ctx.env_scope(&args.env, &args.compose, Runtime::Skip)?;
    let _lock = ctx
        .lock_env(&scope.base.project.root, scope.env(), "down")
        .await?;
    let docker = engine::connect().await?;
    let options = DownOptions {
        grace: args.stop_timeout.map(Duration::from_secs),
        remove_orphans: args.remove_orphans,
        volumes: args.volumes,
        rmi: args.rmi.map(|which| match which {
            RemoveImages::Local => down::RemoveImages::Local,
            RemoveImages::All => down::RemoveImages::All,
        }),
    };
    let removed = down::down(&docker, &scope, &options, &emit).await?;
    if removed.is_empty() {
        emit(Event::info(format!(
            "environment {} has nothing to remove",
            scope.env()
        )));
    } else {
        emit(Event::success(format!(
            "removed {} container(s), {} network(s), {} volume(s), {} image(s)",
            removed.containers.len(),
            removed.networks.len(),
            removed.volumes.len(),
            removed.images.len()
        )));
    }
    Ok(Report::ok(
        json!({
            "environment": scope.env(),
            "project": scope.project,
            "containers": removed.containers,
            "networks": removed.networks,
            "volumes": removed.volumes,
            "images": removed.images,
        }),
        "",
    ))
}
